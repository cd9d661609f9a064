package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/runner"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
)

// server counts requests; /block holds them until release is closed.
type server struct {
	*httptest.Server
	n       atomic.Int64
	inBlock atomic.Int64
	release chan struct{}
	once    sync.Once
}

func newServer(t *testing.T) *server {
	s := &server{release: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			s.inBlock.Add(1)
			select {
			case <-s.release:
			case <-r.Context().Done():
			}
			s.inBlock.Add(-1)
		}
		s.n.Add(1)
		io.WriteString(w, "ok")
	}))
	t.Cleanup(func() { s.Release(); s.Close() })
	return s
}

func (s *server) Release() { s.once.Do(func() { close(s.release) }) }

const src = `
def hit(u):
    u.http.get("/hit")
def block(u):
    u.http.get("/block")
    u.http.get("/after")
a = user(tasks=[hit], weight=1, wait_time=constant(0.01))
b = user(tasks=[hit], weight=1, wait_time=constant(0.01))
blocker = user(tasks=[block], fixed_count=0, weight=0)
`

type fixture struct {
	eng    *Engine
	driver *LocalDriver
	srv    *server
	ticks  atomic.Int64
}

func newFixture(t *testing.T, stopTimeout time.Duration) *fixture {
	t.Helper()
	s, err := script.LoadFiles("test.star", map[string][]byte{"test.star": []byte(src)}, script.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: newServer(t)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.driver = &LocalDriver{NewRunner: func(p Params) (*runner.Runner, error) {
		return runner.New(runner.Config{Script: s, Host: p.Host, StopTimeout: stopTimeout, Log: log}), nil
	}}
	f.eng = New(Config{Driver: f.driver, Log: log, Interval: 40 * time.Millisecond, StopGrace: 10 * time.Second,
		OnTick: []TickFunc{func(time.Time, stats.Point, *Engine) { f.ticks.Add(1) }}})
	t.Cleanup(func() {
		f.srv.Release()
		_ = f.eng.Stop()
	})
	return f
}

func (f *fixture) params(users int) Params {
	return Params{Users: users, SpawnRate: 200, Host: f.srv.URL, Classes: []string{"a", "b"}}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func TestLifecycle(t *testing.T) {
	f := newFixture(t, 0)
	e := f.eng
	if e.State() != StateReady || e.Users() != 0 {
		t.Fatalf("new engine: %s, %d users", e.State(), e.Users())
	}
	if err := e.Stop(); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Stop when ready: %v", err)
	}
	if err := e.Start(context.Background(), f.params(4)); err != nil {
		t.Fatal(err)
	}
	if s := e.State(); s != StateSpawning {
		t.Errorf("state after Start = %s", s)
	}
	waitFor(t, "running with 4 users", func() bool { return e.State() == StateRunning && e.Users() == 4 })
	if st, end, _ := e.Times(); st.IsZero() || !end.IsZero() {
		t.Errorf("times while running: %v, %v", st, end)
	}
	waitFor(t, "requests", func() bool { return e.Snapshot(false).Total.Requests > 20 })
	agg := e.Aggregate()

	// edit: fewer users, same test and statistics
	if err := e.Start(context.Background(), f.params(2)); err != nil {
		t.Fatal(err)
	}
	if e.Params().Users != 2 || e.Aggregate() != agg {
		t.Errorf("edit: params %+v, new aggregate %v", e.Params(), e.Aggregate() != agg)
	}
	waitFor(t, "2 users", func() bool { return e.State() == StateRunning && e.Users() == 2 })
	if d := f.driver.Runner().UsersByClass(); d["a"] != 1 || d["b"] != 1 || d["blocker"] != 0 {
		t.Errorf("users by class = %v", d)
	}

	// reset clears the statistics, the test goes on
	before := e.Snapshot(false).Total.Requests
	e.Reset()
	if after := e.Snapshot(false).Total.Requests; after >= before {
		t.Errorf("Reset: %d requests before, %d after", before, after)
	}
	waitFor(t, "requests after Reset", func() bool { return e.Snapshot(false).Total.Requests > 0 })

	done := e.Done()
	if isClosed(done) {
		t.Fatal("Done closed while running")
	}
	if err := e.Stop(); err != nil {
		t.Fatal(err)
	}
	if e.State() != StateStopped || !isClosed(done) || e.Users() != 0 {
		t.Errorf("after Stop: %s, done %v, %d users", e.State(), isClosed(done), e.Users())
	}
	_, end, reason := e.Times()
	if end.IsZero() || reason != "stopped" {
		t.Errorf("end %v reason %q", end, reason)
	}
	// every request the server answered is counted (those before Reset
	// were forgotten with it)
	final := e.Snapshot(true)
	if final.Total.Requests == 0 || final.Total.Requests > f.srv.n.Load() || !final.End.Equal(end) {
		t.Errorf("final: %d requests (server %d), end %v", final.Total.Requests, f.srv.n.Load(), final.End)
	}
	if time.Sleep(100 * time.Millisecond); e.Snapshot(false).Total.Requests != final.Total.Requests {
		t.Error("statistics moved after Stop")
	}
	if len(final.History) == 0 || f.ticks.Load() == 0 {
		t.Errorf("history %d points, %d ticks", len(final.History), f.ticks.Load())
	}
	if err := e.Stop(); !errors.Is(err, ErrNotRunning) {
		t.Errorf("second Stop: %v", err)
	}

	// a new test starts clean
	old := f.driver.Runner()
	served := f.srv.n.Load()
	if err := e.Start(context.Background(), f.params(1)); err != nil {
		t.Fatal(err)
	}
	if e.Aggregate() == agg || isClosed(e.Done()) {
		t.Errorf("new test: same aggregate %v, done closed %v", e.Aggregate() == agg, isClosed(e.Done()))
	}
	waitFor(t, "1 user", func() bool { return e.Users() == 1 })
	waitFor(t, "requests of the new test", func() bool { return e.Snapshot(false).Total.Requests > 0 })
	// only the new test's requests are counted
	if got, max := e.Snapshot(false).Total.Requests, f.srv.n.Load()-served; got > max {
		t.Errorf("new test counts %d requests, the server answered %d since it started", got, max)
	}
	if r := f.driver.Runner(); r == nil || r == old {
		t.Error("the new test reuses the old runner")
	}
	if _, end, reason := e.Times(); !end.IsZero() || reason != "" {
		t.Errorf("new test: end %v reason %q", end, reason)
	}
	if err := e.Stop(); err != nil {
		t.Fatal(err)
	}
}

func TestRunTime(t *testing.T) {
	f := newFixture(t, 0)
	p := f.params(2)
	p.RunTime = 300 * time.Millisecond
	begin := time.Now()
	if err := f.eng.Start(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	select {
	case <-f.eng.Done():
	case <-time.After(8 * time.Second):
		t.Fatal("the run time did not stop the test")
	}
	if el := time.Since(begin); el < 300*time.Millisecond {
		t.Errorf("stopped after %v", el)
	}
	if _, _, reason := f.eng.Times(); reason != "run time elapsed" || f.eng.State() != StateStopped {
		t.Errorf("reason %q, state %s", reason, f.eng.State())
	}
	if got, want := f.eng.Snapshot(false).Total.Requests, f.srv.n.Load(); got != want {
		t.Errorf("counted %d requests, server answered %d", got, want)
	}
}

// Stopping with a stop timeout: requests still in flight while the engine
// keeps collecting are counted when they complete.
func TestStopCountsRequestsInFlight(t *testing.T) {
	for _, timeout := range []time.Duration{0, 5 * time.Second} {
		f := newFixture(t, timeout)
		e := f.eng
		p := f.params(3)
		p.Classes, p.ClassUsers = nil, map[string]int{"blocker": 3}
		if err := e.Start(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "3 requests in flight", func() bool { return f.srv.inBlock.Load() == 3 })
		stopped := make(chan error)
		go func() { stopped <- e.Stop() }()
		waitFor(t, "stopping", func() bool { return e.State() == StateStopping })
		if err := e.Start(context.Background(), f.params(1)); err == nil || !strings.Contains(err.Error(), "stopping") {
			t.Errorf("Start while stopping: %v", err)
		}
		time.Sleep(200 * time.Millisecond) // several collections happen while the users finish
		f.srv.Release()
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
		s := e.Snapshot(false)
		if s.Total.Requests != f.srv.n.Load() {
			t.Errorf("stop timeout %v: counted %d requests, server answered %d", timeout, s.Total.Requests, f.srv.n.Load())
		}
		wantAfter := int64(0)
		if timeout > 0 {
			wantAfter = 3 // the tasks were allowed to finish
		}
		var after int64
		for _, en := range s.Entries {
			if en.Name == "/after" {
				after = en.Requests
			}
		}
		if after != wantAfter {
			t.Errorf("stop timeout %v: %d /after requests, want %d", timeout, after, wantAfter)
		}
	}
}

func TestParamsValidate(t *testing.T) {
	tests := []struct {
		p     Params
		field string
	}{
		{Params{Users: 1, SpawnRate: 1}, ""},
		{Params{Users: 0, SpawnRate: 0.5}, ""},
		{Params{Users: -1, SpawnRate: 1}, "user_count"},
		{Params{Users: 1, SpawnRate: 0}, "spawn_rate"},
		{Params{Users: 1, SpawnRate: -2}, "spawn_rate"},
		{Params{Users: 1, SpawnRate: 1, RunTime: -time.Second}, "run_time"},
		{Params{Users: 1, SpawnRate: math.NaN()}, "spawn_rate"},
		{Params{Users: 1, SpawnRate: math.Inf(1)}, "spawn_rate"},
		{Params{Users: 1, SpawnRate: 1e300}, "spawn_rate"},
		{Params{Users: 1 << 40, SpawnRate: 1}, "user_count"},
		{Params{Users: 1, SpawnRate: 1, RunTime: 1 << 62}, "run_time"},
		{Params{Users: 1, SpawnRate: 1, ClassUsers: map[string]int{"A": 1 << 40}}, "class_users"},
		{Params{Users: 1, SpawnRate: 1, ClassUsers: map[string]int{"A": -1}}, "class_users"},
	}
	for _, tc := range tests {
		err := tc.p.Validate()
		var fe *FieldError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%+v: %v", tc.p, err)
		case tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field):
			t.Errorf("%+v: %v, want a %s error", tc.p, err, tc.field)
		case tc.field != "" && (!strings.HasPrefix(err.Error(), tc.field+": ") || !strings.Contains(err.Error(), "must be")):
			t.Errorf("message %q", err)
		}
	}
	f := newFixture(t, 0)
	if err := f.eng.Start(context.Background(), Params{Users: -1, SpawnRate: 1}); err == nil || f.eng.State() != StateReady {
		t.Errorf("bad params: %v, state %s", err, f.eng.State())
	}
}

// The tag selection's bounds at their edges (they come from the web form
// too): 100 tags of 200 characters pass, one more tag or character is
// refused naming the field.
func TestParamsValidateTagBounds(t *testing.T) {
	tags := func(n, length int) []string {
		ts := make([]string, n)
		for i := range ts {
			ts[i] = fmt.Sprintf("%0*d", length, i)
		}
		return ts
	}
	tests := []struct {
		name       string
		tags, excl []string
		want       string
	}{
		{"100 tags of 200 characters", tags(maxTags, maxTagLength), tags(maxTags, maxTagLength), ""},
		{"101 tags", tags(maxTags+1, 3), nil, "tags: at most 100 tags, got 101"},
		{"101 excluded tags", nil, tags(maxTags+1, 3), "exclude_tags: at most 100 tags, got 101"},
		{"a tag of 201 characters", tags(1, maxTagLength+1), nil, "tags: a tag must have 1 to 200 characters"},
		{"an empty excluded tag", nil, []string{""}, "exclude_tags: a tag must have 1 to 200 characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Params{Users: 1, SpawnRate: 1, Tags: tc.tags, ExcludeTags: tc.excl}.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || err.Error() != tc.want {
				t.Fatalf("%v, want %q", err, tc.want)
			}
		})
	}
}

// A start that fails leaves the engine as it was: the last test's
// statistics and Done stay.
func TestFailedStartKeepsTheLastTest(t *testing.T) {
	f := newFixture(t, 0)
	e := f.eng
	p := f.params(2)
	p.Classes = []string{"nope"}
	err := e.Start(context.Background(), p)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "user_classes" || e.State() != StateReady {
		t.Fatalf("unknown class: %v, state %s", err, e.State())
	}
	if err := e.Start(context.Background(), f.params(2)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "requests", func() bool { return e.Snapshot(false).Total.Requests > 0 })
	if err := e.Stop(); err != nil {
		t.Fatal(err)
	}
	n, done := e.Snapshot(false).Total.Requests, e.Done()
	if err := e.Start(context.Background(), p); err == nil {
		t.Fatal("unknown class accepted")
	}
	if e.State() != StateStopped || e.Snapshot(false).Total.Requests != n || !isClosed(e.Done()) || e.Done() != done {
		t.Errorf("after a failed start: state %s, %d requests (had %d), done closed %v", e.State(), e.Snapshot(false).Total.Requests, n, isClosed(e.Done()))
	}
}

// A first start refused for an unknown class in ClassUsers leaves no
// runner behind: the next start gets its own classes, not the failed
// start's.
func TestFailedClassUsersStartLeavesNoRunner(t *testing.T) {
	f := newFixture(t, 0)
	e := f.eng
	bad := Params{SpawnRate: 200, Host: f.srv.URL, Classes: []string{"b"}, ClassUsers: map[string]int{"nope": 1}}
	err := e.Start(context.Background(), bad)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "class_users" || e.State() != StateReady {
		t.Fatalf("unknown class: %v, state %s", err, e.State())
	}
	if r := f.driver.Runner(); r != nil {
		t.Errorf("a runner is left after the failed start")
	}
	good := f.params(2)
	good.Classes = []string{"a"}
	if err := e.Start(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "2 users", func() bool { return e.Users() == 2 })
	if got := f.driver.Runner().UsersByClass(); got["a"] != 2 || got["b"] != 0 {
		t.Errorf("users by class %v, want a=2", got)
	}
}

// A load shape's per-class target for a class that the tag selection
// left with no task gives it no users, instead of failing the test.
func TestClassUsersOfExcludedClass(t *testing.T) {
	s, err := script.LoadFiles("test.star", map[string][]byte{"test.star": []byte(`
def hit(u):
    u.http.get("/hit")
a = user(tasks=[task(hit, tags=["keep"])], wait_time=constant(0.01))
b = user(tasks=[hit], wait_time=constant(0.01))
`)}, script.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d := &LocalDriver{NewRunner: func(p Params) (*runner.Runner, error) {
		sel, err := s.SelectTags(p.Tags, p.ExcludeTags)
		if err != nil {
			return nil, err
		}
		return runner.New(runner.Config{Script: sel, Host: p.Host, Log: log}), nil
	}}
	p := Params{SpawnRate: 200, Host: srv.URL, Tags: []string{"keep"}, ClassUsers: map[string]int{"a": 2, "b": 3}}
	if err := d.Apply(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	defer d.Stop(context.Background())
	waitFor(t, "2 users", func() bool { return d.Users() == 2 })
	if got := d.Runner().UsersByClass(); got["a"] != 2 || got["b"] != 0 {
		t.Errorf("users by class %v, want a=2 and none of b", got)
	}
	p.ClassUsers = map[string]int{"a": 1, "nope": 1}
	var fe *FieldError
	if err := d.Apply(context.Background(), p); !errors.As(err, &fe) || fe.Field != "class_users" {
		t.Errorf("a class the script does not have: %v", err)
	}
}
