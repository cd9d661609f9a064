package web

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The password of the target (--host http://user:pass@host) is not shown
// by /api/info, the event stream, POST /swarm's answer or the summary
// download; starting from the page's prefilled (redacted) host keeps it.
func TestHostPasswordNeverShown(t *testing.T) {
	const secret = "hunter2-web-secret"
	for _, tc := range []struct{ host, shown string }{
		{"http://admin:" + secret + "@127.0.0.1:9", "http://admin:REDACTED@127.0.0.1:9"},
		{"http://127.0.0.1:9/?api_key=" + secret, "http://127.0.0.1:9/?api_key=REDACTED"},
	} {
		t.Run(tc.shown, func(t *testing.T) { testHostSecretNeverShown(t, secret, tc.host, tc.shown) })
	}
}

func testHostSecretNeverShown(t *testing.T, secret, host, shown string) {
	f := newFixture(t, "", false)
	f.srv.cfg.Defaults.Host = host

	var in info
	f.getJSON("/api/info", &in)
	if in.Host != shown {
		t.Fatalf("/api/info host %q", in.Host)
	}
	// The page posts back what it was shown.
	res := f.do("POST", "/swarm", "", "", "application/x-www-form-urlencoded", url.Values{"user_count": {"2"}, "spawn_rate": {"2"}, "host": {in.Host}}.Encode())
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || strings.Contains(string(body), secret) {
		t.Fatalf("POST /swarm: %d %s", res.StatusCode, body)
	}
	if got := f.eng.Params().Host; got != host {
		t.Fatalf("the test runs against %q, want the real host %q", got, host)
	}
	f.waitRequests()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.ts.URL+"/api/events", nil)
	es, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ev := readEvent(t, bufio.NewReader(es.Body))
	es.Body.Close()
	b, _ := json.Marshal(ev)
	if ev["host"] != in.Host || strings.Contains(string(b), secret) {
		t.Fatalf("event host %v", ev["host"])
	}
	for _, path := range []string{"/api/info", "/stats/requests", "/stats/summary.json", "/stats/report", "/stats/requests/csv", "/stats/requests_full_history/csv"} {
		res := f.do("GET", path, "", "", "", "")
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || strings.Contains(string(b), secret) {
			t.Errorf("GET %s: %d, password shown: %v", path, res.StatusCode, strings.Contains(string(b), secret))
		}
	}
}
