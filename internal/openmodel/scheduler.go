// Package openmodel runs the open workload model: iterations (one task
// run each) start at the times an arrival-rate schedule says, whatever
// the earlier ones are doing, on a pool of virtual users created as they
// are needed, up to a maximum. Latency is measured from each iteration's
// intended start, so a server that stalls cannot slow the load down and
// hide the stall (coordinated omission).
//
// One goroutine, the pacer, computes the schedule: it asks the
// workload.Schedule when the next iteration is due, sleeps until then,
// and hands every iteration due by the time it wakes to an idle user (a
// late wake-up sends a burst that catches up, each iteration keeping its
// own intended time). When no user is idle and the pool is full, due
// iterations wait in a bounded queue (their wait counts in their
// latency); beyond that bound they are dropped, counted and reported.
package openmodel

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
)

// Scheduler runs one open-model test in this process.
type Scheduler struct {
	cfg     Config
	rec     *stats.Recorder
	classes []*class
	wrr     []int // smooth weighted round robin state, per class

	// ctx is the users' context: cancelled only once they have ended, so
	// requests in flight at a stop complete and are counted.
	ctx    context.Context
	cancel context.CancelFunc
	// pacerCtx stops the pacer.
	pacerCtx    context.Context
	pacerCancel context.CancelFunc
	// ctl changes the share while running.
	ctl       chan float64
	pacerDone chan struct{}
	wg        sync.WaitGroup
	origin    time.Time

	mu       sync.Mutex
	users    int // users created (alive)
	busy     int
	nextID   int
	stopping bool
	all      map[*vu]struct{}
	share    float64
	idleCond *sync.Cond // signalled when busy drops to 0

	// counters (atomic: read by Status at any time)
	started   atomic.Int64
	dropped   atomic.Int64
	abandoned atomic.Int64
	queued    atomic.Int64 // iterations that had to wait in the queue
	maxQueue  atomic.Int64
	rateNow   atomic.Uint64 // float64 bits: the current target rate of this scheduler
	finished  atomic.Bool
	// scheduleEnded: the schedule itself ran out (a ramp's last stage),
	// not Config.End.
	scheduleEnded atomic.Bool
}

// class is the users and queue of one user class.
type class struct {
	uc     *script.UserClass
	weight int
	idle   []*vu   // LIFO: the most recently used users keep their connections warm
	queue  []int64 // ring buffer of intended start times (unix ns)
	qHead  int
	qLen   int
}

// grow doubles the queue's ring buffer, up to limit: a large --max-queue
// costs memory only when iterations really queue.
func (c *class) grow(limit int) {
	q := make([]int64, min(max(2*len(c.queue), 16), limit))
	for i := 0; i < c.qLen; i++ {
		q[i] = c.queue[(c.qHead+i)%len(c.queue)]
	}
	c.queue, c.qHead = q, 0
}

type vu struct {
	v    *script.VU
	c    *class
	work chan int64 // capacity 1: the pacer never blocks handing out work
}

// Start starts the pacer. The scheduler stops when ctx ends or Stop is
// called.
func (s *Scheduler) Start(ctx context.Context) {
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.pacerCtx, s.pacerCancel = context.WithCancel(s.ctx)
	now := time.Now()
	s.origin = s.cfg.Origin
	if s.origin.IsZero() {
		s.origin = now
	}
	s.pacerDone = make(chan struct{})
	if s.cfg.CatchUp && s.origin.Before(now) {
		now = s.origin
	}
	go s.pacer(now)
}

// Origin is time zero of the schedule.
func (s *Scheduler) Origin() time.Time { return s.origin }

// Recorder is where the iterations' requests are recorded.
func (s *Scheduler) Recorder() *stats.Recorder { return s.rec }

// Flush returns the statistics recorded since the previous flush.
func (s *Scheduler) Flush(now time.Time) *stats.Delta { return s.rec.Flush(now) }

// SetShare changes this scheduler's fraction of the rate from now on (a
// master rebalancing the rate when workers join or leave).
func (s *Scheduler) SetShare(share float64) error {
	if !(share > 0) || share > 1 {
		return fmt.Errorf("openmodel: share %g is not in (0, 1]", share)
	}
	for {
		select {
		case s.ctl <- share:
			return nil
		default:
			select { // replace a change not yet applied
			case <-s.ctl:
			default:
			}
		}
	}
}

// SetLimits changes the pool's and the queue's bounds from now on (a
// master giving a worker its new share of --max-users and --max-queue).
// Users over a lowered bound stay (no new one is made until the pool is
// below it); iterations queued over it still run.
func (s *Scheduler) SetLimits(maxUsers, queueSize int) error {
	if maxUsers < 1 || queueSize < 1 {
		return fmt.Errorf("openmodel: max users %d and queue %d must be >= 1", maxUsers, queueSize)
	}
	s.mu.Lock()
	s.cfg.MaxUsers, s.cfg.QueueSize = maxUsers, queueSize
	s.mu.Unlock()
	return nil
}

// Users is the number of virtual users in the pool.
func (s *Scheduler) Users() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users
}

// Status is a snapshot of the scheduler's counters.
type Status struct {
	// Rate is this scheduler's target rate now (iterations per second).
	Rate float64
	// Users is the pool size, Busy the users running an iteration.
	Users, Busy int
	// Queued is the number of iterations waiting for a user now.
	Queued int
	// Started counts iterations started, Dropped those dropped because
	// the queue was full, Delayed those that waited in the queue, and
	// Abandoned those still queued when the test stopped.
	Started, Dropped, Delayed, Abandoned int64
	// MaxQueued is the longest the queue has been.
	MaxQueued int64
	// Finished is set once the schedule has ended; ScheduleEnded when it
	// ran out by itself (the last arrival stage), not at Config.End.
	Finished, ScheduleEnded bool
}

// Status returns the current counters.
func (s *Scheduler) Status() Status {
	s.mu.Lock()
	st := Status{Users: s.users, Busy: s.busy}
	for _, c := range s.classes {
		st.Queued += c.qLen
	}
	s.mu.Unlock()
	st.Rate = math.Float64frombits(s.rateNow.Load())
	st.Started, st.Dropped = s.started.Load(), s.dropped.Load()
	st.Delayed, st.Abandoned = s.queued.Load(), s.abandoned.Load()
	st.MaxQueued, st.Finished = s.maxQueue.Load(), s.finished.Load()
	st.ScheduleEnded = s.scheduleEnded.Load()
	return st
}
