// Package runner runs virtual users: it spawns and stops them at the spawn
// rate to meet per-class targets, runs their task loops, and hands out the
// statistics they recorded as interval deltas.
package runner

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/internal/workload"
)

// Config configures a Runner.
type Config struct {
	Script *script.Script
	// Host overrides the script's and classes' hosts when set.
	Host string
	HTTP httpclient.Options
	// Seed makes the scripts' random module repeatable (0: random).
	Seed int64
	// StopTimeout lets running tasks finish this long when users are
	// stopped; zero interrupts them at their next request.
	StopTimeout time.Duration
	// OpenModel keeps service times beside corrected latencies.
	OpenModel bool
	Log       *slog.Logger
	// IDOffset is added to user ids, so users of different workers have
	// different ids.
	IDOffset int
	// Iterations, when set, bounds the task executions of every user
	// together (-i/--iterations); a user ends when it is spent.
	Iterations *workload.Iterations
	// SetupData is what the script's setup returned (u.setup_data).
	SetupData *script.SetupData
	// StopTest ends the whole test (u.stop_test(reason)).
	StopTest func(reason string)
	// MaxNames bounds the distinct request names recorded (0:
	// stats.DefaultMaxNames; < 0: no limit).
	MaxNames int
}

// Runner owns the virtual users of one process.
type Runner struct {
	cfg   Config
	rec   *stats.Recorder
	order []string
	// release returns freed memory to the OS after a big ramp
	// (debug.FreeOSMemory; tests count the calls).
	release func()
	// panicHook, set by tests, runs in each user's task loop (to inject
	// a panic there).
	panicHook   func(*user)
	spawnerHook func() // likewise, in the spawner

	mu        sync.Mutex
	target    map[string]int
	alive     map[string][]*user
	gone      map[string]int // users that stopped themselves (u.stop()): not replaced
	rate      float64
	nextID    int
	peak      int // most users running at once
	leaving   int // users stopped by stopOne that have not ended yet
	stopping  bool
	kick      chan struct{}
	wg        sync.WaitGroup
	ctx       context.Context
	cancel    context.CancelFunc
	spawnDone chan struct{}
}

type user struct {
	vu   *script.VU
	stop chan struct{} // closed: finish the current task, then stop
	once sync.Once
	// leaving: stopped to meet a lower target and still finishing its
	// task (counted in Runner.leaving; guarded by Runner.mu)
	leaving bool

	mu     sync.Mutex
	parked *time.Timer // set while the user waits without a goroutine
	resume func()      // what parked's timer runs
	// interrupt fires --stop-timeout after a drain; stopped when the user
	// has ended, so the timer does not keep the ended user in memory.
	interrupt *time.Timer
	finished  bool // the user has ended: no interrupt timer needed
}

// parkAfter is the shortest wait for which a user's goroutine ends and a
// timer starts a new one when the wait is over. A goroutine keeps the
// stack its last task grew (Starlark and HTTP calls are deep): 10,000
// users in a long wait held about 65 MB of stacks that way.
const parkAfter = time.Second

// park makes resume run in a new goroutine after w, or as soon as the
// user is drained. It returns false, doing nothing, when the user is
// already draining.
func (u *user) park(w time.Duration, resume func()) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if closed(u.stop) {
		return false
	}
	u.resume = resume
	u.parked = time.AfterFunc(w, func() {
		u.mu.Lock()
		u.parked, u.resume = nil, nil
		u.mu.Unlock()
		resume()
	})
	return true
}

func (u *user) drain(timeout time.Duration) {
	u.once.Do(func() {
		u.mu.Lock()
		close(u.stop)
		t, resume := u.parked, u.resume
		u.parked, u.resume = nil, nil
		u.mu.Unlock()
		if t != nil && t.Stop() {
			go resume() // wake the parked user now, to run on_stop
		}
		if timeout <= 0 {
			u.vu.Interrupt()
			return
		}
		u.mu.Lock()
		if !u.finished {
			u.interrupt = time.AfterFunc(timeout, u.vu.Interrupt)
		}
		u.mu.Unlock()
	})
}

// ended stops the drain's interrupt timer: with a long --stop-timeout, a
// ramp-down of thousands of users would otherwise keep every stopped
// user (its Starlark thread, state and client) alive until it fires.
func (u *user) ended() {
	u.mu.Lock()
	u.finished = true
	if u.interrupt != nil {
		u.interrupt.Stop()
		u.interrupt = nil
	}
	u.mu.Unlock()
}

// New returns a runner; call Start, then SetTargets.
func New(cfg Config) *Runner {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	r := &Runner{
		cfg:    cfg,
		rec:    stats.NewRecorder(4*runtime.GOMAXPROCS(0), time.Now(), cfg.OpenModel),
		target: map[string]int{},
		alive:  map[string][]*user{},
		gone:   map[string]int{},
		kick:   make(chan struct{}, 1),
	}
	r.release = debug.FreeOSMemory
	r.rec.LimitNames(cmp.Or(cfg.MaxNames, stats.DefaultMaxNames), cfg.Log)
	for _, c := range cfg.Script.Classes {
		r.order = append(r.order, c.Name)
	}
	return r
}

// Classes returns the script's classes for Distribute.
func Classes(s *script.Script) []Class {
	out := make([]Class, len(s.Classes))
	for i, c := range s.Classes {
		out[i] = Class{Name: c.Name, Weight: c.Weight, FixedCount: c.FixedCount}
	}
	return out
}

// Start starts the spawner. The runner stops when ctx is cancelled or Stop
// is called.
func (r *Runner) Start(ctx context.Context) {
	r.ctx, r.cancel = context.WithCancel(ctx)
	r.spawnDone = make(chan struct{})
	go r.spawner()
}

// SetTargets sets the number of users wanted per class and the rate (users
// per second) at which to start or stop users to get there.
func (r *Runner) SetTargets(target map[string]int, rate float64) {
	r.mu.Lock()
	r.target = make(map[string]int, len(target))
	for k, v := range target {
		r.target[k] = v
	}
	if rate <= 0 {
		rate = 1
	}
	r.rate = rate
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Users is the number of running users.
func (r *Runner) Users() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.usersLocked()
}

func (r *Runner) usersLocked() int {
	n := 0
	for _, us := range r.alive {
		n += len(us)
	}
	return n
}

// PeakUsers is the most users that ran at once (not the most asked for).
func (r *Runner) PeakUsers() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.peak
}

// UsersByClass is the number of running users per class.
func (r *Runner) UsersByClass() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.alive))
	for c, us := range r.alive {
		out[c] = len(us)
	}
	return out
}

// Spawning reports whether the user counts are still moving to their
// targets.
func (r *Runner) Spawning() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	spawn, stop, _, wait := r.pending()
	return spawn != "" || stop != "" || wait
}

// pending returns the class to start a user of next, or else the class to
// stop a user of, or neither. Users that stopped themselves count as
// present, so they are not replaced. r.mu must be held.
//
// Users being stopped count until their task has ended, and starts never
// take the total over its target: when users of one class must start and
// users of another stop (a load shape switching classes) and the total
// is at its target, the stop comes first and is made at once (room), not
// at the spawn rate; a start then waits (wait) for a stopped user to
// end. A switch never runs more users than the total target and takes
// no longer than the starts alone.
func (r *Runner) pending() (spawn, stop string, room, wait bool) {
	present := make(map[string]int, len(r.order))
	alive := make(map[string]int, len(r.order))
	want := make(map[string]int, len(r.order))
	total, target := 0, 0
	for _, c := range r.order {
		alive[c] = len(r.alive[c])
		present[c] = alive[c] + r.gone[c]
		want[c] = max(0, r.target[c]-r.gone[c])
		total, target = total+present[c], target+r.target[c]
	}
	total += r.leaving
	spawn = pickSpawn(r.order, r.target, present)
	stop = pickStop(r.order, want, alive)
	switch {
	case spawn != "" && stop != "" && total >= target:
		return "", stop, true, false
	case spawn != "" && total >= target:
		return "", "", false, true
	case spawn != "":
		return spawn, "", false, false
	}
	return "", stop, false, false
}

// kickLocked wakes the spawner. r.mu must be held.
func (r *Runner) kickLocked() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Flush returns the statistics recorded since the previous flush.
func (r *Runner) Flush(now time.Time) *stats.Delta { return r.rec.Flush(now) }

// Recorder exposes the recorder (the open model records dropped
// iterations into it).
func (r *Runner) Recorder() *stats.Recorder { return r.rec }

// A ramp of at least releaseAfterRamp users leaves its garbage (the
// first requests' buffers, the stacks of users that were waiting for
// their answers) in a heap that the Go runtime gives back to the OS only
// over minutes: releaseDelay after such a ramp ends, the spawner returns
// it at once. 10,000 users idling after a ramp held 105 MB of RSS two
// minutes later without this.
const (
	releaseAfterRamp  = 1000
	releaseDelay      = 5 * time.Second
	releaseDuringRamp = 2000 // and every this many users during a ramp
)

func (r *Runner) spawner() {
	defer close(r.spawnDone)
	defer func() {
		// a bug here must not take the process and the results with it:
		// the users go on, the test ends at its run time or stop
		if p := recover(); p != nil {
			r.cfg.Log.Error("internal error in the spawner: users are no longer started or stopped; the test goes on and its results are written; please report it",
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			r.rec.Shard(0).Exception(fmt.Sprintf("internal error in the spawner: panic: %v", p), "")
		}
	}()
	if r.spawnerHook != nil {
		r.spawnerHook()
	}
	var next time.Time
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	spawned := 0                 // users started since the last release
	var release <-chan time.Time // fires releaseDelay after a big ramp
	for {
		r.mu.Lock()
		if r.stopping {
			r.mu.Unlock()
			return
		}
		spawn, stop, room, wait := r.pending()
		rate := r.rate
		r.mu.Unlock()
		if room {
			r.stopOne(stop)
			continue
		}

		if spawn == "" && stop == "" { // nothing to do, or waiting for users to end
			if !wait && spawned >= releaseAfterRamp {
				spawned, release = 0, time.After(releaseDelay)
			}
			select {
			case <-r.ctx.Done():
				return
			case <-r.kick:
				continue
			case <-release:
				release = nil
				r.release()
				continue
			}
		}
		now := time.Now()
		if next.IsZero() || now.Sub(next) > time.Second {
			next = now // idle or far behind: do not burst to catch up
		}
		if wait := next.Sub(now); wait > 0 {
			timer.Reset(wait)
			select {
			case <-r.ctx.Done():
				return
			case <-r.kick:
				continue
			case <-timer.C:
			}
		}
		next = next.Add(time.Duration(float64(time.Second) / rate))
		if spawn != "" {
			r.spawn(spawn)
			spawned++
			if spawned%releaseDuringRamp == 0 {
				r.release() // a long ramp's peak, too
			}
		} else {
			r.stopOne(stop)
		}
	}
}

func (r *Runner) spawn(class string) {
	c := r.cfg.Script.Class(class)
	r.mu.Lock()
	if r.stopping {
		r.mu.Unlock()
		return
	}
	r.nextID++
	id := r.cfg.IDOffset + r.nextID
	host := r.cfg.Host
	if host == r.cfg.Script.Host {
		// The test's host defaults to the script's top-level host (the CLI,
		// the web form and the master fill it in). That default must not
		// hide a class's own user(host=), which ranks above it.
		host = ""
	}
	vu := r.cfg.Script.NewVU(id, c, script.VUConfig{
		Client: httpclient.New(r.cfg.HTTP),
		Shard:  r.rec.Shard(id),
		Host:   host,
		Seed:   r.cfg.Seed,
		Log:    r.cfg.Log,

		SetupData: r.cfg.SetupData,
		StopTest:  r.cfg.StopTest,
	})
	u := &user{vu: vu, stop: make(chan struct{})}
	r.alive[class] = append(r.alive[class], u)
	r.peak = max(r.peak, r.usersLocked())
	r.wg.Add(1)
	r.mu.Unlock()
	go r.run(u)
}

// stopOne stops the most recently started user of class.
func (r *Runner) stopOne(class string) {
	r.mu.Lock()
	us := r.alive[class]
	if len(us) == 0 {
		r.mu.Unlock()
		return
	}
	u := us[len(us)-1]
	r.alive[class] = us[:len(us)-1]
	u.leaving = true
	r.leaving++
	r.mu.Unlock()
	u.drain(r.cfg.StopTimeout)
}

// run is a new user's goroutine: on_start, then the task loop.
func (r *Runner) run(u *user) {
	u.vu.OnStart(r.ctx)
	r.loop(u)
}

// loop runs tasks until the user stops, then on_stop. A wait of parkAfter
// or more ends the goroutine; a timer calls loop again in a new one.
func (r *Runner) loop(u *user) {
	v := u.vu
	parked, crashed := r.tasks(u)
	if parked {
		return
	}
	defer r.wg.Done()
	v.OnStop(r.ctx)
	v.Close()
	u.ended()
	r.mu.Lock()
	if u.leaving {
		u.leaving = false
		r.leaving--
		r.kickLocked() // a start may have waited for this user to end
	}
	r.mu.Unlock()
	if v.Stopped() || crashed {
		// a user that stopped itself is not replaced; neither is one
		// whose loop panicked (a replacement would likely do the same)
		r.mu.Lock()
		r.remove(u)
		r.gone[v.Class.Name]++
		r.mu.Unlock()
	}
}

// tasks runs the user's tasks until it stops (parked false) or parks for
// a long wait (parked true: a timer calls loop again). A panic in the
// runner's own code for this user (the script's are already exceptions)
// is recorded as the user's exception and ends the user alone (crashed).
func (r *Runner) tasks(u *user) (parked, crashed bool) {
	v := u.vu
	ctx := r.ctx
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
		if p := recover(); p != nil {
			v.RecordPanic(p, debug.Stack())
			parked, crashed = false, true
		}
	}()
	if r.panicHook != nil {
		r.panicHook(u)
	}
	for !v.Stopped() && !v.Interrupted() && !closed(u.stop) {
		if !r.cfg.Iterations.Take() {
			break
		}
		d := v.RunTask(ctx)
		r.cfg.Iterations.Finish()
		if v.Stopped() || v.Interrupted() {
			break
		}
		w := v.NextWait(ctx, d)
		if w <= 0 {
			continue
		}
		if w >= parkAfter && u.park(w, func() { r.loop(u) }) {
			return true, false
		}
		if timer == nil {
			timer = time.NewTimer(w)
		} else {
			timer.Reset(w)
		}
		select {
		case <-timer.C:
		case <-u.stop:
		}
	}
	return false, false
}

func (r *Runner) remove(u *user) {
	us := r.alive[u.vu.Class.Name]
	for i, x := range us {
		if x == u {
			r.alive[u.vu.Class.Name] = append(us[:i], us[i+1:]...)
			return
		}
	}
}

func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// Stop stops spawning and stops every user: running tasks get
// StopTimeout to finish, requests in flight complete and are counted. It
// returns when all users have ended or when ctx is done, whichever is
// first; it reports whether every user ended.
func (r *Runner) Stop(ctx context.Context) bool {
	r.mu.Lock()
	r.stopping = true
	var all []*user
	for c, us := range r.alive {
		all = append(all, us...)
		delete(r.alive, c)
	}
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
	for _, u := range all {
		u.drain(r.cfg.StopTimeout)
	}
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	defer r.cancel()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		r.cfg.Log.Warn("users did not stop in time; their requests in flight are not counted")
		return false
	}
}

// Excluded names the classes the tag selection left with no task
// (script.SelectTags): they get no users.
func (r *Runner) Excluded() []string { return r.cfg.Script.Excluded }

// ClassList is the script's classes for Distribute.
func (r *Runner) ClassList() []Class { return Classes(r.cfg.Script) }
