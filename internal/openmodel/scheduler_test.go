package openmodel

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/internal/workload"
)

// target is a loopback server that counts requests per path and can be
// made slow.
type target struct {
	*httptest.Server
	mu     sync.Mutex
	counts map[string]int
	delay  atomic.Int64 // ns added to every response
	// stallFrom/stallTo (unix ns): requests arriving inside are held
	// until stallTo, like a server frozen by a GC pause or a lock.
	stallFrom, stallTo atomic.Int64
}

func newTarget(t *testing.T) *target {
	tg := &target{counts: map[string]int{}}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().UnixNano()
		if from, to := tg.stallFrom.Load(), tg.stallTo.Load(); now >= from && now < to {
			time.Sleep(time.Duration(to - now))
		}
		if d := tg.delay.Load(); d > 0 {
			time.Sleep(time.Duration(d))
		}
		tg.mu.Lock()
		tg.counts[r.URL.Path]++
		tg.mu.Unlock()
		w.Write([]byte("ok"))
	}))
	t.Cleanup(tg.Close)
	return tg
}

func (tg *target) count(path string) int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.counts[path]
}

func loadScript(t *testing.T, src string, vars map[string]string) *script.Script {
	t.Helper()
	s, err := script.LoadFiles("test.star", map[string][]byte{"test.star": []byte(src)}, script.Options{Vars: vars})
	if err != nil {
		t.Fatalf("loading script: %v", err)
	}
	return s
}

const oneGet = `
def get(u):
    u.http.get(vars.get("path", "/"))

visitor = user(tasks=[get], wait_time=constant_pacing(float(vars.get("pacing", "0"))))
`

// run runs a scheduler until its schedule ends (End must be set or the
// schedule must be a ramp) and returns its final statistics.
func run(t *testing.T, cfg Config, during func(*Scheduler)) (*Scheduler, *stats.Delta) {
	t.Helper()
	finished := make(chan struct{})
	cfg.OnFinish = func() { close(finished) }
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	if during != nil {
		during(s)
	}
	select {
	case <-finished:
	case <-time.After(60 * time.Second):
		t.Fatal("the schedule did not finish in 60 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !s.Stop(ctx) {
		t.Fatal("users did not stop")
	}
	return s, s.Flush(time.Now())
}

func TestExactCounts(t *testing.T) {
	tg := newTarget(t)
	sc := loadScript(t, oneGet, nil)
	tests := []struct {
		name  string
		sched *workload.Schedule
		share float64
		phase float64
		end   time.Duration
		want  int
	}{
		{"constant", workload.Constant(200), 1, 0, time.Second, 200},
		{"half share", workload.Constant(200), 0.5, 0, time.Second, 100},
		{"half share, phase", workload.Constant(200), 0.5, 0.5, time.Second, 100},
		{"ramp up", workload.Ramping(0, []workload.ArrivalStage{{Duration: time.Second, Rate: 400}}), 1, 0, 0, 200},
		{"ramp with jump and hold", workload.Ramping(0, []workload.ArrivalStage{{Duration: 0, Rate: 100}, {Duration: 500 * time.Millisecond, Rate: 100}, {Duration: 500 * time.Millisecond, Rate: 300}}), 1, 0, 0, 50 + 100},
		{"end cuts a ramp", workload.Ramping(100, []workload.ArrivalStage{{Duration: 10 * time.Second, Rate: 100}}), 1, 0, 700 * time.Millisecond, 70},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/" + strings.ReplaceAll(tt.name, " ", "-")
			sc := loadScript(t, oneGet, map[string]string{"path": path})
			s, d := run(t, Config{Script: sc, Host: tg.URL, Schedule: tt.sched, Share: tt.share, Phase: tt.phase, End: tt.end, MaxUsers: 50}, nil)
			st := s.Status()
			if got := tg.count(path); got != tt.want {
				t.Errorf("target counted %d requests, want %d", got, tt.want)
			}
			if d.Requests() != int64(tg.count(path)) {
				t.Errorf("stats count %d requests, the target %d", d.Requests(), tg.count(path))
			}
			if st.Started != int64(tt.want) || st.Dropped != 0 || st.Abandoned != 0 {
				t.Errorf("status %+v", st)
			}
			if !st.Finished {
				t.Error("not finished")
			}
			for _, e := range d.Entries {
				if e.Service == nil || e.Service.Count != e.Latency.Count {
					t.Errorf("service timing missing or short: %+v", e.Service)
				}
			}
		})
	}
	_ = sc
}

// TestQueueAndDrops: with every user busy, due iterations queue up to the
// bound and the rest are dropped, counted in the delta and warned about;
// every due iteration is accounted for.
func TestQueueAndDrops(t *testing.T) {
	tg := newTarget(t)
	tg.delay.Store(int64(300 * time.Millisecond))
	sc := loadScript(t, oneGet, map[string]string{"path": "/slow"})
	var logs bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.Write(p)
	}), nil))
	s, d := run(t, Config{
		Script: sc, Host: tg.URL, Schedule: workload.Constant(100), End: 500 * time.Millisecond,
		MaxUsers: 2, QueueSize: 3, WarnEvery: 50 * time.Millisecond, Log: log,
	}, nil)
	st := s.Status()
	if st.Started+st.Dropped+st.Abandoned != 50 {
		t.Errorf("started %d + dropped %d + abandoned %d != 50 due", st.Started, st.Dropped, st.Abandoned)
	}
	if st.Dropped < 30 || st.Started < 5 || st.Users > 2 || st.MaxQueued != 3 || st.Delayed < 3 {
		t.Errorf("status %+v: want 2 users, a full queue of 3, most iterations dropped", st)
	}
	if d.Dropped != st.Dropped {
		t.Errorf("delta dropped %d, status %d", d.Dropped, st.Dropped)
	}
	if int64(tg.count("/slow")) != st.Started {
		t.Errorf("target %d requests, started %d", tg.count("/slow"), st.Started)
	}
	// queued iterations waited: their corrected latency exceeds their
	// service time by about one response (300 ms)
	for _, e := range d.Entries {
		if e.Latency.Max < e.Service.Max+250 {
			t.Errorf("corrected max %.0f ms, service max %.0f ms: the queue wait is missing", e.Latency.Max, e.Service.Max)
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logs.String(), "iterations dropped") {
		t.Errorf("no warning about dropped iterations in the log:\n%s", logs.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestRebalance: a share change mid-run applies from then on, without
// losing or repeating iterations.
func TestRebalance(t *testing.T) {
	tg := newTarget(t)
	sc := loadScript(t, oneGet, map[string]string{"path": "/rebalance"})
	_, _ = run(t, Config{Script: sc, Host: tg.URL, Schedule: workload.Constant(400), Share: 0.25, End: time.Second, MaxUsers: 50},
		func(s *Scheduler) {
			time.Sleep(time.Until(s.Origin().Add(500 * time.Millisecond)))
			if err := s.SetShare(0.75); err != nil {
				t.Error(err)
			}
		})
	// 0.25·400·0.5 + 0.75·400·0.5 = 50 + 150; the switch lands within a
	// few milliseconds of 0.5 s
	if got := tg.count("/rebalance"); got < 190 || got > 206 {
		t.Errorf("target counted %d, want 200 ± a few", got)
	}
	if err := (&Scheduler{}).SetShare(1.5); err == nil {
		t.Error("share 1.5 accepted")
	}
}

// TestLateJoin: a scheduler started after the schedule's origin starts
// at the schedule's current point.
func TestLateJoin(t *testing.T) {
	tg := newTarget(t)
	sc := loadScript(t, oneGet, map[string]string{"path": "/late"})
	origin := time.Now().Add(-time.Second)
	_, _ = run(t, Config{Script: sc, Host: tg.URL, Schedule: workload.Constant(100), Origin: origin, End: 2 * time.Second}, nil)
	if got := tg.count("/late"); got < 95 || got > 101 {
		t.Errorf("target counted %d, want about 100 (the second half of 2 s at 100/s)", got)
	}
}

// TestClassMix: iterations are shared by class weight, exactly.
func TestClassMix(t *testing.T) {
	tg := newTarget(t)
	sc := loadScript(t, `
def a(u):
    u.http.get("/a")
def b(u):
    u.http.get("/b")
def c(u):
    u.http.get("/c")
heavy = user(tasks=[a], weight=3)
light = user(tasks=[b], weight=1)
fixed = user(tasks=[c], fixed_count=2)
`, nil)
	_, _ = run(t, Config{Script: sc, Host: tg.URL, Schedule: workload.Constant(300), End: 200 * time.Millisecond}, nil)
	if a, b, c := tg.count("/a"), tg.count("/b"), tg.count("/c"); a != 30 || b != 10 || c != 20 {
		t.Errorf("counts a=%d b=%d c=%d, want 30/10/20 (weights 3:1:2)", a, b, c)
	}
	_, err := New(Config{Script: sc, Schedule: workload.Constant(1), Classes: []string{"nope"}})
	if err == nil {
		t.Error("unknown class accepted")
	}
}

// TestStopAbandonsQueue: at a stop, queued iterations are abandoned (not
// dropped), the request in flight completes and is counted.
func TestStopAbandonsQueue(t *testing.T) {
	tg := newTarget(t)
	tg.delay.Store(int64(400 * time.Millisecond))
	sc := loadScript(t, oneGet, map[string]string{"path": "/stop"})
	s, err := New(Config{Script: sc, Host: tg.URL, Schedule: workload.Constant(50), MaxUsers: 1, QueueSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	time.Sleep(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !s.Stop(ctx) {
		t.Fatal("did not stop")
	}
	st := s.Status()
	d := s.Flush(time.Now())
	if st.Started != 1 || d.Requests() != 1 || tg.count("/stop") != 1 {
		t.Errorf("started %d, recorded %d, target %d; want the one request in flight counted", st.Started, d.Requests(), tg.count("/stop"))
	}
	if st.Abandoned < 10 || st.Dropped != 0 || d.Dropped != 0 {
		t.Errorf("status %+v: queued iterations should be abandoned, not dropped", st)
	}
	if s.Users() != 0 {
		t.Errorf("%d users left", s.Users())
	}
}

// TestStopIsPrompt: a pacer sleeping in short kernel sleeps between
// iterations still sees a stop at once.
func TestStopIsPrompt(t *testing.T) {
	tg := newTarget(t)
	sc := loadScript(t, oneGet, map[string]string{"path": "/prompt"})
	s, err := New(Config{Script: sc, Host: tg.URL, Schedule: workload.Constant(800), MaxUsers: 50})
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	time.Sleep(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	begin := time.Now()
	if !s.Stop(ctx) {
		t.Fatal("did not stop")
	}
	// 1,024 iterations at 800/s would be 1.3 s
	if d := time.Since(begin); d > 500*time.Millisecond {
		t.Errorf("Stop took %v", d)
	}
}
