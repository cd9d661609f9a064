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
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/internal/workload"
)

// Config configures a Scheduler.
type Config struct {
	Script *script.Script
	// Classes restricts the iterations to these user classes (empty: all).
	// Iterations are shared among classes by weight (fixed_count is used
	// as the weight of a class that has one).
	Classes []string
	// Host overrides the script's and classes' hosts when set.
	Host string
	HTTP httpclient.Options
	// Seed makes the scripts' random module repeatable (0: random).
	Seed int64
	// StopTimeout lets running iterations finish this long at Stop; zero
	// interrupts them at their next request.
	StopTimeout time.Duration
	Log         *slog.Logger
	// IDOffset is added to user ids (workers of a cluster use disjoint
	// ranges).
	IDOffset int

	// Schedule is the arrival rate of the whole test.
	Schedule *workload.Schedule
	// Share is this scheduler's fraction of the rate, in (0, 1] (default
	// 1); a cluster's workers get shares that add up to 1.
	Share float64
	// Phase, in [0, 1), shifts this scheduler's iterations by that
	// fraction of its own interval, so workers sharing a rate interleave
	// their iterations instead of starting them in lockstep.
	Phase float64
	// Origin is time zero of the schedule (default: when Start is
	// called). A scheduler that starts after Origin (a worker joining a
	// running test) starts at the schedule's current point.
	Origin time.Time
	// End stops the schedule at Origin+End (0: the schedule's own end;
	// a constant rate never ends by itself).
	End time.Duration

	// MaxUsers bounds the pool of virtual users (default 100).
	MaxUsers int
	// QueueSize bounds the iterations waiting for a free user (default:
	// MaxUsers, at least 100); iterations beyond it are dropped.
	QueueSize int
	// WarnEvery is the minimum time between two warnings about queueing
	// or dropped iterations (default 5 s).
	WarnEvery time.Duration

	// Recorder, when set, records the iterations' requests (a cluster
	// worker shares its runner's); it must keep service times. Default:
	// a recorder of the scheduler's own.
	Recorder *stats.Recorder
	// CatchUp starts the schedule at Origin even when Start is called
	// later, sending at once what was due since then (a worker that was
	// part of a test from its start); otherwise a scheduler started late
	// begins at the schedule's current point (a worker that joined).
	CatchUp bool

	// OnFinish is called (on its own goroutine) when the schedule has
	// ended and every started iteration has finished.
	OnFinish func()
	// OnIteration, when set, is called by the user goroutine as each
	// iteration starts (benchmarks use it to measure the start lag).
	OnIteration func(intended, started time.Time)
}

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

// Defaults.
const (
	DefaultMaxUsers  = 100
	minQueue         = 100
	defaultWarnEvery = 5 * time.Second
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

// New returns a scheduler; call Start.
func New(cfg Config) (*Scheduler, error) {
	if cfg.Script == nil || cfg.Schedule == nil {
		return nil, errors.New("openmodel: a script and a schedule are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Share == 0 {
		cfg.Share = 1
	}
	if cfg.Share < 0 || cfg.Share > 1 || math.IsNaN(cfg.Share) {
		return nil, fmt.Errorf("openmodel: share %g is not in (0, 1]", cfg.Share)
	}
	if cfg.Phase < 0 || cfg.Phase >= 1 {
		cfg.Phase = 0
	}
	if cfg.MaxUsers <= 0 {
		cfg.MaxUsers = DefaultMaxUsers
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = max(cfg.MaxUsers, minQueue)
	}
	if cfg.WarnEvery <= 0 {
		cfg.WarnEvery = defaultWarnEvery
	}
	rec := cfg.Recorder
	if rec == nil || !rec.OpenModel() {
		rec = stats.NewRecorder(4*runtime.GOMAXPROCS(0), time.Now(), true)
	}
	s := &Scheduler{
		cfg:   cfg,
		rec:   rec,
		ctl:   make(chan float64, 1),
		all:   map[*vu]struct{}{},
		share: cfg.Share,
	}
	s.idleCond = sync.NewCond(&s.mu)
	for _, uc := range cfg.Script.Classes {
		if len(cfg.Classes) > 0 && !contains(cfg.Classes, uc.Name) {
			continue
		}
		w := uc.Weight
		if uc.FixedCount > 0 {
			w = uc.FixedCount
		}
		if w <= 0 {
			continue
		}
		s.classes = append(s.classes, &class{uc: uc, weight: w, queue: make([]int64, min(cfg.QueueSize, 64))})
	}
	if len(s.classes) == 0 {
		return nil, fmt.Errorf("openmodel: no user class with a positive weight among %v", classNames(cfg.Script, cfg.Classes))
	}
	s.wrr = make([]int, len(s.classes))
	return s, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func classNames(sc *script.Script, only []string) []string {
	if len(only) > 0 {
		return only
	}
	var out []string
	for _, c := range sc.Classes {
		out = append(out, c.Name)
	}
	return out
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

// pacer is the only goroutine that computes the schedule. Iteration k of
// this scheduler (k = 0, 1, ...) is due when its cumulative count
// base + share·(Count(t) − Count(t0)) reaches k + phase; t0 and base move
// when the share changes, so a rebalance takes effect at once without
// losing or repeating iterations.
func (s *Scheduler) pacer(startAt time.Time) {
	defer close(s.pacerDone)
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
	if d > lastDropped {
		s.cfg.Log.Warn("open model: iterations dropped: every user is busy and the queue is full; raise --max-users (or the target is too slow for this rate)",
			"dropped", d-lastDropped, "when", since, "max_users", s.cfg.MaxUsers, "queue", s.cfg.QueueSize)
	} else {
		s.cfg.Log.Warn("open model: iterations are queueing: every user is busy (their wait counts in the response times); raise --max-users if this is the load generator's limit",
			"queued", q-lastQueued, "when", since, "max_users", s.cfg.MaxUsers)
	}
	return now, d, q
}

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
	if c.qLen < len(c.queue) {
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
func (s *Scheduler) iterate(u *vu, dueNs int64) bool {
	if u.v.Interrupted() || s.pacerCtx.Err() != nil {
		s.abandoned.Add(1)
		return false
	}
	intended := time.Unix(0, dueNs)
	if s.cfg.OnIteration != nil {
		s.cfg.OnIteration(intended, time.Now())
	}
	s.started.Add(1)
	u.v.RunIteration(s.ctx, intended)
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
