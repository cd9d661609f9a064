package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/stampede-load/stampede/internal/output"
)

// watch marks silent workers missing and moves their users.
func (m *Master) watch(ctx context.Context) {
	defer close(m.monDone)
	t := time.NewTicker(m.cfg.MissingAfter / 6)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			m.checkMissing(now)
		}
	}
}

func (m *Master) checkMissing(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	moved := false
	for _, w := range m.workers {
		if w.missing && now.Sub(w.lostAt) > m.cfg.ForgetAfter {
			m.forgetLocked(w)
			continue
		}
		if w.missing || now.Sub(w.lastSeen) <= m.cfg.MissingAfter {
			continue
		}
		w.missing, w.lostAt = true, now
		reason := fmt.Sprintf("no message for %s", m.cfg.MissingAfter)
		if w.lastErr != "" {
			reason += " (" + w.lastErr + ")"
		}
		if w.conn != nil {
			w.conn.cancel()
			w.conn = nil
		}
		users := 0
		if w.hb != nil {
			users = int(w.hb.Users)
		}
		m.cfg.Log.Warn("worker missing", "worker", w.id, "region", w.region, "host", w.hostname, "last_seen", w.lastSeen.Format(time.RFC3339Nano), "reason", reason)
		if m.test.active {
			if len(m.lost) < maxLost {
				m.lost = append(m.lost, output.LostWorker{ID: w.id, Region: w.region, Host: w.hostname, Users: users,
					LastHeartbeat: w.lastSeen, LostAt: now, Reason: reason})
			} else if m.lostOmitted++; m.lostOmitted == 1 {
				m.cfg.Log.Warn("more workers were lost than the summary lists", "listed", maxLost)
			}
			if !m.test.stopping && w.assigned != nil {
				moved = true
			}
		}
		w.assigned = nil
		m.notifyLocked()
	}
	if moved {
		m.rebalanceLocked("worker missing")
	}
	m.checkIterationsLocked() // a lost worker's part of the iterations is not waited for
}
