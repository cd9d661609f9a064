package cluster

import (
	"strings"

	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
)

// When a test starts, the master gives every worker it places then a
// share of what must not be used twice in the cluster: a partition of
// the script's shared.queue items and a part of -i/--iterations. A share
// belongs to the worker process (its incarnation) that received it. A
// worker that joins later, or restarts, gets no items and no iterations,
// so an item is never handed out twice and an iteration never runs twice
// in the whole cluster; with a stable set of workers every item and every
// iteration is used. A lost worker's remaining share is not redone.

// share is a worker's share of the current test.
type share struct {
	test        uint64
	incarnation string
	index       int
	// iterations is the worker's part of -i (meaningful when the test has
	// one); iterDone is set when the worker reported it done.
	iterations int64
	iterDone   bool
}

// shareOutLocked gives the workers about to be placed at the start of a
// test their shares: partitions in the order of their ids, iterations in
// proportion to the users they will get (equally in the open model).
func (m *Master) shareOutLocked() {
	ws := m.eligibleLocked()
	m.test.shareCount = len(ws)
	if len(ws) == 0 {
		return
	}
	weights := make([]int64, len(ws))
	var sum int64
	plan := m.placeLocked(ws)
	for i, w := range ws {
		weights[i] = 1
		if m.test.open == nil {
			weights[i] = 0
			for _, n := range plan[w.id] {
				weights[i] += int64(n)
			}
		}
		sum += weights[i]
	}
	if sum == 0 {
		for i := range weights {
			weights[i] = 1
		}
		sum = int64(len(ws))
	}
	n := m.test.params.Iterations
	given := int64(0)
	for i, w := range ws {
		it := n * weights[i] / sum
		given += it
		w.share = share{test: m.test.id, incarnation: w.incarnation, index: i, iterations: it}
	}
	for i := 0; given < n; i = (i + 1) % len(ws) { // the remainder, one each
		if weights[i] > 0 {
			ws[i].share.iterations++
			given++
		}
	}
}

// holdsShare reports whether this process of w (its incarnation) was
// given a share at the start of the current test.
func (m *Master) holdsShare(w *workerState) bool {
	return w.share.test == m.test.id && w.share.incarnation == w.incarnation
}

// shareOf is w's partition index and iterations for the current test:
// none (-1, 0) unless this process of w was given a share at the start.
func (m *Master) shareOf(w *workerState) (index int, iterations int64) {
	if m.holdsShare(w) {
		return w.share.index, w.share.iterations
	}
	return -1, 0
}

// fillShare puts w's share into its Prepare.
func (m *Master) fillShare(w *workerState, p *pb.Prepare) {
	index, iterations := m.shareOf(w)
	p.PartitionIndex, p.PartitionCount = int32(index), int32(m.test.shareCount)
	if m.test.params.Iterations > 0 {
		p.Iterations = &iterations
	}
	if d := m.test.params.SetupData; d != nil {
		p.SetupData = d.JSON
	}
}

// testEndLocked handles a worker's request to end the test.
func (m *Master) testEndLocked(w *workerState, te *pb.TestEnd) {
	if te.TestId != m.test.id || !m.test.active || m.test.stopping {
		return
	}
	if r := te.StopTestReason; r != "" {
		r = strings.ToValidUTF8(stats.Cut(r, script.MaxStopReason), "?") // a worker's, bounded as the script bounds it
		m.cfg.Log.Info("a script stopped the test", "worker", w.id, "region", w.region, "reason", r)
		m.endTestLocked(engine.StopTestReason(r))
		return
	}
	if te.IterationsDone && m.holdsShare(w) {
		w.share.iterDone = true
		m.checkIterationsLocked()
	}
}

// checkIterationsLocked ends a test with -i once every worker that holds
// a part of the iterations has done it, or is lost or failed.
func (m *Master) checkIterationsLocked() {
	if !m.test.active || m.test.stopping || m.test.params.Iterations <= 0 {
		return
	}
	for _, w := range m.workers {
		if m.holdsShare(w) && !w.share.iterDone && !w.missing && w.failedTest != m.test.id {
			return
		}
	}
	m.endTestLocked(engine.ReasonIterations)
}

// endTestLocked asks the engine, once per test, to stop it.
func (m *Master) endTestLocked(reason string) {
	if m.test.ending || m.cfg.OnTestEnd == nil {
		return
	}
	m.test.ending = true
	go m.cfg.OnTestEnd(reason)
}
