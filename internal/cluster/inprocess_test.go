package cluster

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/internal/workload"
)

// workerRequests is the request count of one worker's own statistics.
func workerRequests(s *stats.Summary, id string) int64 {
	for _, w := range s.WorkerTotals {
		if w.Worker == id {
			return w.Total.Requests
		}
	}
	return -1
}

// TestInProcessStartRetargetLoseStop: three workers run a test that is
// retargeted, loses a worker (its users move to the others) and gets a
// new one; every request the target saw is counted exactly, in total and
// per worker, and a second test runs on the same master.
func TestInProcessStartRetargetLoseStop(t *testing.T) {
	tg := newCountingTarget(t, 0)
	c := newTestCluster(t, MasterConfig{Script: loadScript(t, inProcessScript)})
	for _, id := range []string{"w0", "w1", "w2"} {
		c.startWorker(id, "eu", "")
		// Join order sets user ids, and so the target's per-worker count.
		waitUntil(t, 5*time.Second, id+" to connect", func() bool { return c.m.Connected() == int(id[1]-'0')+1 })
	}
	if err := c.eng.Start(t.Context(), engine.Params{Users: 6, SpawnRate: 100, Host: tg.URL}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "6 users", func() bool { return c.m.Users() == 6 && !c.m.Spawning() })
	if err := c.eng.Start(t.Context(), engine.Params{Users: 9, SpawnRate: 100, Host: tg.URL}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "9 users", func() bool { return c.m.Users() == 9 && !c.m.Spawning() })

	c.loseWorker("w1")
	waitUntil(t, 5*time.Second, "w1 missing and its users moved", func() bool {
		lost := c.m.Lost()
		return len(lost) == 1 && lost[0].ID == "w1" && c.m.Users() == 9 && !c.m.Spawning()
	})
	c.startWorker("w3", "us", "")
	waitUntil(t, 5*time.Second, "w3 to take users", func() bool {
		for _, w := range c.m.Workers() {
			if w.ID == "w3" && w.Users > 0 {
				return c.m.Users() == 9
			}
		}
		return false
	})
	time.Sleep(300 * time.Millisecond)
	if err := c.eng.Stop(); err != nil {
		t.Fatal(err)
	}
	sum := c.eng.Snapshot(true)
	if sum.Total.Requests != tg.total.Load() || sum.Total.Requests == 0 {
		t.Errorf("master counted %d requests, the target saw %d", sum.Total.Requests, tg.total.Load())
	}
	for i, id := range []string{"w0", "w1", "w2", "w3"} {
		if got, want := workerRequests(sum, id), tg.worker(int64(i)); got != want || want == 0 {
			t.Errorf("%s: master counted %d, target saw %d", id, got, want)
		}
	}
	if len(sum.Regions) != 2 {
		t.Errorf("regions: %+v", sum.Regions)
	}
	var buf bytes.Buffer
	if err := output.EncodeJSON(&buf, &output.Document{Stats: sum, Workers: c.m.Workers(), Lost: c.m.Lost()}); err != nil {
		t.Fatal(err)
	}

	// A second test on the same master and workers.
	before := tg.total.Load()
	if err := c.eng.Start(t.Context(), engine.Params{Users: 3, SpawnRate: 100, Host: tg.URL}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "3 users", func() bool { return c.m.Users() == 3 && !c.m.Spawning() })
	time.Sleep(300 * time.Millisecond)
	if err := c.eng.Stop(); err != nil {
		t.Fatal(err)
	}
	if got, want := c.eng.Snapshot(false).Total.Requests, tg.total.Load()-before; got != want || want == 0 {
		t.Errorf("second test: master counted %d, target saw %d", got, want)
	}
	if lost := c.m.Lost(); len(lost) != 0 {
		t.Errorf("the second test lost %+v", lost)
	}
}

// TestInProcessForgetMissingWorkers: a long-running master lists a
// missing worker for ForgetAfter, then forgets it.
func TestInProcessForgetMissingWorkers(t *testing.T) {
	c := newTestCluster(t, MasterConfig{Script: loadScript(t, inProcessScript), ForgetAfter: 500 * time.Millisecond})
	c.startWorker("gone", "eu", "")
	c.startWorker("stays", "eu", "")
	waitUntil(t, 5*time.Second, "two workers", func() bool { return c.m.Connected() == 2 })
	c.loseWorker("gone")
	waitUntil(t, 5*time.Second, "gone to be missing", func() bool {
		ws := c.m.Workers()
		return len(ws) == 2 && ws[0].ID == "gone" && ws[0].State == output.WorkerMissing
	})
	waitUntil(t, 5*time.Second, "gone to be forgotten", func() bool {
		ws := c.m.Workers()
		return len(ws) == 1 && ws[0].ID == "stays"
	})
}

// TestInProcessMaxWorkers: workers over --max-workers are refused with a
// reason naming the flag; one that leaves frees its place once missing.
func TestInProcessMaxWorkers(t *testing.T) {
	c := newTestCluster(t, MasterConfig{Script: loadScript(t, inProcessScript), MaxWorkers: 2})
	c.startWorker("a", "eu", "")
	c.startWorker("b", "eu", "")
	waitUntil(t, 5*time.Second, "two workers", func() bool { return c.m.Connected() == 2 })
	err := runWorker(t, WorkerConfig{MasterAddr: c.addr, ID: "c", Version: "v1"})
	if err == nil || !strings.Contains(err.Error(), "--max-workers") {
		t.Fatalf("third worker: %v, want a refusal naming --max-workers", err)
	}
	c.loseWorker("a")
	waitUntil(t, 5*time.Second, "a to be missing", func() bool { return c.m.Workers()[0].State == output.WorkerMissing })
	c.startWorker("c", "eu", "")
	waitUntil(t, 5*time.Second, "c to connect", func() bool { return c.m.Connected() == 2 })
}

// TestInProcessOpenModelLimitsFollowRebalance: when a worker is lost, the
// survivor takes its share of the rate and of --max-users/--max-queue.
// Before, it kept its old half of the pool and dropped iterations the
// cluster's cap allowed (2 workers, 200/s, --max-users 80: 299 dropped).
func TestInProcessOpenModelLimitsFollowRebalance(t *testing.T) {
	// 40/s at 1.25 s a request needs 50 users: more than half of 80 (a
	// low rate keeps the test light under -race).
	tg := newCountingTarget(t, 1250*time.Millisecond)
	open := &OpenModel{Schedule: workload.ScheduleSpec{Constant: true, Start: 40}, MaxUsers: 80, MaxQueue: 8}
	c := newTestCluster(t, MasterConfig{Script: loadScript(t, inProcessScript), Open: open})
	c.startWorker("w0", "eu", "")
	c.startWorker("w1", "eu", "")
	waitUntil(t, 5*time.Second, "two workers", func() bool { return c.m.Connected() == 2 })
	if err := c.eng.Start(t.Context(), engine.Params{Users: 80, SpawnRate: 1, Host: tg.URL}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	// The start's catch-up burst may drop a few under -race; what counts
	// is the time after the loss.
	before := c.eng.Snapshot(false).Dropped
	c.loseWorker("w1")
	waitUntil(t, 5*time.Second, "w1 to be lost", func() bool { return len(c.m.Lost()) == 1 })
	time.Sleep(2 * time.Second)
	if users := c.m.Users(); users <= 40 {
		t.Errorf("w0 runs %d users, not more than its old share of --max-users", users)
	}
	if err := c.eng.Stop(); err != nil {
		t.Fatal(err)
	}
	// The users check above is what fails on the old code (the survivor
	// stays at 40). Drops are only logged: on a loaded machine the pool's
	// catch-up after the rebalance drops a few (14-38 seen) where the old
	// code dropped 65-82, too close for a bound. Likewise the lost
	// worker's requests since its last report are not counted, so the
	// master may count fewer than the target saw, never more.
	sum := c.eng.Snapshot(false)
	t.Logf("%d iterations dropped after the loss", sum.Dropped-before)
	if sum.Total.Requests > tg.total.Load() {
		t.Errorf("master counted %d requests, target saw only %d", sum.Total.Requests, tg.total.Load())
	}
}

// TestRefusalsLoggedOnceASecond: a flood of refused workers makes one log
// line a second, which counts the ones in between; worker-supplied
// strings are cut.
func TestRefusalsLoggedOnceASecond(t *testing.T) {
	var buf bytes.Buffer
	m := &Master{cfg: MasterConfig{Log: slog.New(slog.NewTextHandler(&buf, nil))}}
	long := strings.Repeat("w", 1<<20)
	for range 1000 {
		m.logRefusal("worker refused", long, "eu", "the master already has 2 workers")
	}
	time.Sleep(1100 * time.Millisecond)
	m.logRefusal("worker refused", "last", "eu", "the master already has 2 workers")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "not_logged_since=999") || len(lines[0]) > 1024 {
		t.Fatalf("log:\n%s", stats.Cut(buf.String(), 4096))
	}
}

// TestInProcessWorkerGoodbye: a worker stopped cleanly (SIGTERM, Ctrl-C)
// says goodbye: the master lists it as stopped at once, not missing and
// not lost, moves its users, and has every request it made.
func TestInProcessWorkerGoodbye(t *testing.T) {
	tg := newCountingTarget(t, 0)
	c := newTestCluster(t, MasterConfig{Script: loadScript(t, inProcessScript)})
	c.startWorker("w0", "eu", "")
	waitUntil(t, 5*time.Second, "w0 to connect", func() bool { return c.m.Connected() == 1 })
	c.startWorker("w1", "eu", "")
	waitUntil(t, 5*time.Second, "w1 to connect", func() bool { return c.m.Connected() == 2 })
	if err := c.eng.Start(t.Context(), engine.Params{Users: 4, SpawnRate: 100, Host: tg.URL}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "4 users", func() bool { return c.m.Users() == 4 && !c.m.Spawning() })
	time.Sleep(300 * time.Millisecond)

	stopped := time.Now()
	c.stopWorker("w1")
	var w1 output.WorkerInfo
	waitUntil(t, 5*time.Second, "w1 stopped and its users moved", func() bool {
		for _, w := range c.m.Workers() {
			if w.ID == "w1" {
				w1 = w
			}
		}
		return w1.State == output.WorkerStopped && w1.LeftAt != nil && c.m.Users() == 4 && !c.m.Spawning()
	})
	if took := time.Since(stopped); took >= testMissingAfter {
		t.Errorf("w1 was marked stopped after %v; a goodbye should not wait for the %v of a missing worker", took, testMissingAfter)
	}
	if w1.LostAt != nil || w1.Users != 0 {
		t.Errorf("w1 = %+v; want no lost_at and no users", w1)
	}
	time.Sleep(testMissingAfter + 500*time.Millisecond) // past the time it would have gone missing
	for _, w := range c.m.Workers() {
		if w.ID == "w1" && w.State != output.WorkerStopped {
			t.Errorf("w1 is %q later, want it to stay stopped", w.State)
		}
	}
	if lost := c.m.Lost(); len(lost) != 0 {
		t.Errorf("lost workers %+v; a worker that said goodbye is not lost", lost)
	}
	if err := c.eng.Stop(); err != nil {
		t.Fatal(err)
	}
	sum := c.eng.Snapshot(false)
	if got, want := workerRequests(sum, "w1"), tg.worker(1); got != want || want == 0 {
		t.Errorf("w1: master counted %d, target saw %d (its last report goes out before the goodbye)", got, want)
	}
	if sum.Total.Requests != tg.total.Load() {
		t.Errorf("master counted %d requests, the target saw %d", sum.Total.Requests, tg.total.Load())
	}

	// It comes back under the same name: running again, no longer stopped.
	c.startWorker("w1", "eu", "")
	waitUntil(t, 5*time.Second, "w1 to rejoin", func() bool { return c.m.Connected() == 2 })
	for _, w := range c.m.Workers() {
		if w.ID == "w1" && (w.State == output.WorkerStopped && w.LeftAt != nil) {
			t.Errorf("rejoined w1 = %+v", w)
		}
	}
}
