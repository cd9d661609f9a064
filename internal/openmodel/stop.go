package openmodel

import (
	"context"
	"time"
)

// closeIdle ends the idle users (their channels close) and forgets the
// queue: nothing more will be handed out.
func (s *Scheduler) closeIdle() {
	s.mu.Lock()
	s.stopping = true
	for _, c := range s.classes {
		for _, u := range c.idle {
			close(u.work)
		}
		c.idle = nil
		if c.qLen > 0 {
			s.abandoned.Add(int64(c.qLen))
			c.qLen = 0
		}
	}
	s.idleCond.Broadcast()
	s.mu.Unlock()
}

// Stop ends the schedule and the users: iterations still queued are
// abandoned (counted in Status, not as dropped), running ones get
// StopTimeout to finish (their request in flight completes and is counted
// either way). It returns when every user has ended or ctx is done, and
// reports whether they all ended.
func (s *Scheduler) Stop(ctx context.Context) bool {
	if s.cancel == nil {
		return true
	}
	defer s.cancel()
	s.pacerCancel() // stop dispatching
	s.mu.Lock()
	s.stopping = true
	users := make([]*vu, 0, len(s.all))
	for u := range s.all {
		users = append(users, u)
	}
	s.idleCond.Broadcast() // a pacer waiting for the last iterations
	s.mu.Unlock()
	<-s.pacerDone
	s.closeIdle()
	for _, u := range users {
		if s.cfg.StopTimeout <= 0 {
			u.v.Interrupt()
		} else {
			time.AfterFunc(s.cfg.StopTimeout, u.v.Interrupt)
		}
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.cfg.Log.Warn("open model: users did not stop in time; their requests in flight are not counted")
		return false
	}
	if n := s.abandoned.Load(); n > 0 {
		s.cfg.Log.Info("open model: iterations were due but not started when the test stopped", "count", n)
	}
	return true
}
