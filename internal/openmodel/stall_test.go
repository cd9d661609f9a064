package openmodel

import (
	"context"
	"fmt"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/runner"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/internal/workload"
)

// TestStallCoordinatedOmission is the proof of the open model.
//
// A loopback server answers at once except during one window of
// stallLen, when it freezes: every request arriving then is answered
// when the window ends. Two loads run against it at the same time, the
// same 200 requests per second from 10 users each:
//
//   - closed: 10 users, each sending a request every 50 ms
//     (constant_pacing) and waiting for its response first;
//   - open: 200 iterations per second on a pool of at most 10 users.
//
// Theory: the closed users send one request each into the stall and then
// nothing until it ends, so the stall is 10 requests out of ~1,210 and
// the closed p99 stays at the normal response time. The open model's
// iterations keep their schedule: the 400 due during the stall wait (in
// flight or queued) until it ends, and measured from their intended start
// their latencies spread evenly from stallLen down to 0, so the corrected
// percentiles above 75% are stallLen − (1−q)·runLen. Measured from the
// actual send (service time) the open model sees what the closed one
// sees: 10 requests in the stall, the rest fast.
func TestStallCoordinatedOmission(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("8 s timing test: not under -short or -race")
	}
	const (
		rate     = 200.0
		users    = 10
		runLen   = 8 * time.Second
		stallAt  = 2 * time.Second
		stallLen = 2 * time.Second
	)
	tg := newTarget(t)
	origin := time.Now().Add(300 * time.Millisecond)
	tg.stallFrom.Store(origin.Add(stallAt).UnixNano())
	tg.stallTo.Store(origin.Add(stallAt + stallLen).UnixNano())

	// closed model
	closedScript := loadScript(t, oneGet, map[string]string{"path": "/closed", "pacing": fmt.Sprint(users / rate)})
	r := runner.New(runner.Config{Script: closedScript, Host: tg.URL})
	rctx, rcancel := context.WithCancel(context.Background())
	defer rcancel()
	r.Start(rctx)
	// start the users just before the origin, all within a few ms
	time.Sleep(time.Until(origin.Add(-50 * time.Millisecond)))
	r.SetTargets(map[string]int{"visitor": users}, 1000)

	// open model
	openScript := loadScript(t, oneGet, map[string]string{"path": "/open"})
	var closedDelta *stats.Delta
	s, open := run(t, Config{
		Script: openScript, Host: tg.URL, Schedule: workload.Constant(rate), Origin: origin, End: runLen,
		MaxUsers: users, QueueSize: 1000,
	}, func(*Scheduler) {
		time.Sleep(time.Until(origin.Add(runLen)))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.Stop(ctx)
		closedDelta = r.Flush(time.Now())
	})
	st := s.Status()
	n := int(rate * runLen.Seconds())
	if st.Started != int64(n) || st.Dropped != 0 || tg.count("/open") != n {
		t.Fatalf("open model: started %d, dropped %d, target saw %d; want exactly %d", st.Started, st.Dropped, tg.count("/open"), n)
	}
	if st.Users > users {
		t.Errorf("open model used %d users, the pool is %d", st.Users, users)
	}
	oe := only(t, open)
	ce := only(t, closedDelta)
	if ce.Service != nil {
		t.Error("the closed model kept service times")
	}

	// expected corrected latencies from the schedule
	expected := make([]float64, n)
	for i := range expected {
		ti := float64(i) / rate
		if ti >= stallAt.Seconds() && ti < (stallAt+stallLen).Seconds() {
			expected[i] = ((stallAt + stallLen).Seconds() - ti) * 1000
		}
	}
	sort.Float64s(expected)
	for _, p := range []float64{80, 90, 95, 98, 99, 99.9} {
		want := expected[min(n-1, int(math.Floor(p/100*float64(n))))]
		got := oe.Latency.Percentile(p)
		// generous for a busy 2-core machine: 100 ms + 5%
		if math.Abs(got-want) > 100+0.05*want {
			t.Errorf("open corrected p%g = %.0f ms, want %.0f ms from the schedule", p, got, want)
		}
		t.Logf("p%-5g open corrected %7.1f ms (expected %7.1f)  open service %7.1f ms  closed %7.1f ms",
			p, got, want, oe.Service.Percentile(p), ce.Latency.Percentile(p))
	}
	// the theory's headline numbers
	if p99 := oe.Latency.Percentile(99); p99 < 1700 {
		t.Errorf("open corrected p99 %.0f ms does not show the 2 s stall", p99)
	}
	if p99 := ce.Latency.Percentile(99); p99 > 100 {
		t.Errorf("closed p99 %.0f ms: expected the stall to be hidden (10 of ~1,200 requests)", p99)
	}
	if p99 := oe.Service.Percentile(99); p99 > 100 {
		t.Errorf("open service-time p99 %.0f ms: expected it to match the closed model's", p99)
	}
	for _, p := range []float64{50, 90, 99} {
		tol := 20.0 // ms; p99 of a few ms moves more on a busy machine
		if p == 99 {
			tol = 50
		}
		if c, s := ce.Latency.Percentile(p), oe.Service.Percentile(p); math.Abs(c-s) > tol {
			t.Errorf("p%g: closed %.1f ms vs open service time %.1f ms: should match", p, c, s)
		}
	}
	// exact: one request per user was caught by the stall, in either
	// model when measured from the send
	if got := over(ce.Latency, 1000); got != users {
		t.Errorf("closed: %d requests over 1 s, want exactly %d (one per user)", got, users)
	}
	if got := over(oe.Service, 1000); got != users {
		t.Errorf("open service time: %d requests over 1 s, want exactly %d (the users in flight)", got, users)
	}
	// corrected: the iterations due in the first second of the stall
	if got := over(oe.Latency, 1000); math.Abs(float64(got)-rate) > 5 {
		t.Errorf("open corrected: %d requests over 1 s, want %g ± 5", got, rate)
	}
	if ce.Requests < 1000 || ce.Requests > 1260 {
		t.Errorf("closed model sent %d requests, want about 1,210", ce.Requests)
	}
}

func only(t *testing.T, d *stats.Delta) *stats.Entry {
	t.Helper()
	if len(d.Entries) != 1 {
		t.Fatalf("want one entry, got %d", len(d.Entries))
	}
	for _, e := range d.Entries {
		return e
	}
	return nil
}

// over counts the samples above ms (histogram bins are within 0.5%).
func over(tm *stats.Timing, ms float64) int {
	n := int64(0)
	tm.Hist.ForEach(func(v float64, c int64) {
		if v > ms {
			n += c
		}
	})
	return int(n)
}

// TestRateAccuracyEngine: a constant 1,000/s for 10 s through the engine
// (as `stampede run --arrival-rate 1000/s -t 10s` does) sends 10,000 ±
// 1% iterations, counted by the target; the statistics count exactly
// what the target received.
func TestRateAccuracyEngine(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("10 s timing test: not under -short or -race")
	}
	tg := newTarget(t)
	sc := loadScript(t, oneGet, map[string]string{"path": "/rate"})
	d := &Driver{New: func(p engine.Params) (*Scheduler, error) {
		// a pool and queue large enough that a busy CI machine delays
		// iterations (counted in their latency) but never drops them
		return New(Config{Script: sc, Host: p.Host, Schedule: workload.Constant(1000), End: p.RunTime, MaxUsers: 1000, QueueSize: 10000})
	}}
	e := engine.New(engine.Config{Driver: d})
	d.OnFinish = func() { _ = e.StopWith("arrival schedule finished") }
	if err := e.Start(context.Background(), engine.Params{Users: 1, SpawnRate: 1, RunTime: 10 * time.Second, Host: tg.URL}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-e.Done():
	case <-time.After(40 * time.Second):
		t.Fatal("the test did not end")
	}
	sum := e.Snapshot(false)
	got := tg.count("/rate")
	if math.Abs(float64(got)-10000) > 100 {
		t.Errorf("target counted %d requests, want 10,000 ± 1%%", got)
	}
	if sum.Total.Requests != int64(got) {
		t.Errorf("stats count %d requests, the target %d", sum.Total.Requests, got)
	}
	if sum.Dropped != 0 {
		t.Errorf("%d dropped", sum.Dropped)
	}
	if sum.Total.Service == nil {
		t.Error("no service times in the summary")
	}
	t.Logf("target counted %d requests; summary p99 %.2f ms corrected, %.2f ms service", got, sum.Total.Percentiles.At(99), sum.Total.Service.Percentiles.At(99))
}
