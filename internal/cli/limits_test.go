package cli

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"10MiB", 10 << 20, false}, {"10MB", 10e6, false}, {"512kib", 512 << 10, false}, {"1.5GiB", 3 << 29, false},
		{"1048576", 1 << 20, false}, {"-1", -1, false}, {"0", 0, false}, {"2m", 2 << 20, false},
		{"", 0, true}, {"ten", 0, true}, {"5PB", 0, true}, {"-5", 0, true}, {"1e30", 0, true}, {"99999999999GiB", 0, true},
	} {
		got, err := parseSize(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, err %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// --max-body and --max-names end to end: a script that fetches a body
// over the cap and a new URL per request. The server sent every byte
// (the rest of each body was read, not refused), the script saw the cap,
// the JSON counts the cut bodies, and the names stop at the cap with the
// rest under the overflow entry and one warning that says what to do.
//
// on_start fetches /big so that it is among the first --max-names names:
// with random task picks alone, 5 new /item names came first about one
// run in 30 and /big went to the overflow entry.
func TestBodyAndNameLimitsEndToEnd(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Length", strconv.Itoa(n))
		k, _ := w.Write([]byte(strings.Repeat("b", n)))
		served.Add(int64(k))
	}))
	defer srv.Close()
	script := writeStar(t, `
def big(u):
    r = u.http.get("/big?n=5000")
    if len(r.content) != 1000:
        fail("saw %d bytes" % len(r.content))

def many(u):
    u.http.get("/item?n=3&id=%d" % random.randint(0, 1000000000))

def fail(msg):
    x = {}[msg]

visitor = user(tasks=[big, many], wait_time=constant(0.01), on_start=big)
`)
	out := filepath.Join(t.TempDir(), "out.json")
	res := runMain(t, "run", "-f", script, "--host", srv.URL, "--headless", "-u", "2", "-r", "10", "-t", "2s",
		"--max-body", "1000", "--max-names", "5", "--json", out)
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	s := readSummary(t, out).Stats
	if len(s.Exceptions) > 0 {
		t.Fatalf("the script saw other than 1000 bytes: %+v", s.Exceptions)
	}
	var big, other int64
	for _, e := range s.Entries {
		switch e.Name {
		case "/big?n=5000":
			big = e.Requests
		case stats.OtherName:
			other = e.Requests
		}
	}
	if big == 0 || s.TruncatedBodies != big {
		t.Errorf("truncated_bodies %d, want the %d requests of /big", s.TruncatedBodies, big)
	}
	if len(s.Entries) != 6 || other == 0 || other+4+big != s.Total.Requests {
		t.Errorf("%d entries (want 5 + overflow), overflow %d of %d requests", len(s.Entries), other, s.Total.Requests)
	}
	if served.Load() < 5000*big {
		t.Errorf("the server sent %d bytes for %d big bodies: cut bodies must still be read", served.Load(), big)
	}
	if n := strings.Count(res.stderr, "too many distinct request names"); n != 1 || !strings.Contains(res.stderr, "--max-names") {
		t.Errorf("%d name warnings; stderr:\n%s", n, res.stderr)
	}
	if n := strings.Count(res.stderr, "longer than --max-body"); n != 1 {
		t.Errorf("%d body warnings; stderr:\n%s", n, res.stderr)
	}
}

func TestLimitFlagsValidate(t *testing.T) {
	script := writeStar(t, "def t(u):\n    pass\nvisitor = user(tasks=[t])\n")
	for _, args := range [][]string{{"--max-body", "-2"}, {"--max-names", "-1"}, {"--max-body", "lots"}} {
		res := runMain(t, append([]string{"run", "-f", script, "--host", "http://127.0.0.1:1", "--headless", "-t", "1s"}, args...)...)
		if res.code != ExitConfig || !strings.Contains(res.stderr, args[0]) {
			t.Errorf("%v: exit %d, stderr %s", args, res.code, res.stderr)
		}
	}
}

// A shape that switches user class at a low spawn rate: the target
// server never sees more concurrent users than the target (each user
// holds a request open), and the JSON's peak users is what ran.
func TestShapeClassSwitchPeak(t *testing.T) {
	var now, most atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := now.Add(1)
		defer now.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}))
	defer srv.Close()
	script := writeStar(t, `
def t(u):
    u.http.get("/")

a = user(tasks=[t])
b = user(tasks=[t])

def shape(t):
    if t < 1.5:
        return (4, 100, {"a": 4})
    if t < 4:
        return (4, 4, {"b": 4})
    return None
`)
	out := filepath.Join(t.TempDir(), "out.json")
	res := runMain(t, "run", "-f", script, "--host", srv.URL, "--headless", "--json", out)
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	doc := readSummary(t, out)
	if most.Load() > 4 {
		t.Errorf("the server saw %d users at once; the target is 4", most.Load())
	}
	hist := 0
	for _, p := range doc.Stats.History {
		hist = max(hist, p.Users)
	}
	if doc.Run.Users != 4 || hist > 4 {
		t.Errorf("JSON peak users %d (history peak %d), want 4", doc.Run.Users, hist)
	}
}
