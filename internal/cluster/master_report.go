package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/stats"
)

// admitLocked makes room for one more worker, or says why there is none:
// at most MaxWorkers are connected (or about to reconnect), and at most
// twice as many are known, the oldest missing one being forgotten first.
func (m *Master) admitLocked() error {
	active := 0
	var oldest *workerState
	for _, w := range m.workers {
		switch {
		case !w.missing:
			active++
		case oldest == nil || w.lostAt.Before(oldest.lostAt):
			oldest = w
		}
	}
	if active >= m.cfg.MaxWorkers {
		return fmt.Errorf("the master already has %d workers, its --max-workers; raise it or stop some workers", m.cfg.MaxWorkers)
	}
	if len(m.workers) >= 2*m.cfg.MaxWorkers && oldest != nil {
		m.forgetLocked(oldest)
	}
	return nil
}

// forgetLocked drops a missing worker from the lists.
func (m *Master) forgetLocked(w *workerState) {
	delete(m.workers, w.id)
	m.cfg.Log.Info("gone worker forgotten", "worker", w.id, "region", w.region, "since", w.lostAt.Format(time.RFC3339), "clean_shutdown", w.left)
}

// decodedReport is a report's delta checked and decoded (limits.go,
// codec.go), which needs none of the master's state: it is done before the
// master's lock is taken, and the errors are reported in the order the
// report is applied (a report sent again is acknowledged unchecked).
type decodedReport struct {
	checkErr  error
	d         *stats.Delta
	cost      int
	decodeErr error
}

func decodeReport(p *pb.Delta, maxNames int) *decodedReport {
	if err := checkReport(p, maxNames); err != nil {
		return &decodedReport{checkErr: err}
	}
	if p == nil {
		return &decodedReport{}
	}
	d, cost, err := decodeDelta(p)
	return &decodedReport{d: d, cost: cost, decodeErr: err}
}

// reportLocked applies one report (dec is its delta decoded): acknowledged
// at once, then queued for Collect.
func (m *Master) reportLocked(w *workerState, c *masterConn, r *pb.Report, dec *decodedReport) error {
	ack := func() { c.send(&pb.MasterMessage{Msg: &pb.MasterMessage_Ack{Ack: &pb.Ack{Seq: w.lastSeq}}}) }
	if r.Seq <= w.lastSeq {
		ack() // a report sent again after a reconnect: already applied
		return nil
	}
	if dec.checkErr != nil {
		return dec.checkErr
	}
	if r.Seq != w.lastSeq+1 && w.lastSeq != 0 {
		m.cfg.Log.Warn("reports missing from a worker", "worker", w.id, "expected_seq", w.lastSeq+1, "got_seq", r.Seq)
	}
	w.lastSeq = r.Seq
	ack()
	if r.TestId != m.test.id || !m.test.active || r.Delta == nil {
		if r.Delta != nil && len(r.Delta.Entries) > 0 {
			m.cfg.Log.Warn("statistics of a test that is over were dropped", "worker", w.id, "test", r.TestId)
		}
		return nil
	}
	if dec.decodeErr != nil {
		return invalid("report %d: %v", r.Seq, dec.decodeErr)
	}
	m.foldLocked(dec.d)
	m.pending = append(m.pending, originDelta{m.originLocked(w), dec.d})
	m.pendingCost += dec.cost
	return nil
}

// originLocked is where a worker's statistics go: its region and its own
// table, or the overflow ones once a test has maxRegions regions or twice
// --max-workers workers.
func (m *Master) originLocked(w *workerState) stats.Origin {
	t := &m.test
	if t.regions == nil {
		t.regions, t.workers = map[string]bool{}, map[string]bool{}
	}
	o := stats.Origin{Region: w.region, Worker: w.id}
	if o.Region != "" && !t.regions[o.Region] {
		if len(t.regions) >= maxRegions {
			o.Region = otherRegion
		}
		t.regions[o.Region] = true
	}
	if !t.workers[o.Worker] {
		if len(t.workers) >= 2*m.cfg.MaxWorkers {
			o.Worker = otherWorkers
		}
		t.workers[o.Worker] = true
	}
	return o
}

// foldLocked counts the failures and exceptions beyond the test's bounds
// under one overflow row each.
func (m *Master) foldLocked(d *stats.Delta) {
	t := &m.test
	if t.errors == nil {
		t.errors, t.exceptions = map[stats.ErrorKey]bool{}, map[stats.ExceptionKey]bool{}
	}
	fold(d.Errors, t.errors, maxErrorKeys, otherErrorKey)
	fold(d.Exceptions, t.exceptions, maxExceptionKeys, otherExceptionKey)
}

// fold moves the counts of rows beyond the first limit keys seen to the
// other row.
func fold[K comparable](rows map[K]int64, seen map[K]bool, limit int, other K) {
	for k, n := range rows {
		switch {
		case seen[k]:
		case len(seen) < limit:
			seen[k] = true
		default:
			delete(rows, k)
			rows[other] = stats.AddCounts(rows[other], n)
			seen[other] = true
		}
	}
}

// waitPending holds back a worker's next report while the reports queued
// for Collect are over maxPendingCost: the worker's stream slows down
// instead of the master's memory growing. The worker counts as heard
// meanwhile.
func (m *Master) waitPending(ctx context.Context, w *workerState, c *masterConn) {
	for {
		m.mu.Lock()
		over := m.pendingCost > m.pendingLimit && m.test.active
		if over && w.conn == c {
			w.lastSeen = time.Now()
		}
		ch := m.changed
		m.mu.Unlock()
		if !over {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-ch:
		case <-time.After(250 * time.Millisecond):
		}
	}
}
