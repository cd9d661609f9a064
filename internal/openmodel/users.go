package openmodel

import (
	"runtime/debug"
	"time"

	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/script"
)

// pick chooses the class of the next iteration by smooth weighted round
// robin: exact proportions, evenly interleaved, no randomness.
func (s *Scheduler) pick() *class {
	if len(s.classes) == 1 {
		return s.classes[0]
	}
	total, best := 0, 0
	for i, c := range s.classes {
		s.wrr[i] += c.weight
		total += c.weight
		if s.wrr[i] > s.wrr[best] {
			best = i
		}
	}
	s.wrr[best] -= total
	return s.classes[best]
}

// dispatch hands an iteration due at dueNs to an idle user, a new user,
// or the queue; it reports false when the iteration had to be dropped.
func (s *Scheduler) dispatch(dueNs int64) bool {
	c := s.pick()
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return true
	}
	if n := len(c.idle); n > 0 {
		u := c.idle[n-1]
		c.idle = c.idle[:n-1]
		s.busy++
		s.mu.Unlock()
		u.work <- dueNs
		return true
	}
	if s.users < s.cfg.MaxUsers {
		s.users++
		s.busy++
		s.nextID++
		id := s.cfg.IDOffset + s.nextID
		s.wg.Add(1)
		s.mu.Unlock()
		go s.run(c, id, dueNs)
		return true
	}
	if c.qLen == len(c.queue) && c.qLen < s.cfg.QueueSize {
		c.grow(s.cfg.QueueSize)
	}
	if c.qLen < len(c.queue) && c.qLen < s.cfg.QueueSize {
		c.queue[(c.qHead+c.qLen)%len(c.queue)] = dueNs
		c.qLen++
		ql := int64(s.queuedLocked())
		s.mu.Unlock()
		s.queued.Add(1)
		if ql > s.maxQueue.Load() {
			s.maxQueue.Store(ql)
		}
		return true
	}
	s.mu.Unlock()
	return false
}

// run is one user: it is created with its first iteration, then takes
// queued iterations, or waits idle (blocked on its channel, no CPU) for
// the pacer to hand it one.
func (s *Scheduler) run(c *class, id int, first int64) {
	defer s.wg.Done()
	u := &vu{c: c, work: make(chan int64, 1)}
	u.v = s.cfg.Script.NewVU(id, c.uc, script.VUConfig{
		Client: httpclient.New(s.cfg.HTTP),
		Shard:  s.rec.Shard(id),
		Host:   s.cfg.Host,
		Seed:   s.cfg.Seed,
		Log:    s.cfg.Log,

		SetupData: s.cfg.SetupData,
		StopTest:  s.cfg.StopTest,
	})
	s.mu.Lock()
	s.all[u] = struct{}{}
	stopping := s.stopping
	s.mu.Unlock()
	ctx := s.ctx
	if stopping {
		u.v.Interrupt()
	}
	u.v.OnStart(ctx)
	due := first
	for {
		if !s.iterate(u, due) {
			s.mu.Lock()
			s.busy--
			s.signalIdle()
			s.mu.Unlock()
			break
		}
		var ok bool
		if due, ok = s.next(u); !ok {
			break
		}
	}
	u.v.OnStop(ctx)
	u.v.Close()
	s.mu.Lock()
	delete(s.all, u)
	s.users--
	s.mu.Unlock()
}

// iterate runs one iteration; false means the user must end (it called
// u.stop(), or the test is stopping).
func (s *Scheduler) iterate(u *vu, dueNs int64) (more bool) {
	defer func() {
		// a panic in this Go code (the script's are already exceptions)
		// is the user's exception and ends the user alone
		if p := recover(); p != nil {
			u.v.RecordPanic(p, debug.Stack())
			more = false
		}
	}()
	if u.v.Interrupted() || s.pacerCtx.Err() != nil {
		s.abandoned.Add(1)
		return false
	}
	if !s.cfg.Iterations.Take() {
		return true // the budget is spent: the test ends when the last iterations finish
	}
	intended := time.Unix(0, dueNs)
	if s.cfg.OnIteration != nil {
		s.cfg.OnIteration(intended, time.Now())
	}
	s.started.Add(1)
	u.v.RunIteration(s.ctx, intended)
	s.cfg.Iterations.Finish()
	return !u.v.Stopped() && !u.v.Interrupted()
}

// next returns the user's next iteration: a queued one, or one the pacer
// hands it after it went idle. ok is false when the user must end.
func (s *Scheduler) next(u *vu) (int64, bool) {
	c := u.c
	s.mu.Lock()
	if s.stopping {
		s.busy--
		s.signalIdle()
		s.mu.Unlock()
		return 0, false
	}
	if c.qLen > 0 {
		due := c.queue[c.qHead]
		c.qHead = (c.qHead + 1) % len(c.queue)
		c.qLen--
		s.mu.Unlock()
		return due, true
	}
	s.busy--
	s.signalIdle()
	c.idle = append(c.idle, u)
	s.mu.Unlock()
	due, ok := <-u.work
	return due, ok
}

func (s *Scheduler) signalIdle() {
	if s.busy == 0 {
		s.idleCond.Broadcast()
	}
}
