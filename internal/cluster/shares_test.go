package cluster

import (
	"testing"

	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/runner"
)

// The shares given at a test's start: partitions in id order, iterations
// in proportion to users, nothing for a worker that joins or restarts.
func TestShareOut(t *testing.T) {
	m := &Master{cfg: MasterConfig{Log: quietLog()}, workers: map[string]*workerState{}}
	for _, id := range []string{"b", "a", "c"} {
		m.workers[id] = &workerState{id: id, incarnation: id + "-1", conn: &masterConn{}}
	}
	ended := make(chan string, 2)
	m.cfg.OnTestEnd = func(r string) { ended <- r }
	m.test = testState{id: 1, active: true, params: engine.Params{Users: 4, Iterations: 10}, classes: []runner.Class{{Name: "v", Weight: 1}}}
	m.shareOutLocked()
	got := map[string][2]int64{}
	var total int64
	for id, w := range m.workers {
		i, it := m.shareOf(w)
		got[id] = [2]int64{int64(i), it}
		total += it
	}
	// 4 users over 3 workers: 2, 1, 1; 10 iterations: 5, 2, 2 and the
	// remainder to the first.
	if got["a"] != [2]int64{0, 6} || got["b"] != [2]int64{1, 2} || got["c"] != [2]int64{2, 2} || total != 10 || m.test.shareCount != 3 {
		t.Errorf("shares %v, count %d", got, m.test.shareCount)
	}
	// A restarted worker (another incarnation) and a newcomer get nothing.
	m.workers["b"].incarnation = "b-2"
	m.workers["d"] = &workerState{id: "d", incarnation: "d-1", conn: &masterConn{}}
	for _, id := range []string{"b", "d"} {
		if i, it := m.shareOf(m.workers[id]); i != -1 || it != 0 {
			t.Errorf("%s: share %d, %d iterations", id, i, it)
		}
	}
	// The test ends by iterations when every holder is done; b's process
	// with its part is gone.
	m.workers["a"].share.iterDone = true
	m.checkIterationsLocked()
	if m.test.ending {
		t.Fatal("the test ended before c was done")
	}
	m.workers["c"].share.iterDone = true
	m.checkIterationsLocked()
	m.checkIterationsLocked()
	if r := <-ended; r != engine.ReasonIterations || len(ended) != 0 {
		t.Errorf("ended with %q, %d more", r, len(ended))
	}
}
