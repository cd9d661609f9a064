package script

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/stats"
	"go.starlark.net/starlark"
)

// seen is one request as the test server received it.
type seen struct {
	Method, Path, Query, Body string
	Header                    http.Header
}

// target is a loopback test server that records what it receives.
type target struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newTarget(t *testing.T) *target {
	t.Helper()
	tg := &target{}
	mux := http.NewServeMux()
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscan(r.PathValue("code"), &code)
		w.WriteHeader(code)
		io.WriteString(w, "status "+r.PathValue("code"))
	})
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		io.WriteString(w, `{"id": 7, "tags": ["x", "y"], "ok": true}`)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(parseMs(r.URL.Query().Get("ms"))):
		case <-r.Context().Done():
		}
		io.WriteString(w, "slow")
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/json", http.StatusFound)
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: r.URL.Query().Get("as"), Path: "/"})
	})
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("sid"); err == nil {
			io.WriteString(w, c.Value)
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	})
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		tg.mu.Lock()
		tg.reqs = append(tg.reqs, seen{r.Method, r.URL.Path, r.URL.RawQuery, string(b), r.Header.Clone()})
		tg.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(tg.Close)
	return tg
}

func parseMs(s string) time.Duration {
	var ms int
	fmt.Sscan(s, &ms)
	return time.Duration(ms) * time.Millisecond
}

func (tg *target) requests() []seen {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return slices.Clone(tg.reqs)
}

// harness is a loaded script with a recorder, making users on demand.
type harness struct {
	t   *testing.T
	s   *Script
	rec *stats.Recorder
}

func newHarness(t *testing.T, src string, o Options) *harness {
	t.Helper()
	return &harness{t: t, s: mustLoad(t, src, o), rec: stats.NewRecorder(1, time.Now(), false)}
}

func (h *harness) vu(id int, class, host string, seed int64) *VU {
	h.t.Helper()
	c := h.s.Class(class)
	if c == nil {
		h.t.Fatalf("no class %q", class)
	}
	v := h.s.NewVU(id, c, VUConfig{Client: httpclient.New(httpclient.Options{}), Shard: h.rec.Shard(id), Host: host, Seed: seed})
	h.t.Cleanup(v.Close)
	return v
}

func (h *harness) flush() *stats.Delta { return h.rec.Flush(time.Now()) }

func entry(t *testing.T, d *stats.Delta, method, name string) *stats.Entry {
	t.Helper()
	e := d.Entries[stats.Key{Method: method, Name: name}]
	if e == nil {
		var keys []string
		for k := range d.Entries {
			keys = append(keys, k.Method+" "+k.Name)
		}
		t.Fatalf("no stats entry %s %s; have %v", method, name, keys)
	}
	return e
}

func onlyException(t *testing.T, d *stats.Delta) (stats.ExceptionKey, int64) {
	t.Helper()
	if len(d.Exceptions) != 1 {
		t.Fatalf("exceptions = %v, want exactly one", d.Exceptions)
	}
	for k, n := range d.Exceptions {
		return k, n
	}
	panic("unreachable")
}

func TestWaitTimes(t *testing.T) {
	s := mustLoad(t, task+`
b = user(tasks=[t], wait_time=between(1, 2))
c = user(tasks=[t], wait_time=constant(0.5))
p = user(tasks=[t], wait_time=constant_pacing(2))
tp = user(tasks=[t], wait_time=constant_throughput(4))
d = user(tasks=[t])
z = user(tasks=[t], wait_time=between(0.3, 0.3))
`, Options{})
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		class    string
		str      string
		taskTime time.Duration
		lo, hi   time.Duration
	}{
		{"c", "constant(0.5)", 0, 500 * time.Millisecond, 500 * time.Millisecond},
		{"c", "constant(0.5)", 3 * time.Second, 500 * time.Millisecond, 500 * time.Millisecond}, // task time does not matter
		{"p", "constant_pacing(2)", 500 * time.Millisecond, 1500 * time.Millisecond, 1500 * time.Millisecond},
		{"p", "constant_pacing(2)", 3 * time.Second, 0, 0}, // task longer than the pace: no wait
		{"tp", "constant_pacing(0.25)", 100 * time.Millisecond, 150 * time.Millisecond, 150 * time.Millisecond},
		{"d", "constant(0)", time.Second, 0, 0}, // Locust's default
		{"z", "between(0.3, 0.3)", 0, 300 * time.Millisecond, 300 * time.Millisecond},
	}
	for _, tc := range tests {
		w := s.Class(tc.class).Wait
		if w.String() != tc.str {
			t.Errorf("%s: String() = %s, want %s", tc.class, w, tc.str)
		}
		for range 20 {
			if got := w.Next(rng, tc.taskTime); got < tc.lo || got > tc.hi {
				t.Errorf("%s after a %v task: wait %v, want [%v, %v]", tc.str, tc.taskTime, got, tc.lo, tc.hi)
			}
		}
	}
	// between(1, 2) is uniform over [1 s, 2 s]: bounded, and spread out.
	w := s.Class("b").Wait
	lo, hi, sum := time.Hour, time.Duration(0), time.Duration(0)
	const n = 5000
	for range n {
		d := w.Next(rng, 10*time.Second)
		lo, hi, sum = min(lo, d), max(hi, d), sum+d
	}
	if lo < time.Second || hi > 2*time.Second || lo > 1050*time.Millisecond || hi < 1950*time.Millisecond {
		t.Errorf("between(1, 2) ranged over [%v, %v]", lo, hi)
	}
	if mean := sum / n; mean < 1450*time.Millisecond || mean > 1550*time.Millisecond {
		t.Errorf("between(1, 2) mean %v, want about 1.5 s", mean)
	}
	// NextWait uses the class's wait time.
	h := &harness{t: t, s: s, rec: stats.NewRecorder(1, time.Now(), false)}
	if got := h.vu(1, "p", "http://x.test", 1).NextWait(context.Background(), 1500*time.Millisecond); got != 500*time.Millisecond {
		t.Errorf("NextWait = %v, want 500ms", got)
	}
}

const countTasks = `
def bump(u, k):
    u.state[k] = u.state.get(k, 0) + 1
    if "log" in u.state:
        u.state["log"].append(k)
def init_log(u):
    u.state["log"] = []
def a(u):
    bump(u, "a")
def b(u):
    bump(u, "b")
def c(u):
    bump(u, "c")
def never(u):
    bump(u, "never")
`

func stateOf(t *testing.T, v *VU) *starlark.Dict {
	t.Helper()
	st, _ := v.u.Attr("state")
	return st.(*starlark.Dict)
}

func stateInt(t *testing.T, v *VU, k string) int {
	x, found, _ := stateOf(t, v).Get(starlark.String(k))
	if !found {
		return 0
	}
	n, _ := starlark.AsInt32(x)
	return n
}

func TestWeightedTaskChoice(t *testing.T) {
	h := newHarness(t, countTasks+"w = user(tasks={a: 1, b: 3, c: 6, never: 0})\n", Options{})
	v := h.vu(1, "w", "http://x.test", 99)
	const n = 20_000
	for range n {
		v.RunTask(context.Background())
	}
	weights := map[string]float64{"a": 0.1, "b": 0.3, "c": 0.6}
	chi2 := 0.0
	for k, p := range weights {
		exp := p * n
		obs := float64(stateInt(t, v, k))
		chi2 += (obs - exp) * (obs - exp) / exp
	}
	// 2 degrees of freedom: P(chi2 > 18.4) = 0.0001
	if chi2 > 18.4 {
		t.Errorf("task counts a=%d b=%d c=%d are far from 1:3:6 (chi2 %.1f)", stateInt(t, v, "a"), stateInt(t, v, "b"), stateInt(t, v, "c"), chi2)
	}
	if got := stateInt(t, v, "never"); got != 0 {
		t.Errorf("a task with weight 0 ran %d times", got)
	}
	if d := h.flush(); !d.Empty() {
		t.Errorf("pure tasks recorded %+v", d)
	}
}

func TestSequentialTasksAndState(t *testing.T) {
	h := newHarness(t, countTasks+"s = user(tasks=[a, b, c], sequential=True, on_start=init_log)\n", Options{})
	v1, v2 := h.vu(1, "s", "http://x.test", 0), h.vu(2, "s", "http://x.test", 0)
	v1.OnStart(context.Background())
	v2.OnStart(context.Background())
	for range 7 {
		v1.RunTask(context.Background())
	}
	v2.RunTask(context.Background())
	log1, _, _ := stateOf(t, v1).Get(starlark.String("log"))
	if got := log1.String(); got != `["a", "b", "c", "a", "b", "c", "a"]` {
		t.Errorf("sequential order = %s", got)
	}
	// each user has its own state and its own position in the sequence
	log2, _, _ := stateOf(t, v2).Get(starlark.String("log"))
	if got := log2.String(); got != `["a"]` {
		t.Errorf("second user's log = %s", got)
	}
}

func TestUserAttributes(t *testing.T) {
	srv := newTarget(t)
	h := newHarness(t, `
host = "http://script.invalid"
def t(u):
    u.state["seen"] = "%d %s %s %s" % (u.id, u.name, u.host, type(u))
c = user(tasks=[t], name="Shopper", host="http://class.invalid/")
plain = user(tasks=[t])
`, Options{})
	tests := []struct {
		class, override, want string
	}{
		{"Shopper", srv.URL, "17 Shopper " + srv.URL + " user_instance"}, // --host wins
		{"Shopper", "", "17 Shopper http://class.invalid user_instance"}, // then user(host=), trailing / dropped
		{"plain", "", "17 plain http://script.invalid user_instance"},    // then the script's host
	}
	for _, tc := range tests {
		v := h.vu(17, tc.class, tc.override, 0)
		v.RunTask(context.Background())
		got, _, _ := stateOf(t, v).Get(starlark.String("seen"))
		if s, _ := starlark.AsString(got); s != tc.want {
			t.Errorf("%s with --host %q: %s, want %s", tc.class, tc.override, s, tc.want)
		}
		if v.Host() != strings.Fields(tc.want)[2] {
			t.Errorf("Host() = %s", v.Host())
		}
	}
}

func TestStopAndOnStartOnStop(t *testing.T) {
	srv := newTarget(t)
	h := newHarness(t, `
def start(u):
    u.http.get("/start")
def stop(u):
    u.http.get("/stop")
def t(u):
    u.http.get("/before")
    u.stop()
    u.http.get("/after")
c = user(tasks=[t], on_start=start, on_stop=stop)
`, Options{})
	v := h.vu(1, "c", srv.URL, 0)
	ctx := context.Background()
	v.OnStart(ctx)
	v.RunTask(ctx)
	if !v.Stopped() {
		t.Fatal("u.stop() did not stop the user")
	}
	v.OnStop(ctx)
	var paths []string
	for _, r := range srv.requests() {
		paths = append(paths, r.Path)
	}
	if !slices.Equal(paths, []string{"/start", "/before", "/stop"}) {
		t.Errorf("requests = %v", paths)
	}
	d := h.flush()
	if len(d.Exceptions) != 0 {
		t.Errorf("u.stop() counted as an exception: %v", d.Exceptions)
	}
	if d.Requests() != 3 {
		t.Errorf("recorded %d requests, want 3", d.Requests())
	}
}

func TestTaskExceptionIsCountedAndUserCarriesOn(t *testing.T) {
	srv := newTarget(t)
	h := newHarness(t, `
def helper(x):
    return x["missing"]

def t(u):
    u.http.get("/ok")
    helper({})
c = user(tasks=[t])
`, Options{})
	v := h.vu(1, "c", srv.URL, 0)
	for range 3 {
		v.RunTask(context.Background())
	}
	d := h.flush()
	if e := entry(t, d, "GET", "/ok"); e.Requests != 3 || e.Failures != 0 {
		t.Errorf("/ok: %d requests %d failures; the request before the error must be counted", e.Requests, e.Failures)
	}
	k, n := onlyException(t, d)
	if n != 3 {
		t.Errorf("exception counted %d times, want 3", n)
	}
	if k.Message != `key "missing" not in dict` {
		t.Errorf("message = %q", k.Message)
	}
	for _, want := range []string{"test.star:7:11: in t", "test.star:3:13: in helper"} {
		if !strings.Contains(k.Traceback, want) {
			t.Errorf("traceback %q lacks %q", k.Traceback, want)
		}
	}
	if v.Stopped() {
		t.Error("an exception stopped the user")
	}
}

func TestRunawayTaskIsBounded(t *testing.T) {
	h := newHarness(t, countTasks+`
def spin(u):
    n = 0
    while True:
        n += 1
c = user(tasks=[spin])
d = user(tasks=[a])
`, Options{MaxSteps: 20_000})
	v := h.vu(1, "c", "http://x.test", 0)
	done := make(chan struct{})
	go func() {
		v.RunTask(context.Background())
		v.RunTask(context.Background()) // the step budget is per task call
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("runaway task was not stopped")
	}
	k, n := onlyException(t, h.flush())
	if n != 2 || !strings.HasPrefix(k.Message, "task exceeded 20000 execution steps (runaway loop?): ") {
		t.Errorf("exception %q counted %d times", k.Message, n)
	}
	// a normal task of a script with the same limit runs every time
	ok := h.vu(2, "d", "http://x.test", 0)
	for range 100 {
		ok.RunTask(context.Background())
	}
	if got := stateInt(t, ok, "a"); got != 100 {
		t.Errorf("normal task ran %d times, want 100", got)
	}
}

func TestRandomModuleSeeded(t *testing.T) {
	h := newHarness(t, `
def t(u):
    u.state["r"] = [random.int(1, 1000000), random.randint(5, 5), random.uniform(2.0, 3.0), random.random(), random.choice(["a", "b", "c", "d"])]
c = user(tasks=[t])
`, Options{})
	draw := func(id int, seed int64) string {
		v := h.vu(id, "c", "http://x.test", seed)
		var out []string
		for range 5 {
			v.RunTask(context.Background())
			r, _, _ := stateOf(t, v).Get(starlark.String("r"))
			out = append(out, r.String())
		}
		if len(h.flush().Exceptions) > 0 {
			t.Fatal("random module raised")
		}
		return strings.Join(out, "\n")
	}
	a, b := draw(1, 42), draw(1, 42)
	if a != b {
		t.Errorf("same seed and user id gave different values:\n%s\n---\n%s", a, b)
	}
	if draw(2, 42) == a {
		t.Error("two users of a seeded run draw the same values")
	}
	if draw(1, 43) == a {
		t.Error("two seeds draw the same values")
	}
	if u1, u2 := draw(1, 0), draw(1, 0); u1 == u2 {
		t.Error("unseeded runs repeat")
	}
	// ranges are respected
	v := h.vu(3, "c", "http://x.test", 7)
	for range 200 {
		v.RunTask(context.Background())
		r, _, _ := stateOf(t, v).Get(starlark.String("r"))
		l := r.(*starlark.List)
		i, _ := starlark.AsInt32(l.Index(0))
		j, _ := starlark.AsInt32(l.Index(1))
		f, _ := starlark.AsFloat(l.Index(2))
		g, _ := starlark.AsFloat(l.Index(3))
		if i < 1 || i > 1000000 || j != 5 || f < 2 || f >= 3 || g < 0 || g >= 1 {
			t.Fatalf("out of range: %s", l)
		}
	}
	// errors name the function
	for src, want := range map[string]string{
		"random.int(3, 1)":  "random.int: empty range [3, 1]",
		"random.choice([])": "random.choice: empty sequence",
	} {
		_, err := loadSrc(t, "x = "+src+"\n", Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
}

func TestVerdicts(t *testing.T) {
	srv := newTarget(t)
	h := newHarness(t, `
def t(u):
    u.http.get("/status/200", name="marked failed").failure("custom reason")
    u.http.get("/status/500", name="marked ok").success()
    u.http.get("/status/404", name="default 404")
    u.http.get("/status/399", name="default 399")
    r = u.http.get("/status/200", name="last word wins")
    r.failure("first")
    r.success()
    u.http.get("/status/200", name="failure default message").failure()
    u.http.get("/status/200", name="empty failure message").failure("")
    r = u.http.get("/status/500", name="kept")
    if r.ok or r.status_code != 500 or r:
        fail("500 is not ok")
    u.state["r"] = r

def later(u):
    # the response was recorded when its task ended: too late to change it
    u.state["r"].success()
    u.http.get("/status/200", name="later")

c = user(tasks=[t])
d = user(tasks=[later])
`, Options{})
	v := h.vu(1, "c", srv.URL, 0)
	v.RunTask(context.Background())
	v.Class = h.s.Class("d")
	v.root = frame{set: &v.Class.TaskSet}
	v.RunTask(context.Background())
	d := h.flush()
	if len(d.Exceptions) > 0 {
		t.Fatalf("exceptions: %v", d.Exceptions)
	}
	tests := []struct {
		name     string
		failures int64
		err      string
	}{
		{"marked failed", 1, "custom reason"},
		{"marked ok", 0, ""},
		{"default 404", 1, "HTTP 404 Not Found"},
		{"default 399", 0, ""},
		{"last word wins", 0, ""},
		{"failure default message", 1, "marked as failed by the script"},
		{"empty failure message", 1, "marked as failed by the script"},
		{"kept", 1, "HTTP 500 Internal Server Error"},
		{"later", 0, ""},
	}
	for _, tc := range tests {
		e := entry(t, d, "GET", tc.name)
		if e.Requests != 1 || e.Failures != tc.failures {
			t.Errorf("%s: %d requests %d failures, want 1 and %d", tc.name, e.Requests, e.Failures, tc.failures)
		}
		if tc.err != "" && d.Errors[stats.ErrorKey{Method: "GET", Name: tc.name, Error: tc.err}] != 1 {
			t.Errorf("%s: error %q not recorded; errors %v", tc.name, tc.err, d.Errors)
		}
	}
	if d.Requests() != int64(len(tests)) {
		t.Errorf("recorded %d requests, want %d (each once)", d.Requests(), len(tests))
	}
}

func TestConnectionError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	h := newHarness(t, `
def t(u):
    r = u.http.get("/x")
    u.state["r"] = [r.status_code, r.ok, r.error, r.text, bool(r), r.headers.get("x", "none")]
c = user(tasks=[t])
`, Options{})
	v := h.vu(1, "c", dead, 0)
	v.RunTask(context.Background())
	d := h.flush()
	if len(d.Exceptions) > 0 {
		t.Fatalf("exceptions: %v", d.Exceptions)
	}
	got, _, _ := stateOf(t, v).Get(starlark.String("r"))
	l2 := got.(*starlark.List)
	errStr, _ := starlark.AsString(l2.Index(2))
	if l2.Index(0).String() != "0" || l2.Index(1) != starlark.False || !strings.Contains(errStr, "connection refused") ||
		l2.Index(3).String() != `""` || l2.Index(4) != starlark.False || l2.Index(5).String() != `"none"` {
		t.Errorf("response of a refused connection: %s", l2)
	}
	e := entry(t, d, "GET", "/x")
	if e.Requests != 1 || e.Failures != 1 {
		t.Errorf("%d requests, %d failures", e.Requests, e.Failures)
	}
	for k := range d.Errors {
		if !strings.Contains(k.Error, "connection refused") {
			t.Errorf("error = %q", k.Error)
		}
	}
}

func TestRequestArguments(t *testing.T) {
	srv := newTarget(t)
	h := newHarness(t, `
def t(u):
    u.http.get("/p?x=1", params={"a": "1", "b": ["x", "y"], "n": 5, "r": b"raw"})
    u.http.post("/j", json={"k": [1, 2], "s": "v"})
    u.http.post("/j2", json={"k": 1}, headers={"Content-Type": "application/vnd.test+json"})
    u.http.put("/f", data={"user": "a b", "pw": "s&t"})
    u.http.patch("/s", data="raw text")
    u.http.delete("/b", data=b"\x00\x01")
    u.http.options("/o")
    u.http.head("/json")
    u.http.request("PROPFIND", "/dav", headers={"Depth": "1", "X-Token": "abc"})
    u.http.get("json")
    u.http.get("/json", name="named")
c = user(tasks=[t])
`, Options{})
	v := h.vu(1, "c", srv.URL, 0)
	v.RunTask(context.Background())
	d := h.flush()
	if len(d.Exceptions) > 0 {
		t.Fatalf("exceptions: %v", d.Exceptions)
	}
	reqs := srv.requests()
	if len(reqs) != 11 {
		t.Fatalf("server saw %d requests, want 11", len(reqs))
	}
	tests := []struct {
		method, path, query, body, ctype string
		header                           map[string]string
	}{
		{"GET", "/p", "x=1&a=1&b=x&b=y&n=5&r=raw", "", "", nil}, // bytes as they are, as requests sends them
		{"POST", "/j", "", `{"k":[1,2],"s":"v"}`, "application/json", nil},
		{"POST", "/j2", "", `{"k":1}`, "application/vnd.test+json", nil},
		{"PUT", "/f", "", "user=a+b&pw=s%26t", "application/x-www-form-urlencoded", nil},
		{"PATCH", "/s", "", "raw text", "", nil},
		{"DELETE", "/b", "", "\x00\x01", "", nil},
		{"OPTIONS", "/o", "", "", "", nil},
		{"HEAD", "/json", "", "", "", nil},
		{"PROPFIND", "/dav", "", "", "", map[string]string{"Depth": "1", "X-Token": "abc"}},
		{"GET", "/json", "", "", "", nil},
		{"GET", "/json", "", "", "", nil},
	}
	for i, tc := range tests {
		r := reqs[i]
		if r.Method != tc.method || r.Path != tc.path || r.Query != tc.query || r.Body != tc.body {
			t.Errorf("request %d = %s %s?%s body %q; want %s %s?%s body %q", i, r.Method, r.Path, r.Query, r.Body, tc.method, tc.path, tc.query, tc.body)
		}
		if tc.ctype != "" && r.Header.Get("Content-Type") != tc.ctype {
			t.Errorf("request %d Content-Type = %q, want %q", i, r.Header.Get("Content-Type"), tc.ctype)
		}
		for k, want := range tc.header {
			if got := r.Header.Get(k); got != want {
				t.Errorf("request %d header %s = %q, want %q", i, k, got, want)
			}
		}
	}
	// stats names: the path with its query, name= when given, a leading /
	// added to relative paths
	for _, k := range []stats.Key{
		{Method: "GET", Name: "/p?x=1&a=1&b=x&b=y&n=5&r=raw"}, {Method: "POST", Name: "/j"}, {Method: "PROPFIND", Name: "/dav"},
		{Method: "GET", Name: "/json"}, {Method: "GET", Name: "named"}, {Method: "HEAD", Name: "/json"},
	} {
		if d.Entries[k] == nil {
			t.Errorf("no stats entry %v", k)
		}
	}
}

func TestResponseObject(t *testing.T) {
	srv := newTarget(t)
	h := newHarness(t, `
def t(u):
    r = u.http.get("/json")
    body = r.json()
    u.state["got"] = [r.status_code, r.ok, r.text, type(r.content), body["id"], body["tags"], r.headers["content-type"],
                      r.headers.get("X-MULTI"), "x-multi" in r.headers.keys(), r.url, r.error, r.elapsed > 0, r.elapsed < 10]
    f = u.http.get("/redirect")
    nf = u.http.get("/redirect", allow_redirects=False)
    u.state["redir"] = [f.status_code, f.url.endswith("/json"), nf.status_code, nf.headers["Location"], nf.ok]
c = user(tasks=[t])
`, Options{})
	v := h.vu(1, "c", srv.URL, 0)
	v.RunTask(context.Background())
	d := h.flush()
	if len(d.Exceptions) > 0 {
		t.Fatalf("exceptions: %v", d.Exceptions)
	}
	got, _, _ := stateOf(t, v).Get(starlark.String("got"))
	want := fmt.Sprintf(`[200, True, "{\"id\": 7, \"tags\": [\"x\", \"y\"], \"ok\": true}", "bytes", 7, ["x", "y"], "application/json", "a, b", True, "%s/json", None, True, True]`, srv.URL)
	if got.String() != want {
		t.Errorf("response attributes:\n got %s\nwant %s", got, want)
	}
	redir, _, _ := stateOf(t, v).Get(starlark.String("redir"))
	if redir.String() != `[200, True, 302, "/json", True]` {
		t.Errorf("redirects: %s", redir)
	}
	// a redirect not followed is not a failure (status < 400)
	if e := entry(t, d, "GET", "/redirect"); e.Requests != 2 || e.Failures != 0 {
		t.Errorf("/redirect: %d requests %d failures", e.Requests, e.Failures)
	}
}

func TestRequestTimeout(t *testing.T) {
	srv := newTarget(t)
	h := newHarness(t, `
def t(u):
    r = u.http.get("/slow?ms=3000", timeout=0.2, name="slow")
    u.state["r"] = [r.status_code, r.error]
c = user(tasks=[t])
`, Options{})
	v := h.vu(1, "c", srv.URL, 0)
	start := time.Now()
	v.RunTask(context.Background())
	if el := time.Since(start); el > 2500*time.Millisecond {
		t.Errorf("task took %v despite timeout=0.2", el)
	}
	got, _, _ := stateOf(t, v).Get(starlark.String("r"))
	if got.String() != `[0, "timeout after 200ms"]` {
		t.Errorf("timed out response: %s", got)
	}
	d := h.flush()
	if d.Errors[stats.ErrorKey{Method: "GET", Name: "slow", Error: "timeout after 200ms"}] != 1 {
		t.Errorf("errors = %v", d.Errors)
	}
}

func TestCookiesPerUser(t *testing.T) {
	srv := newTarget(t)
	h := newHarness(t, `
def login(u):
    u.http.get("/login", params={"as": "user%d" % u.id})
def t(u):
    u.state["me"] = u.http.get("/whoami").text
c = user(tasks=[t], on_start=login)
`, Options{})
	for _, id := range []int{1, 2} {
		v := h.vu(id, "c", srv.URL, 0)
		v.OnStart(context.Background())
		v.RunTask(context.Background())
		v.RunTask(context.Background())
		if got, _, _ := stateOf(t, v).Get(starlark.String("me")); got.String() != fmt.Sprintf(`"user%d"`, id) {
			t.Errorf("user %d sees cookie %s", id, got)
		}
	}
	fresh := h.vu(3, "c", srv.URL, 0)
	fresh.RunTask(context.Background())
	if got, _, _ := stateOf(t, fresh).Get(starlark.String("me")); got.String() != `""` {
		t.Errorf("a user that never logged in sees cookie %s", got)
	}
}

func TestScriptErrorsInRequests(t *testing.T) {
	srv := newTarget(t)
	tests := []struct {
		call, want string
	}{
		{`u.http.get("/status/200").json()`, "response of GET /status/200 is not JSON"},
		{`u.http.get("/x", headers="a")`, "get: headers must be a dict, got string"},
		{`u.http.get("/x", headers={"a": 1})`, "get: header names and values must be strings"},
		{`u.http.get("/x", params=[1])`, "get: params: must be a dict, got list"},
		{`u.http.get("/x", timeout=0)`, "get: timeout must be a positive number of seconds"},
		{`u.http.post("/x", data=3)`, "post: data must be a string, bytes or dict, got int"},
		{`u.http.get("/x", name=3)`, "get: name must be a string"},
		{`u.http.request()`, "request: missing method argument"},
		{`u.http.get()`, "get: missing argument for path"},
	}
	for _, tc := range tests {
		h := newHarness(t, "def t(u):\n    "+tc.call+"\nc = user(tasks=[t])\n", Options{})
		v := h.vu(1, "c", srv.URL, 0)
		v.RunTask(context.Background())
		k, _ := onlyException(t, h.flush())
		if !strings.Contains(k.Message, tc.want) {
			t.Errorf("%s: exception %q, want %q", tc.call, k.Message, tc.want)
		}
	}
	// no host at all
	h := newHarness(t, "def t(u):\n    u.http.get('/x')\nc = user(tasks=[t])\n", Options{})
	v := h.vu(1, "c", "", 0)
	v.RunTask(context.Background())
	if k, _ := onlyException(t, h.flush()); !strings.Contains(k.Message, "GET /x: no host: pass --host") {
		t.Errorf("no host: %q", k.Message)
	}
	// an absolute URL needs no host
	h = newHarness(t, "def t(u):\n    u.http.get('"+srv.URL+"/abs')\nc = user(tasks=[t])\n", Options{})
	h.vu(1, "c", "", 0).RunTask(context.Background())
	if d := h.flush(); d.Entries[stats.Key{Method: "GET", Name: srv.URL + "/abs"}] == nil || len(d.Exceptions) > 0 {
		t.Errorf("absolute URL: %+v", d)
	}
}

// Interrupt lets the request in flight complete and be counted, then ends
// the task before its next request, without an exception.
func TestInterrupt(t *testing.T) {
	srv := newTarget(t)
	h := newHarness(t, `
def t(u):
    u.http.get("/slow?ms=400", name="inflight")
    u.http.get("/never")
def spin(u):
    while True:
        pass
def bye(u):
    u.http.get("/bye")
c = user(tasks=[t], on_stop=bye)
s = user(tasks=[spin])
`, Options{})
	v := h.vu(1, "c", srv.URL, 0)
	time.AfterFunc(100*time.Millisecond, v.Interrupt)
	v.RunTask(context.Background())
	if !v.Interrupted() {
		t.Fatal("Interrupted() = false")
	}
	v.RunTask(context.Background()) // does nothing once interrupted
	v.OnStop(context.Background())  // on_stop still runs
	d := h.flush()
	if len(d.Exceptions) > 0 {
		t.Errorf("an interrupt counted as exception: %v", d.Exceptions)
	}
	if e := entry(t, d, "GET", "inflight"); e.Requests != 1 || e.Failures != 0 {
		t.Errorf("in-flight request: %d requests %d failures", e.Requests, e.Failures)
	}
	entry(t, d, "GET", "/bye")
	for _, r := range srv.requests() {
		if r.Path == "/never" {
			t.Error("a request was sent after the interrupt")
		}
	}

	spinner := h.vu(2, "s", srv.URL, 0)
	time.AfterFunc(50*time.Millisecond, spinner.Interrupt)
	done := make(chan struct{})
	go func() { spinner.RunTask(context.Background()); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a computing task was not interrupted")
	}
	if d := h.flush(); len(d.Exceptions) > 0 {
		t.Errorf("interrupting a computation counted as exception: %v", d.Exceptions)
	}
}

// The open model measures latency from the intended start.
func TestRunIterationLatencyFromIntendedStart(t *testing.T) {
	srv := newTarget(t)
	s := mustLoad(t, "def t(u):\n    u.http.get('/')\nc = user(tasks=[t])\n", Options{})
	rec := stats.NewRecorder(1, time.Now(), true)
	v := s.NewVU(1, s.Class("c"), VUConfig{Client: httpclient.New(httpclient.Options{}), Shard: rec.Shard(0), Host: srv.URL})
	defer v.Close()
	v.RunIteration(context.Background(), time.Now().Add(-300*time.Millisecond))
	v.RunTask(context.Background()) // closed-model call after: no lag
	e := rec.Flush(time.Now()).Entries[stats.Key{Method: "GET", Name: "/"}]
	if e == nil || e.Requests != 2 || e.Service == nil {
		t.Fatalf("entry = %+v", e)
	}
	if e.Latency.Max < 300 || e.Service.Max > 250 {
		t.Errorf("latency max %g ms (want >= 300: queueing counts), service max %g ms", e.Latency.Max, e.Service.Max)
	}
	if e.Latency.Min > 250 {
		t.Errorf("the closed-model request carried the lag: min latency %g", e.Latency.Min)
	}
	if math.IsInf(e.Service.Min, 0) {
		t.Error("service min unset")
	}
}

// print() in a task goes to the logger with the user's name.
func TestPrintGoesToLog(t *testing.T) {
	var buf strings.Builder
	var mu sync.Mutex
	log := slogTo(&buf, &mu)
	s := mustLoad(t, "def t(u):\n    print('hello', u.id)\nc = user(tasks=[t])\n", Options{})
	v := s.NewVU(5, s.Class("c"), VUConfig{Client: httpclient.New(httpclient.Options{}), Shard: stats.NewRecorder(1, time.Now(), false).Shard(0), Host: "http://x.test", Log: log})
	v.RunTask(context.Background())
	mu.Lock()
	defer mu.Unlock()
	var rec map[string]any
	if err := json.Unmarshal([]byte(buf.String()), &rec); err != nil {
		t.Fatalf("log output %q: %v", buf.String(), err)
	}
	if rec["msg"] != "hello 5" || rec["user"] != "c-5" {
		t.Errorf("log record = %v", rec)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func slogTo(w io.Writer, mu *sync.Mutex) *slog.Logger {
	return slog.New(slog.NewJSONHandler(lockedWriter{mu, w}, nil))
}
