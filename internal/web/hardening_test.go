package web

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/guard"
)

// lockedBuffer is a log destination shared with the limiter's timer.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Wrong passwords from one address earn a wait during which even the
// right password is not checked (429 with Retry-After); the failures are
// logged as one line with their count, without the password.
func TestFailedLoginsRateLimited(t *testing.T) {
	f := newFixture(t, "", false)
	creds, err := ParseCredentials("admin:right-password")
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	srv, err := New(Config{Engine: f.eng, Auth: creds, Log: slog.New(slog.NewTextHandler(&logs, nil)),
		LoginLimit: guard.Config{Free: 3, Base: time.Hour, Max: time.Hour, LogEvery: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	get := func(user, pass string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.URL+"/api/info", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		res, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	if res := get("admin", "right-password"); res.StatusCode != 200 {
		t.Fatalf("right password: %d", res.StatusCode)
	}
	for range 10 { // a browser's first request carries no credentials: no failure
		if res := get("", ""); res.StatusCode != 401 {
			t.Fatalf("no credentials: %d", res.StatusCode)
		}
	}
	for i := range 4 {
		if res := get("admin", "guess-"+string(rune('a'+i))); res.StatusCode != 401 {
			t.Fatalf("guess %d: %d, want 401", i+1, res.StatusCode)
		}
	}
	start := time.Now()
	refused := 0
	for time.Since(start) < 200*time.Millisecond {
		res := get("admin", "right-password")
		if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "3600" {
			t.Fatalf("during the wait: %d, Retry-After %q; want 429 and 3600", res.StatusCode, res.Header.Get("Retry-After"))
		}
		refused++
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "client=127.0.0.1 failed=4 refused_while_waiting=") {
		if time.Now().After(deadline) {
			t.Fatalf("no aggregated log line:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := strings.Count(logs.String(), "failed logins"); n > 5 {
		t.Errorf("%d log lines for %d attempts: not aggregated\n%s", n, refused+4, logs.String())
	}
	if strings.Contains(logs.String(), "guess-") || strings.Contains(logs.String(), "right-password") {
		t.Errorf("a password is in the log:\n%s", logs.String())
	}
}

// A page on evil.example rebound to 127.0.0.1 is same-origin with the UI
// in the browser; without a password the UI refuses its Host. The UI's own
// names, addresses and --web-host-allow pass; a foreign Origin on a POST
// is refused as well.
func TestDNSRebindingRefused(t *testing.T) {
	f := newFixture(t, "", false)
	f.srv.cfg.AllowedHosts = []string{"LoadTest.Internal."}
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	port := ts.URL[strings.LastIndexByte(ts.URL, ':'):]
	do := func(method, path, host string, hdr map[string]string) int {
		t.Helper()
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader("user_count=5&spawn_rate=1"))
		req.Host = host
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	rebound := map[string]string{"Origin": "http://evil.example" + port, "Sec-Fetch-Site": "same-origin"}
	for _, host := range []string{"evil.example" + port, "evil.example", "127.0.0.1.evil.example" + port, "localhost.evil.example"} {
		for _, r := range []struct{ method, path string }{{"POST", "/swarm"}, {"GET", "/api/info"}, {"GET", "/stats/requests"}, {"GET", "/"}, {"POST", "/stop"}} {
			if got := do(r.method, r.path, host, rebound); got != http.StatusForbidden {
				t.Errorf("%s %s with Host %s: %d, want 403", r.method, r.path, host, got)
			}
		}
	}
	if st := f.eng.State(); st != engine.StateReady {
		t.Fatalf("a rebinding request changed the state to %s", st)
	}
	for _, host := range []string{"127.0.0.1" + port, "localhost" + port, "LOCALHOST", "ui.localhost" + port, "[::1]" + port, "10.1.2.3:8089", "loadtest.internal:8089"} {
		if got := do("GET", "/api/info", host, nil); got != 200 {
			t.Errorf("GET /api/info with Host %s: %d, want 200", host, got)
		}
	}
	// The right Host with another site's Origin: the cross-origin check.
	if got := do("POST", "/swarm", "127.0.0.1"+port, map[string]string{"Origin": "http://evil.example"}); got != http.StatusForbidden {
		t.Errorf("foreign Origin: %d, want 403", got)
	}
	if got := do("POST", "/swarm", "127.0.0.1"+port, map[string]string{"Origin": "http://127.0.0.1" + port, "Sec-Fetch-Site": "same-origin"}); got != 200 {
		t.Errorf("the UI's own POST: %d, want 200", got)
	}

	// Behind a password the browser sends no credentials to evil.example:
	// the password is the protection there, and any name may be used.
	g := newFixture(t, "admin:pw", false)
	req, _ := http.NewRequest("GET", g.ts.URL+"/api/info", nil)
	req.Host = "stampede.example.com"
	req.SetBasicAuth("admin", "pw")
	res, err := g.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("with a password, Host stampede.example.com: %d", res.StatusCode)
	}
}
