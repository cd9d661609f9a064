package openmodel

import (
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"time"
)

// Pacer precision: the longest a runtime timer is assumed to be late,
// and how much longer than that the pacer may sleep in the kernel, where
// it cannot see a stop or a rebalance.
const (
	maxSlack = 2 * time.Millisecond
	maxSpin  = 500 * time.Microsecond
	// earlyOK: an iteration due this soon is started now rather than
	// after a sleep whose own cost (a system call, a thread switch) is
	// about as long; its latency is still measured from its intended
	// start (a start up to this much early counts as on time).
	earlyOK = 20 * time.Microsecond
)

// pacer is the only goroutine that computes the schedule. Iteration k of
// this scheduler (k = 0, 1, ...) is due when its cumulative count
// base + share·(Count(t) − Count(t0)) reaches k + phase; t0 and base move
// when the share changes, so a rebalance takes effect at once without
// losing or repeating iterations.
func (s *Scheduler) pacer(startAt time.Time) {
	defer close(s.pacerDone)
	defer func() {
		// a bug here must not take the process and the results with it:
		// no more iterations start, the test ends at its run time or stop
		if p := recover(); p != nil {
			s.cfg.Log.Error("internal error in the open-model pacer: no more iterations start; the test goes on and its results are written; please report it",
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			s.rec.Shard(0).Exception(fmt.Sprintf("internal error in the open-model pacer: panic: %v", p), "")
			s.closeIdle()
		}
	}()
	sched := s.cfg.Schedule
	share := s.share
	t0 := math.Max(0, startAt.Sub(s.origin).Seconds()) // a late joiner starts from now
	c0 := sched.Count(t0)
	base := 0.0
	k := 0.0
	end := math.Inf(1)
	if s.cfg.End > 0 {
		end = s.cfg.End.Seconds()
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	// slack is how early the pacer sets its runtime timer, from the
	// lateness of past wake-ups; the last stretch before a due time is
	// slept in the kernel (preciseSleep), so iterations start within tens
	// of microseconds of their schedule instead of a timer tick late.
	slack := time.Duration(0)
	handed := false // work was handed out since the pacer last yielded
	var (
		lastWarn    time.Time
		warnDropped int64
		warnQueued  int64
		batch       int64
	)
	originNs := s.origin.UnixNano()
	rebase := func(sh float64) {
		// What was due so far stays due (a pacer behind its schedule
		// still sends its backlog at once); the new share applies from
		// now on.
		t := math.Max(t0, time.Since(s.origin).Seconds())
		base += share * (sched.Count(t) - c0)
		t0, c0, share = t, sched.Count(t), sh
		s.mu.Lock()
		s.share = sh
		s.mu.Unlock()
	}
	for {
		// when is iteration k due?
		due, ok := sched.TimeOf(c0 + (k+s.cfg.Phase-base)/share)
		if !ok {
			s.scheduleEnded.Store(true)
			break
		}
		if due >= end {
			break
		}
		dueNs := originNs + int64(due*1e9)
		now := time.Now()
		if wait := time.Duration(dueNs - now.UnixNano()); wait > earlyOK {
			if handed {
				// let the users just handed work start now, on this
				// processor, rather than when the runtime notices that
				// the pacer went to sleep
				handed = false
				runtime.Gosched()
				continue
			}
			s.flushDrops(&batch)
			s.rateNow.Store(math.Float64bits(share * sched.Rate(now.Sub(s.origin).Seconds())))
			if now.Sub(lastWarn) >= s.cfg.WarnEvery {
				lastWarn, warnDropped, warnQueued = s.warn(now, lastWarn, warnDropped, warnQueued)
			}
			select { // a short sleep below cannot see these
			case <-s.pacerCtx.Done():
				s.closeIdle()
				return
			case sh := <-s.ctl:
				rebase(sh)
				continue
			default:
			}
			if wait <= slack+maxSpin {
				// close enough: a runtime timer would wake up late by
				// about the slack; sleep in the kernel instead, which
				// keeps its precision (hrtimers) and costs no CPU
				preciseSleep(wait)
				continue
			}
			sleep := wait - slack
			timer.Reset(sleep)
			select {
			case <-s.pacerCtx.Done():
				s.closeIdle()
				return
			case sh := <-s.ctl:
				timer.Stop() // Go ≥ 1.23: no stale tick to drain
				rebase(sh)
			case <-timer.C:
				// learn how late timers fire here (about 1 ms on Linux,
				// where the runtime's poller sleeps in milliseconds)
				over := time.Since(now) - sleep
				slack += (min(max(over, 0), maxSlack) - slack) / 8
			}
			continue
		}
		if int64(k)%1024 == 0 {
			// behind the schedule for long: still see stops and rebalances
			if s.pacerCtx.Err() != nil {
				s.closeIdle()
				return
			}
			select {
			case sh := <-s.ctl:
				rebase(sh)
				continue
			default:
			}
		}
		if !s.dispatch(dueNs) {
			batch++
		}
		handed = true
		k++
	}
	s.flushDrops(&batch)
	s.rateNow.Store(0)
	s.finished.Store(true)
	// the schedule is over: let started iterations finish, then report
	s.mu.Lock()
	for s.busy > 0 || s.queuedLocked() > 0 {
		if s.pacerCtx.Err() != nil {
			break
		}
		s.idleCond.Wait()
	}
	s.mu.Unlock()
	s.closeIdle()
	if s.pacerCtx.Err() == nil && s.cfg.OnFinish != nil {
		go s.cfg.OnFinish()
	}
}

func (s *Scheduler) queuedLocked() int {
	n := 0
	for _, c := range s.classes {
		n += c.qLen
	}
	return n
}

func (s *Scheduler) flushDrops(batch *int64) {
	if *batch > 0 {
		s.rec.Shard(0).Dropped(*batch)
		s.dropped.Add(*batch)
		*batch = 0
	}
}

// warn logs, at most once per WarnEvery, that iterations were dropped or
// had to queue since the last warning.
func (s *Scheduler) warn(now, last time.Time, lastDropped, lastQueued int64) (time.Time, int64, int64) {
	d, q := s.dropped.Load(), s.queued.Load()
	if d == lastDropped && q == lastQueued {
		return last, d, q
	}
	since := "since the start"
	if !last.IsZero() {
		since = fmt.Sprintf("in the last %s", now.Sub(last).Round(time.Second))
	}
	s.mu.Lock()
	maxUsers, queueSize := s.cfg.MaxUsers, s.cfg.QueueSize
	s.mu.Unlock()
	if d > lastDropped {
		s.cfg.Log.Warn("open model: iterations dropped: every user is busy and the queue is full; raise --max-users (or the target is too slow for this rate)",
			"dropped", d-lastDropped, "when", since, "max_users", maxUsers, "queue", queueSize)
	} else {
		s.cfg.Log.Warn("open model: iterations are queueing: every user is busy (their wait counts in the response times); raise --max-users if this is the load generator's limit",
			"queued", q-lastQueued, "when", since, "max_users", maxUsers)
	}
	return now, d, q
}
