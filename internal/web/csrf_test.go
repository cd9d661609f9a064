package web

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stampede-load/stampede/internal/engine"
)

// TestCrossSitePostsRefused: a page on another site can make the
// operator's browser POST a form to the UI with the cached basic-auth
// credentials; such requests must not start, stop or reset a test, while
// the UI's own requests and header-less clients (curl, Locust scripts) work.
func TestCrossSitePostsRefused(t *testing.T) {
	f := newFixture(t, "admin:s3cret", false)
	host := strings.TrimPrefix(f.ts.URL, "http://")
	const form = "application/x-www-form-urlencoded"
	post := func(path string, hdr map[string]string) int {
		t.Helper()
		req, err := http.NewRequest("POST", f.ts.URL+path, strings.NewReader("user_count=5&spawn_rate=1"))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("admin", "s3cret")
		req.Header.Set("Content-Type", form)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := f.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	refused := []struct {
		name string
		hdr  map[string]string
	}{
		{"cross-site fetch metadata", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}},
		{"same-site but other origin", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://other." + host}},
		{"foreign Origin only (older browser)", map[string]string{"Origin": "https://evil.example"}},
		{"opaque origin (sandboxed frame)", map[string]string{"Origin": "null"}},
	}
	for _, path := range []string{"/swarm", "/stop", "/stats/reset"} {
		for _, c := range refused {
			if got := post(path, c.hdr); got != http.StatusForbidden {
				t.Errorf("POST %s, %s: got %d, want 403", path, c.name, got)
			}
		}
	}
	if st := f.eng.State(); st != engine.StateReady {
		t.Fatalf("a cross-site POST changed the state to %s", st)
	}
	f.drv.mu.Lock()
	applied := len(f.drv.applied)
	f.drv.mu.Unlock()
	if applied != 0 {
		t.Fatalf("a cross-site POST reached the driver %d times", applied)
	}

	allowed := []struct {
		name string
		hdr  map[string]string
	}{
		{"the UI's own page", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://" + host}},
		{"older browser, same Origin", map[string]string{"Origin": "http://" + host}},
		{"typed by the user", map[string]string{"Sec-Fetch-Site": "none"}},
		{"curl or a script", nil},
	}
	for _, c := range allowed {
		if got := post("/swarm", c.hdr); got != http.StatusOK {
			t.Errorf("POST /swarm, %s: got %d, want 200", c.name, got)
		}
		if got := post("/stop", c.hdr); got != http.StatusOK {
			t.Errorf("POST /stop, %s: got %d, want 200", c.name, got)
		}
	}
	// Reading stays open to a cross-site GET (without CORS headers the
	// other page cannot read the answer), as navigation needs.
	req, _ := http.NewRequest("GET", f.ts.URL+"/stats/requests", nil)
	req.SetBasicAuth("admin", "s3cret")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("cross-site GET: %d, CORS %q", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
	}
}

// TestSwarmBodyLimit: a body over 1 MB is refused as such, whatever its
// encoding, and starts nothing.
func TestSwarmBodyLimit(t *testing.T) {
	f := newFixture(t, "", false)
	big := strings.Repeat("a", 2<<20)
	tests := []struct{ name, ctype, body string }{
		{"urlencoded", "application/x-www-form-urlencoded", "user_count=1&spawn_rate=1&host=http://" + big},
		{"json", "application/json", `{"user_count": 1, "spawn_rate": 1, "host": "http://` + big + `"}`},
		{"multipart", "multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; name=\"host\"\r\n\r\n" + big + "\r\n--XX--\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.do("POST", "/swarm", "", "", tt.ctype, tt.body)
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "too large") {
				t.Errorf("got %d %s, want 400 naming the size", res.StatusCode, b)
			}
		})
	}
	if st := f.eng.State(); st != engine.StateReady {
		t.Fatalf("an oversized body changed the state to %s", st)
	}
}
