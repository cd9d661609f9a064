package shape

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/runner"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/workload"
)

func server(t *testing.T) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	t.Cleanup(s.Close)
	return s
}

func load(t *testing.T, src string) *script.Script {
	t.Helper()
	s, err := script.LoadFiles("t.star", map[string][]byte{"t.star": []byte(src)}, script.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// harness runs a shape over a LocalDriver in an engine, sampling the
// users per class every 20 ms.
type harness struct {
	eng     *engine.Engine
	drv     *Driver
	local   *engine.LocalDriver
	mu      sync.Mutex
	samples []map[string]int
}

func start(t *testing.T, sc *script.Script, sh workload.Shape, host string) *harness {
	t.Helper()
	h := &harness{}
	h.local = &engine.LocalDriver{NewRunner: func(p engine.Params) (*runner.Runner, error) {
		return runner.New(runner.Config{Script: sc, Host: p.Host}), nil
	}}
	h.drv = &Driver{Inner: h.local, Shape: sh, Classes: runner.Classes(sc), Interval: 50 * time.Millisecond}
	h.eng = engine.New(engine.Config{Driver: h.drv, Interval: 100 * time.Millisecond})
	h.drv.OnFinish = func(reason string) { _ = h.eng.StopWith(reason) }
	if err := h.eng.Start(context.Background(), engine.Params{Users: 1, SpawnRate: 1, Host: host}); err != nil {
		t.Fatal(err)
	}
	go func() {
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-h.eng.Done():
				return
			case <-tk.C:
				if r := h.local.Runner(); r != nil {
					h.mu.Lock()
					h.samples = append(h.samples, r.UsersByClass())
					h.mu.Unlock()
				}
			}
		}
	}()
	select {
	case <-h.eng.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the shape did not end the test")
	}
	return h
}

func (h *harness) seen(f func(map[string]int) bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.samples {
		if f(s) {
			return true
		}
	}
	return false
}

const simple = `
def get(u):
    u.http.get("/")
a = user(tasks=[get], wait_time=constant(0.05))
b = user(tasks=[get], wait_time=constant(0.05))
`

func TestStagesRampAndEnd(t *testing.T) {
	srv := server(t)
	st, err := workload.ParseStages("400ms:4:100,400ms:8:100,300ms:2:100")
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, load(t, simple), workload.Stages(st), srv.URL)
	_, _, reason := h.eng.Times()
	if reason != ReasonFinished {
		t.Errorf("stop reason %q, want %q", reason, ReasonFinished)
	}
	if p := h.eng.Params(); p.Users != 2 || p.SpawnRate != 100 {
		t.Errorf("engine params %+v: want the last stage's target", p)
	}
	status := h.drv.Status()
	if len(status.History) != 3 || status.Peak != 8 || status.Stages != 3 {
		t.Fatalf("status %+v", status)
	}
	wantAt := []time.Duration{0, 400 * time.Millisecond, 800 * time.Millisecond}
	for i, a := range status.History {
		if a.Stage != i+1 || a.Target.Users != st[i].Users {
			t.Errorf("history[%d] = %+v", i, a)
		}
		if d := a.At - wantAt[i]; d < 0 || d > 150*time.Millisecond {
			t.Errorf("stage %d applied at %v, want %v", i+1, a.At, wantAt[i])
		}
	}
	total := func(m map[string]int) int { return m["a"] + m["b"] }
	for _, n := range []int{4, 8, 2} {
		if !h.seen(func(m map[string]int) bool { return total(m) == n }) {
			t.Errorf("never saw %d users", n)
		}
	}
	if h.seen(func(m map[string]int) bool { return total(m) > 8 }) {
		t.Error("more than 8 users")
	}
	if sum := h.eng.Snapshot(false); sum.Total.Requests == 0 {
		t.Error("no requests")
	}
}

// TestStageNotSkipped: a ramp too slow for its stage does not hold up or
// swallow the next stages; each is applied on the clock, in order.
func TestStageNotSkipped(t *testing.T) {
	srv := server(t)
	st := workload.Stages{{Duration: 500 * time.Millisecond, Users: 50, SpawnRate: 4}, {Duration: 100 * time.Millisecond, Users: 1, SpawnRate: 100}, {Duration: 300 * time.Millisecond, Users: 3, SpawnRate: 100}}
	h := start(t, load(t, simple), st, srv.URL)
	hist := h.drv.Status().History
	if len(hist) != 3 {
		t.Fatalf("applied %d stages, want 3: %+v", len(hist), hist)
	}
	for i, want := range []time.Duration{0, 500 * time.Millisecond, 600 * time.Millisecond} {
		if d := hist[i].At - want; d < 0 || d > 80*time.Millisecond {
			t.Errorf("stage %d applied at %v, want %v", i+1, hist[i].At, want)
		}
	}
	if h.seen(func(m map[string]int) bool { return m["a"]+m["b"] > 6 }) {
		t.Error("the slow first ramp went on after its stage ended")
	}
	if !h.seen(func(m map[string]int) bool { return m["a"]+m["b"] == 3 }) {
		t.Error("the last stage's 3 users never ran")
	}
}

func TestScriptShape(t *testing.T) {
	srv := server(t)
	sc := load(t, simple+`
def shape(t, users):
    if t < 0.4:
        return (4, 100, {"a": 3, "b": 1})
    if t < 0.8:
        return (2, 100, [b])
    return None
`)
	if sc.Workload.Shape == nil {
		t.Fatal("shape not found")
	}
	h := start(t, sc, sc.Workload.Shape, srv.URL)
	if _, _, reason := h.eng.Times(); reason != ReasonFinished {
		t.Errorf("reason %q", reason)
	}
	if !h.seen(func(m map[string]int) bool { return m["a"] == 3 && m["b"] == 1 }) {
		t.Error("never saw a=3 b=1")
	}
	if !h.seen(func(m map[string]int) bool { return m["a"] == 0 && m["b"] == 2 }) {
		t.Error("never saw a=0 b=2")
	}
}

func TestShapeErrors(t *testing.T) {
	srv := server(t)
	sc := load(t, simple+`
def shape(t):
    if t < 0.2:
        return (2, 10)
    return (1, 10, {"nope": 1})
`)
	h := start(t, sc, sc.Workload.Shape, srv.URL)
	if _, _, reason := h.eng.Times(); !strings.HasPrefix(reason, ReasonError) || !strings.Contains(reason, `"nope" is not a user class`) {
		t.Errorf("reason %q", reason)
	}
	// a shape that fails at once fails the start
	bad := load(t, simple+`
def shape(t):
    return 1 // 0
`)
	d := &Driver{Inner: &engine.LocalDriver{NewRunner: func(p engine.Params) (*runner.Runner, error) {
		return runner.New(runner.Config{Script: bad, Host: p.Host}), nil
	}}, Shape: bad.Workload.Shape}
	e := engine.New(engine.Config{Driver: d})
	err := e.Start(context.Background(), engine.Params{Users: 1, SpawnRate: 1, Host: srv.URL})
	if err == nil || !strings.Contains(err.Error(), "t.star:") {
		t.Errorf("start error %v, want the script position", err)
	}
}
