package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/guard"
	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
)

// fakeDriver is a cluster-like driver: every Collect adds one request per
// (region, name) with fixed timings, and it lists two workers.
type fakeDriver struct {
	mu      sync.Mutex
	applied []engine.Params
	users   int
	stopped bool
	regions bool
	badName bool     // also record a request name that is not valid UTF-8
	nanCPU  bool     // list a worker whose CPU use is NaN
	gone    bool     // also list a worker that shut down cleanly and a missing one
	names   []string // also record a GET of each of these names, and a 404 for each
	errors  int      // also record this many distinct failures, each more often than /fail
}

func (d *fakeDriver) Apply(_ context.Context, p engine.Params) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.applied = append(d.applied, p)
	d.users, d.stopped = p.Users, false
	return nil
}

func (d *fakeDriver) Stop(context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.users, d.stopped = 0, true
}

func (d *fakeDriver) Users() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.users
}

func (d *fakeDriver) Spawning() bool { return false }

func (d *fakeDriver) Collect(now time.Time, add func(stats.Origin, *stats.Delta)) {
	d.mu.Lock()
	stopped := d.stopped
	d.mu.Unlock()
	if stopped {
		return
	}
	origins := []stats.Origin{{}}
	if d.regions {
		origins = []stats.Origin{{Region: "eu-west", Worker: "w1"}, {Region: "us-east", Worker: "w2"}}
	}
	for i, o := range origins {
		delta := stats.NewDelta(now.Add(-time.Second))
		delta.End = now
		e := stats.NewEntry()
		e.Requests, e.ContentBytes = 2, 200
		e.Latency.Record(time.Duration(10*(i+1)) * time.Millisecond)
		e.Latency.Record(time.Duration(30*(i+1)) * time.Millisecond)
		delta.Entries[stats.Key{Method: "GET", Name: "/ok"}] = e
		f := stats.NewEntry()
		f.Requests, f.Failures = 1, 1
		f.Latency.Record(5 * time.Millisecond)
		delta.Entries[stats.Key{Method: "POST", Name: "/fail"}] = f
		for _, name := range d.names {
			n := stats.NewEntry()
			n.Requests = 1
			n.Latency.Record(time.Millisecond)
			delta.Entries[stats.Key{Method: "GET", Name: name}] = n
			delta.Errors[stats.ErrorKey{Method: "GET", Name: name, Error: "HTTP 404"}] = 1
		}
		if d.badName {
			b := stats.NewEntry()
			b.Requests = 1
			b.Latency.Record(time.Millisecond)
			delta.Entries[stats.Key{Method: "GET", Name: "/bad\xffname"}] = b
		}
		delta.Errors[stats.ErrorKey{Method: "POST", Name: "/fail", Error: "HTTP 500"}] = 1
		for i := range d.errors {
			delta.Errors[stats.ErrorKey{Method: "GET", Name: "/e", Error: fmt.Sprint("error ", i)}] = int64(i + 2)
		}
		delta.Exceptions[stats.ExceptionKey{Message: "boom", Traceback: "test.star:3: in task"}] = 1
		add(o, delta)
	}
}

func (d *fakeDriver) Workers() []output.WorkerInfo {
	if !d.regions {
		return nil
	}
	now := time.Now()
	cpu := 12.0
	if d.nanCPU {
		cpu = math.NaN()
	}
	ws := []output.WorkerInfo{
		{ID: "w1", Region: "eu-west", State: "running", Users: 3, CPUPercent: cpu, MemoryBytes: 64 << 20, LastHeartbeat: now},
		{ID: "w2", Region: "us-east", State: "running", Users: 2, CPUPercent: 0, MemoryBytes: 60 << 20, LastHeartbeat: now},
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gone {
		at := now.Add(-time.Minute)
		ws = append(ws,
			output.WorkerInfo{ID: "w3", Region: "eu-west", State: output.WorkerStopped, LastHeartbeat: at, LeftAt: &at},
			output.WorkerInfo{ID: "w4", Region: "us-east", State: output.WorkerMissing, LastHeartbeat: at, LostAt: &at})
	}
	return ws
}

const testScript = `
host = "http://127.0.0.1:9"
def a(u):
    pass
def b(u):
    pass
reader = user(tasks=[task(a, tags=["read"]), b], weight=3)
writer = user(tasks=[task(b, tags=["write"]), task(taskset(tasks=[a, b], name="inner"), weight=3)])
`

type fixture struct {
	t      *testing.T
	eng    *engine.Engine
	drv    *fakeDriver
	srv    *Server
	ts     *httptest.Server
	hist   *History
	client *http.Client
}

func newFixture(t *testing.T, auth string, regions bool) *fixture {
	t.Helper()
	sc, err := script.LoadFiles("test.star", map[string][]byte{"test.star": []byte(testScript)}, script.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hist, err := NewHistory(t.TempDir(), 0, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hist.Close() })
	drv := &fakeDriver{regions: regions}
	eng := engine.New(engine.Config{Driver: drv, Log: log, Interval: 50 * time.Millisecond, OnTick: []engine.TickFunc{hist.Tick}})
	var creds *Credentials
	if auth != "" {
		creds, err = ParseCredentials(auth)
		if err != nil {
			t.Fatal(err)
		}
	}
	srv, err := New(Config{Engine: eng, Script: sc, Defaults: engine.Params{Host: sc.Host, Users: 5, SpawnRate: 2},
		Auth: creds, History: hist, Log: log, Interval: 50 * time.Millisecond,
		LoginLimit: guard.Config{Free: 1 << 20}, // tests of wrong passwords; the limit has its own test
		Report: func(w io.Writer, sum *stats.Summary) error {
			_, err := io.WriteString(w, "<html>report</html>")
			return err
		}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		if isActive(eng.State()) {
			_ = eng.Stop()
		}
	})
	return &fixture{t: t, eng: eng, drv: drv, srv: srv, ts: ts, hist: hist, client: ts.Client()}
}

func (f *fixture) do(method, path, user, pass, ctype, body string) *http.Response {
	f.t.Helper()
	req, err := http.NewRequest(method, f.ts.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	f.t.Cleanup(cancel)
	res, err := f.client.Do(req.WithContext(ctx))
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

func (f *fixture) getJSON(path string, v any) {
	f.t.Helper()
	res := f.do("GET", path, "", "", "", "")
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		f.t.Fatalf("GET %s: %d %s", path, res.StatusCode, b)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		f.t.Fatalf("GET %s: %v", path, err)
	}
}

func (f *fixture) start(form url.Values) {
	f.t.Helper()
	res := f.do("POST", "/swarm", "", "", "application/x-www-form-urlencoded", form.Encode())
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		f.t.Fatalf("POST /swarm %v: %d %s", form, res.StatusCode, b)
	}
}

// waitRequests waits until the aggregate has requests (the engine ticks
// every 50 ms).
func (f *fixture) waitRequests() {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for f.eng.Snapshot(false).Total.Requests == 0 || len(f.eng.Aggregate().History()) < 2 {
		if time.Now().After(deadline) {
			f.t.Fatal("no statistics after 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.srv.invalidate()
}

var allRoutes = []struct{ method, path string }{
	{"GET", "/"},
	{"GET", "/assets/app.js"},
	{"GET", "/assets/vendor/uplot/uPlot.iife.min.js"},
	{"GET", "/api/info"},
	{"GET", "/api/events"},
	{"GET", "/stats/requests"},
	{"GET", "/stats/requests/csv"},
	{"GET", "/stats/failures/csv"},
	{"GET", "/exceptions/csv"},
	{"GET", "/stats/regions/csv"},
	{"GET", "/stats/requests_full_history/csv"},
	{"GET", "/stats/summary.json"},
	{"GET", "/stats/report"},
	{"GET", "/exceptions"},
	{"GET", "/tasks"},
	{"GET", "/logs"},
	{"GET", "/metrics"},
	{"GET", "/no/such/page"},
	{"POST", "/swarm"},
	{"POST", "/stop"},
	{"POST", "/stats/reset"},
	{"GET", "/stop"},
}

func TestEveryRouteNeedsAuth(t *testing.T) {
	f := newFixture(t, "admin:pa:ss", false)
	for _, r := range allRoutes {
		for _, c := range []struct{ user, pass string }{{"", ""}, {"admin", "wrong"}, {"admin", "pa"}, {"Admin", "pa:ss"}} {
			res := f.do(r.method, r.path, c.user, c.pass, "application/x-www-form-urlencoded", "user_count=5&spawn_rate=1")
			res.Body.Close()
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s as %q:%q: got %d, want 401", r.method, r.path, c.user, c.pass, res.StatusCode)
			}
			if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("%s %s: no WWW-Authenticate challenge", r.method, r.path)
			}
		}
	}
	if st := f.eng.State(); st != engine.StateReady {
		t.Fatalf("unauthenticated requests changed the state to %s", st)
	}
	// With the password every route answers something other than 401.
	for _, r := range allRoutes {
		if r.path == "/api/events" || r.method == "POST" {
			continue
		}
		res := f.do(r.method, r.path, "admin", "pa:ss", "", "")
		res.Body.Close()
		if res.StatusCode == http.StatusUnauthorized {
			t.Errorf("%s %s with the password: 401", r.method, r.path)
		}
		if res.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s %s: CORS header sent", r.method, r.path)
		}
	}
}

func TestSwarmRejectsBadInput(t *testing.T) {
	f := newFixture(t, "", false)
	form := "application/x-www-form-urlencoded"
	js := "application/json"
	cases := []struct {
		name, ctype, body, field string
	}{
		{"negative users", form, "user_count=-1&spawn_rate=1", "user_count"},
		{"users not a number", form, "user_count=ten&spawn_rate=1", "user_count"},
		{"users missing", form, "spawn_rate=1", "user_count"},
		{"spawn rate zero", form, "user_count=5&spawn_rate=0", "spawn_rate"},
		{"spawn rate negative", form, "user_count=5&spawn_rate=-2", "spawn_rate"},
		{"spawn rate not a number", form, "user_count=5&spawn_rate=fast", "spawn_rate"},
		{"run time unparsable", form, "user_count=5&spawn_rate=1&run_time=soon", "run_time"},
		{"run time negative", form, "user_count=5&spawn_rate=1&run_time=-5s", "run_time"},
		{"host not a URL", form, "user_count=5&spawn_rate=1&host=not%20a%20url", "host"},
		{"host ftp", form, "user_count=5&spawn_rate=1&host=ftp://x.example", "host"},
		{"unknown class", form, "user_count=5&spawn_rate=1&user_classes=nobody", "user_classes"},
		{"tags leave no task", form, "user_count=5&spawn_rate=1&tags=nope", "tags"},
		{"exclude every task", form, "user_count=5&spawn_rate=1&exclude_tags=read,write&tags=read", "tags"},
		{"tag too long", form, "user_count=5&spawn_rate=1&tags=" + strings.Repeat("x", 201), "tags"},
		{"json tags leave no task", js, `{"user_count": 3, "spawn_rate": 1, "tags": ["nope"]}`, "tags"},
		{"json negative users", js, `{"user_count": -3, "spawn_rate": 1}`, "user_count"},
		{"json zero rate", js, `{"user_count": 3, "spawn_rate": 0}`, "spawn_rate"},
		{"json bad run time", js, `{"user_count": 3, "spawn_rate": 1, "run_time": "1x"}`, "run_time"},
		{"json bad host", js, `{"user_count": 3, "spawn_rate": 1, "host": "example.com"}`, "host"},
		{"json not an object", js, `[1,2]`, ""},
		{"spawn rate Inf", form, "user_count=5&spawn_rate=Inf", "spawn_rate"},
		{"spawn rate NaN", form, "user_count=5&spawn_rate=NaN", "spawn_rate"},
		{"spawn rate absurd", form, "user_count=5&spawn_rate=1e300", "spawn_rate"},
		{"json spawn rate Inf", js, `{"user_count": 3, "spawn_rate": "Infinity"}`, "spawn_rate"},
		{"json spawn rate huge", js, `{"user_count": 3, "spawn_rate": 1e308}`, "spawn_rate"},
		{"users absurd", form, "user_count=1000000000000&spawn_rate=1", "user_count"},
		{"users beyond int", form, "user_count=99999999999999999999999&spawn_rate=1", "user_count"},
		{"json users absurd", js, `{"user_count": 50000000, "spawn_rate": 1}`, "user_count"},
		{"run time inf", form, "user_count=5&spawn_rate=1&run_time=inf", "run_time"},
		{"run time overflows", form, "user_count=5&spawn_rate=1&run_time=1e300", "run_time"},
		{"run time beyond a year", form, "user_count=5&spawn_rate=1&run_time=9000h", "run_time"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := f.do("POST", "/swarm", "", "", c.ctype, c.body)
			defer res.Body.Close()
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("got %d, want 400", res.StatusCode)
			}
			var e apiError
			if err := json.NewDecoder(res.Body).Decode(&e); err != nil {
				t.Fatal(err)
			}
			if e.Field != c.field || e.Error == "" || e.Success {
				t.Fatalf("got %+v, want field %q", e, c.field)
			}
		})
	}
	if st := f.eng.State(); st != engine.StateReady {
		t.Fatalf("bad input changed the state to %s", st)
	}
}

func TestStartEditStopReset(t *testing.T) {
	f := newFixture(t, "", false)
	f.start(url.Values{"user_count": {"7"}, "spawn_rate": {"3"}, "run_time": {"1h"}, "user_classes": {"writer"}})
	f.drv.mu.Lock()
	p := f.drv.applied[0]
	f.drv.mu.Unlock()
	if p.Users != 7 || p.SpawnRate != 3 || p.RunTime != time.Hour || p.Host != "http://127.0.0.1:9" || len(p.Classes) != 1 || p.Classes[0] != "writer" {
		t.Fatalf("applied %+v", p)
	}
	// GET /stop must not stop anything.
	res := f.do("GET", "/stop", "", "", "", "")
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /stop: %d, want 405", res.StatusCode)
	}
	if !isActive(f.eng.State()) {
		t.Fatalf("GET /stop stopped the test: %s", f.eng.State())
	}
	// An edit with users only keeps the spawn rate, host and deadline.
	res = f.do("POST", "/swarm", "", "", "application/json", `{"user_count": 12}`)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), "Test edited") {
		t.Fatalf("edit: %d %s", res.StatusCode, b)
	}
	f.drv.mu.Lock()
	p = f.drv.applied[1]
	f.drv.mu.Unlock()
	if p.Users != 12 || p.SpawnRate != 3 || p.RunTime <= 59*time.Minute || p.RunTime > time.Hour || p.Classes[0] != "writer" {
		t.Fatalf("edit applied %+v", p)
	}
	f.waitRequests()
	res = f.do("POST", "/stats/reset", "", "", "", "")
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("reset: %d", res.StatusCode)
	}
	if n := f.eng.Snapshot(false).Total.Requests; n > 6 {
		t.Fatalf("after reset: %d requests", n)
	}
	res = f.do("POST", "/stop", "", "", "", "")
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || f.eng.State() != engine.StateStopped {
		t.Fatalf("stop: %d %s, state %s", res.StatusCode, b, f.eng.State())
	}
	// A new test after the stop starts from scratch with the defaults.
	f.start(url.Values{"user_count": {"2"}})
	f.drv.mu.Lock()
	p = f.drv.applied[len(f.drv.applied)-1]
	f.drv.mu.Unlock()
	if p.Users != 2 || p.SpawnRate != 2 || p.RunTime != 0 || len(p.Classes) != 0 {
		t.Fatalf("new test applied %+v", p)
	}
}

func TestRequestStatsLocustShape(t *testing.T) {
	f := newFixture(t, "", true)
	f.start(url.Values{"user_count": {"5"}, "spawn_rate": {"5"}})
	f.waitRequests()
	var got map[string]any
	f.getJSON("/stats/requests", &got)
	for _, k := range []string{"stats", "errors", "total_rps", "total_fail_per_sec", "fail_ratio",
		"current_response_time_percentiles", "state", "user_count", "workers", "worker_count", "regions"} {
		if _, ok := got[k]; !ok {
			t.Errorf("missing %q", k)
		}
	}
	rows := got["stats"].([]any)
	if len(rows) != 3 {
		t.Fatalf("%d stats rows, want 2 entries + Aggregated", len(rows))
	}
	first := rows[0].(map[string]any)
	for _, k := range []string{"method", "name", "safe_name", "num_requests", "num_failures", "min_response_time",
		"max_response_time", "current_rps", "current_fail_per_sec", "avg_response_time", "median_response_time",
		"total_rps", "total_fail_per_sec", "avg_content_length", "response_time_percentile_0.95",
		"response_time_percentile_0.99", "response_time_percentile_0.999", "response_time_percentile_1.0"} {
		if _, ok := first[k]; !ok {
			t.Errorf("stats entry lacks %q", k)
		}
	}
	if first["name"] != "/fail" || first["method"] != "POST" {
		t.Errorf("first row %v %v, want sorted by name", first["method"], first["name"])
	}
	last := rows[2].(map[string]any)
	if last["name"] != "Aggregated" || last["method"] != nil {
		t.Errorf("last row %v %v, want Aggregated with a null method", last["method"], last["name"])
	}
	cur := got["current_response_time_percentiles"].(map[string]any)
	if _, ok := cur["response_time_percentile_0.5"]; !ok {
		t.Errorf("current percentiles %v", cur)
	}
	if _, ok := cur["response_time_percentile_0.95"]; !ok {
		t.Errorf("current percentiles %v", cur)
	}
	if got["worker_count"].(float64) != 2 || len(got["workers"].([]any)) != 2 {
		t.Errorf("workers %v, count %v", got["workers"], got["worker_count"])
	}
	w := got["workers"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "state", "user_count", "cpu_usage", "memory_usage", "region"} {
		if _, ok := w[k]; !ok {
			t.Errorf("worker lacks %q", k)
		}
	}
	regions := got["regions"].([]any)
	if len(regions) != 2 || regions[0].(map[string]any)["region"] != "eu-west" {
		t.Fatalf("regions %v", regions)
	}
	errs := got["errors"].([]any)
	if len(errs) != 1 || errs[0].(map[string]any)["error"] != "HTTP 500" {
		t.Errorf("errors %v", errs)
	}
	if got["fail_ratio"].(float64) <= 0.3 || got["fail_ratio"].(float64) >= 0.4 {
		t.Errorf("fail_ratio %v, want 1/3", got["fail_ratio"])
	}

	var exc struct {
		Exceptions []struct {
			Count     int    `json:"count"`
			Msg       string `json:"msg"`
			Traceback string `json:"traceback"`
			Nodes     string `json:"nodes"`
		} `json:"exceptions"`
	}
	f.getJSON("/exceptions", &exc)
	if len(exc.Exceptions) != 1 || exc.Exceptions[0].Msg != "boom" || exc.Exceptions[0].Nodes != "w1, w2" {
		t.Errorf("exceptions %+v", exc)
	}
	var tasks map[string]map[string]struct {
		Ratio float64            `json:"ratio"`
		Tasks map[string]float64 `json:"-"`
	}
	f.getJSON("/tasks", &tasks)
	if r := tasks["per_class"]["reader"].Ratio; r != 0.75 {
		t.Errorf("reader ratio %v, want 0.75 from weights", r)
	}
}

func TestCSVDownloads(t *testing.T) {
	f := newFixture(t, "", true)
	f.start(url.Values{"user_count": {"5"}, "spawn_rate": {"5"}})
	f.waitRequests()
	cases := []struct{ path, header, row string }{
		{"/stats/requests/csv", "Type,Name,Request Count,Failure Count,Median Response Time", "GET,/ok,"},
		{"/stats/failures/csv", "Method,Name,Error,Occurrences", "POST,/fail,HTTP 500,"},
		{"/exceptions/csv", "Count,Message,Traceback,Nodes", `boom,test.star:3: in task,"w1, w2"`},
		{"/stats/regions/csv", "Region,Type,Name", "eu-west,GET,/ok,"},
		{"/stats/requests_full_history/csv", "Timestamp,User Count,Type,Name,Requests/s", ",GET,/ok,"},
	}
	for _, c := range cases {
		res := f.do("GET", c.path, "", "", "", "")
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") ||
			!strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("%s: %d %v", c.path, res.StatusCode, res.Header)
			continue
		}
		if !strings.HasPrefix(string(b), c.header) || !strings.Contains(string(b), c.row) {
			t.Errorf("%s:\n%s", c.path, b)
		}
	}
	var doc output.Document
	f.getJSON("/stats/summary.json", &doc)
	if doc.Stats == nil || doc.Stats.Total.Requests == 0 || doc.Format != output.Format {
		t.Errorf("summary %+v", doc)
	}
	res := f.do("GET", "/stats/report?download=1", "", "", "", "")
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "<html>report</html>" || !strings.Contains(res.Header.Get("Content-Disposition"), "report_") {
		t.Errorf("report: %s %v", b, res.Header)
	}
}

func TestReportNotOffered(t *testing.T) {
	f := newFixture(t, "", false)
	f.srv.cfg.Report = nil
	res := f.do("GET", "/stats/report", "", "", "", "")
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Fatalf("report without a hook: %d", res.StatusCode)
	}
	var in info
	f.getJSON("/api/info", &in)
	if in.Report || !in.FullHistory || len(in.Classes) != 2 || in.Host != "http://127.0.0.1:9" || len(in.Percentiles) != stats.NumPercentiles {
		t.Fatalf("info %+v", in)
	}
}

func TestMetrics(t *testing.T) {
	f := newFixture(t, "", true)
	f.drv.badName = true
	f.start(url.Values{"user_count": {"5"}, "spawn_rate": {"5"}})
	f.waitRequests()
	res := f.do("GET", "/metrics", "", "", "", "")
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	body := string(b)
	for _, want := range []string{
		`stampede_requests_total{method="GET",name="/ok",region=""}`,
		`stampede_requests_total{method="GET",name="/ok",region="eu-west"}`,
		`stampede_failures_total{method="POST",name="/fail",region="us-east"}`,
		`stampede_response_time_seconds{method="GET",name="/ok",region="",quantile="0.95"}`,
		`stampede_response_time_seconds_count{method="",name="Aggregated",region=""}`,
		`stampede_users 5`,
		`stampede_workers 2`,
		`stampede_state{state="running"} 1`,
		`stampede_state{state="stopped"} 0`,
		"go_goroutines",
		"stampede_requests_total{method=\"GET\",name=\"/bad\ufffdname\",region=\"\"}",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// readEvent reads one "stats" event from an SSE stream.
func readEvent(t *testing.T, r *bufio.Reader) map[string]any {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var ev map[string]any
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				t.Fatal(err)
			}
			return ev
		}
	}
}

func TestEventsStream(t *testing.T) {
	f := newFixture(t, "", true)
	f.start(url.Values{"user_count": {"5"}, "spawn_rate": {"5"}})
	f.waitRequests()
	for _, gz := range []bool{false, true} {
		req, _ := http.NewRequest("GET", f.ts.URL+"/api/events", nil)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req = req.WithContext(ctx)
		if !gz {
			// Go's client adds gzip itself (and decodes it) unless told.
			req.Header.Set("Accept-Encoding", "identity")
		}
		res, err := f.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			t.Fatalf("content type %q", ct)
		}
		if res.Header.Get("X-Accel-Buffering") != "no" || !strings.Contains(res.Header.Get("Cache-Control"), "no-cache") {
			t.Errorf("headers %v", res.Header)
		}
		r := bufio.NewReader(res.Body)
		first := readEvent(t, r)
		if first["reset"] != true || first["state"] != "running" || len(first["entries"].([]any)) != 2 {
			t.Fatalf("first event: reset %v state %v entries %v", first["reset"], first["state"], first["entries"])
		}
		n := len(first["history"].([]any))
		if n < 2 {
			t.Fatalf("first event has %d history points", n)
		}
		p := first["history"].([]any)[0].([]any)
		if len(p) != 8 || p[7].(map[string]any)["eu-west"] == nil {
			t.Fatalf("history point %v lacks per-region values", p)
		}
		if first["distributed"] != true {
			t.Fatal("a driver with workers is not shown as distributed")
		}
		if len(first["regions"].([]any)) != 2 || len(first["workers"].([]any)) != 2 {
			t.Fatalf("regions %v workers %v", first["regions"], first["workers"])
		}
		second := readEvent(t, r)
		if second["reset"] == true {
			t.Fatal("second event resets the history")
		}
		if len(second["history"].([]any)) > 10 {
			t.Fatalf("second event resends the history: %d points", len(second["history"].([]any)))
		}
		cancel()
		res.Body.Close()
	}
}

func TestCredentials(t *testing.T) {
	cases := []struct {
		in         string
		ok         bool
		user, pass string
	}{
		{"admin:secret", true, "admin", "secret"},
		{"admin:se:cr:et", true, "admin", "se:cr:et"},
		{"admin:secret\n", true, "admin", "secret"},
		{"admin", false, "", ""},
		{":secret", false, "", ""},
		{"admin:", false, "", ""},
		{"", false, "", ""},
	}
	for _, c := range cases {
		cr, err := ParseCredentials(c.in)
		if (err == nil) != c.ok {
			t.Errorf("%q: err %v", c.in, err)
			continue
		}
		if err != nil {
			if strings.Contains(err.Error(), c.in) && c.in != "" {
				t.Errorf("%q: the error echoes the secret: %v", c.in, err)
			}
			continue
		}
		if !cr.Check(c.user, c.pass) || cr.Check(c.user, c.pass+"x") || cr.Check(c.user+"x", c.pass) || cr.Check("", "") {
			t.Errorf("%q: Check is wrong", c.in)
		}
	}
}

func TestPercentileKey(t *testing.T) {
	want := map[float64]string{50: "response_time_percentile_0.5", 95: "response_time_percentile_0.95",
		99.9: "response_time_percentile_0.999", 99.99: "response_time_percentile_0.9999", 100: "response_time_percentile_1.0"}
	for p, k := range want {
		if got := percentileKey(p); got != k {
			t.Errorf("percentileKey(%v) = %q, want %q", p, got, k)
		}
	}
}
