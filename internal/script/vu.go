package script

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/stats"
	"go.starlark.net/starlark"
)

// VUConfig is what a virtual user needs from the runner.
type VUConfig struct {
	Client httpclient.Client
	Shard  *stats.Shard
	// Host is the --host override; empty means the class's or script's.
	Host string
	// Seed seeds the user's random module (0: random).
	Seed int64
	Log  *slog.Logger
	// SetupData is what the script's setup returned (u.setup_data).
	SetupData *SetupData
	// StopTest, when set, ends the whole test (u.stop_test(reason)).
	StopTest func(reason string)
}

// VU is one virtual user: its Starlark thread, its `u` value and its HTTP
// client. A VU is driven by one goroutine; only Interrupt may be called
// from another.
type VU struct {
	ID    int
	Class *UserClass

	script  *Script
	thread  *starlark.Thread
	u       *userValue
	client  httpclient.Client
	shard   *stats.Shard
	host    string
	rng     *rand.Rand
	log     *slog.Logger
	root    frame   // the class's own tasks
	stack   []frame // the task sets entered, innermost last
	ctx     context.Context
	pending []*response
	args    starlark.Tuple // (u,): what every task function is called with
	// the last relative path requested and its URL (host + path): a
	// user that requests the same path again reuses the string
	lastPath, lastURL string
	// lag is how late the current open-model iteration started against
	// its schedule; it is added to each request's service time.
	lag  time.Duration
	open bool

	// digests holds the Digest auth state per server and user name.
	digests map[string]*httpclient.Digest

	interrupted atomic.Bool
	// cancelMu makes Interrupt's flag-and-cancel one step for OnStop's
	// reset and invoke's check: otherwise a user woken by the flag or by
	// done could start its on_stop (Uncancel) before Interrupt's Cancel
	// lands, and that Cancel would cut the on_stop short.
	cancelMu sync.Mutex
	// done is closed by the first Interrupt: u.sleep() waits on it.
	done     chan struct{}
	doneOnce sync.Once
	stopped  bool // u.stop() or u.stop_test() was called
	// u.interrupt() may be called from a task or the on_start of a set
	// the user is in, but not from a set's on_stop or a wait_time
	// function: noLeave is set around those (rare) calls, so the task
	// path sets nothing. reschedule is what interrupt() asked for;
	// skipWait is interrupt(reschedule=True): the parent picks its next
	// task without waiting.
	noLeave    bool
	reschedule bool
	skipWait   bool
	setupData  *SetupData
	stopTest   func(reason string)
	// native is the user's Go value, for a class written in Go.
	native any
}

// errInterrupted unwinds a task whose user is being stopped.
var errInterrupted = errors.New("user stopped by the runner")

// errUserStop is raised by u.stop() and u.stop_test().
var errUserStop = errors.New("user stopped itself")

// NewVU creates virtual user id of class c.
func (s *Script) NewVU(id int, c *UserClass, cfg VUConfig) *VU {
	host := cfg.Host
	if host == "" {
		host = c.Host
	}
	if host == "" {
		host = s.Host
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	v := &VU{
		ID: id, Class: c, script: s, client: cfg.Client, shard: cfg.Shard,
		host: strings.TrimRight(host, "/"), log: log,
		rng: newRand(cfg.Seed, id), done: make(chan struct{}), setupData: cfg.SetupData, stopTest: cfg.StopTest,
	}
	v.root.set = &c.TaskSet
	v.thread = &starlark.Thread{
		Name: fmt.Sprintf("%s-%d", c.Name, id),
		Print: func(_ *starlark.Thread, msg string) {
			v.log.Info(msg, "user", v.thread.Name)
		},
	}
	limitThread(v.thread, s.opts.MaxSteps, s.opts.MaxCallDepth)
	setRand(v.thread, v.rng)
	v.u = &userValue{vu: v}
	v.u.http = &httpValue{vu: v}
	v.args = starlark.Tuple{v.u}
	if c.native != nil && c.native.newUser != nil {
		v.native = c.native.newUser(v)
	}
	return v
}

// Host is the base URL relative paths resolve against.
func (v *VU) Host() string { return v.host }

// Stopped reports whether the script stopped this user with u.stop().
func (v *VU) Stopped() bool { return v.stopped }

// Interrupt makes the user's current task end at its next request (the
// request in flight completes and is counted) or at once if it is
// computing. Safe to call from any goroutine.
func (v *VU) Interrupt() {
	v.cancelMu.Lock()
	v.interrupted.Store(true)
	v.thread.Cancel("user stopped by the runner")
	v.cancelMu.Unlock()
	v.doneOnce.Do(func() { close(v.done) })
}

// Interrupted reports whether Interrupt was called.
func (v *VU) Interrupted() bool { return v.interrupted.Load() }

// OnStart runs the class's on_start, if any.
func (v *VU) OnStart(ctx context.Context) {
	if v.Class.OnStart != nil {
		v.call(ctx, v.Class.OnStart)
	}
}

// OnStop runs the on_stop of every task set the user is in, innermost
// first, then the class's on_stop (Locust's order when a user stops
// inside nested TaskSets). It runs even after an interrupt, so a script
// can log out.
func (v *VU) OnStop(ctx context.Context) {
	if len(v.stack) == 0 && v.Class.OnStop == nil {
		return
	}
	v.cancelMu.Lock()
	v.interrupted.Store(false)
	v.thread.Uncancel()
	v.cancelMu.Unlock()
	for len(v.stack) > 0 {
		v.leave(ctx)
	}
	if v.Class.OnStop != nil {
		v.call(ctx, v.Class.OnStop)
	}
}

// RunTask picks the next task and runs it, then records its requests.
// It returns how long the task took when a wait time of the user's class
// needs it (constant_pacing), else 0: the clock is read only then (a
// reading costs ~100 ns here, as much as a tenth of a request).
func (v *VU) RunTask(ctx context.Context) time.Duration {
	if !v.Class.timed {
		v.runNext(ctx)
		return 0
	}
	start := time.Now()
	v.runNext(ctx)
	return time.Since(start)
}

// RunIteration runs one open-model iteration that was due at intended.
func (v *VU) RunIteration(ctx context.Context, intended time.Time) {
	v.lag = max(0, time.Since(intended))
	v.open = true
	v.runNext(ctx)
	v.lag = 0
}

// Close releases the user's connections.
func (v *VU) Close() { v.client.CloseIdle() }

// outcome is how a call of a script function ended.
type outcome uint8

const (
	returned outcome = iota // it returned
	raised                  // it raised an error, recorded as an exception
	ended                   // the user stopped (u.stop()) or is being stopped
	left                    // it called u.interrupt()
)

// call runs fn(u), then records its requests and any script error.
func (v *VU) call(ctx context.Context, fn starlark.Callable) outcome {
	_, o := v.invoke(ctx, fn)
	return o
}

// invoke is call that also returns fn's result.
func (v *VU) invoke(ctx context.Context, fn starlark.Callable) (starlark.Value, outcome) {
	// Uncancel and look at the flag as one step against Interrupt: an
	// Interrupt after it cancels the call instead of being undone by it.
	v.cancelMu.Lock()
	v.thread.Uncancel()
	stopping := v.interrupted.Load()
	v.cancelMu.Unlock()
	if stopping {
		return nil, ended
	}
	v.ctx = ctx
	resetSteps(v.thread, v.script.opts.MaxSteps)
	res, err := callSafe(v.thread, fn, v.args) // Starlark does not change args
	v.ctx = nil
	v.flush()
	if err == nil {
		return res, returned
	}
	switch {
	case errors.Is(err, errUserStop):
		v.stopped = true
		return nil, ended
	case v.interrupted.Load():
		return nil, ended // stopping: not the script's fault
	case errors.Is(err, errLeave):
		return nil, left
	}
	v.exception(err)
	return nil, raised
}

func (v *VU) exception(err error) {
	msg, tb := err.Error(), ""
	var ee *starlark.EvalError
	var pe *PanicError
	if errors.As(err, &pe) {
		tb = pe.Stack
		if v.script.panicLogged.CompareAndSwap(false, true) {
			v.log.Error("a Go panic in a user was recovered: it is counted as an exception (with its Go stack) and the user carries on; please report it", "user", v.thread.Name, "panic", msg)
		}
	} else if errors.As(err, &ee) {
		msg, tb = v.script.explain(ee.Msg, ee.CallStack), boundedBacktrace(ee)
		if strings.Contains(msg, "too many steps") {
			msg = fmt.Sprintf("task exceeded %d execution steps (runaway loop?): %s", v.script.opts.MaxSteps, msg)
		}
	}
	v.shard.Exception(boundText(msg), tb)
}

// flush records the requests of the finished call, with the verdicts the
// script gave them.
func (v *VU) flush() {
	for i, r := range v.pending {
		v.shard.Record(r.sample())
		v.pending[i] = nil
	}
	v.pending = v.pending[:0]
}
