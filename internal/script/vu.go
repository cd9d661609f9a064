package script

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
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
	next    int // next task of a sequential class
	ctx     context.Context
	pending []*response
	// lag is how late the current open-model iteration started against
	// its schedule; it is added to each request's service time.
	lag  time.Duration
	open bool

	interrupted atomic.Bool
	stopped     bool // u.stop() was called
}

// errInterrupted unwinds a task whose user is being stopped.
var errInterrupted = errors.New("user stopped by the runner")

// errUserStop is raised by u.stop().
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
		rng: newRand(cfg.Seed, id),
	}
	v.thread = &starlark.Thread{
		Name: fmt.Sprintf("%s-%d", c.Name, id),
		Print: func(_ *starlark.Thread, msg string) {
			v.log.Info(msg, "user", v.thread.Name)
		},
	}
	v.thread.SetMaxExecutionSteps(s.opts.MaxSteps)
	setRand(v.thread, v.rng)
	v.u = &userValue{vu: v}
	v.u.http = &httpValue{vu: v}
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
	v.interrupted.Store(true)
	v.thread.Cancel("user stopped by the runner")
}

// Interrupted reports whether Interrupt was called.
func (v *VU) Interrupted() bool { return v.interrupted.Load() }

// OnStart runs the class's on_start, if any.
func (v *VU) OnStart(ctx context.Context) {
	if v.Class.OnStart != nil {
		v.call(ctx, v.Class.OnStart)
	}
}

// OnStop runs the class's on_stop, if any. It runs even after an
// interrupt, so a script can log out.
func (v *VU) OnStop(ctx context.Context) {
	if v.Class.OnStop == nil {
		return
	}
	v.interrupted.Store(false)
	v.thread.Uncancel()
	v.call(ctx, v.Class.OnStop)
}

// RunTask picks the next task and runs it, then records its requests.
// It returns how long the task took.
func (v *VU) RunTask(ctx context.Context) time.Duration {
	start := time.Now()
	v.call(ctx, v.pickTask())
	return time.Since(start)
}

// RunIteration runs one open-model iteration that was due at intended.
func (v *VU) RunIteration(ctx context.Context, intended time.Time) time.Duration {
	start := time.Now()
	v.lag = max(0, start.Sub(intended))
	v.open = true
	v.call(ctx, v.pickTask())
	v.lag = 0
	return time.Since(start)
}

// NextWait is the wait time after a task that took taskTime.
func (v *VU) NextWait(taskTime time.Duration) time.Duration {
	return v.Class.Wait.Next(v.rng, taskTime)
}

// Close releases the user's connections.
func (v *VU) Close() { v.client.CloseIdle() }

func (v *VU) pickTask() starlark.Callable {
	c := v.Class
	if c.Sequential {
		t := c.Tasks[v.next%len(c.Tasks)]
		v.next++
		return t.Fn
	}
	if len(c.Tasks) == 1 {
		return c.Tasks[0].Fn
	}
	r := v.rng.IntN(c.cum[len(c.cum)-1])
	for i, w := range c.cum {
		if r < w {
			return c.Tasks[i].Fn
		}
	}
	return c.Tasks[len(c.Tasks)-1].Fn
}

// call runs fn(u), then records its requests and any script error.
func (v *VU) call(ctx context.Context, fn starlark.Callable) {
	// Uncancel before looking at the flag: Interrupt sets the flag, then
	// cancels, so an Interrupt that comes after this check still cancels
	// the call instead of being undone by it.
	v.thread.Uncancel()
	if v.interrupted.Load() {
		return
	}
	v.ctx = ctx
	v.thread.Steps = 0
	_, err := starlark.Call(v.thread, fn, starlark.Tuple{v.u}, nil)
	v.ctx = nil
	v.flush()
	if err == nil {
		return
	}
	switch {
	case errors.Is(err, errUserStop):
		v.stopped = true
	case v.interrupted.Load():
		// stopping: not the script's fault
	default:
		v.exception(err)
	}
}

func (v *VU) exception(err error) {
	msg, tb := err.Error(), ""
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		msg, tb = ee.Msg, ee.Backtrace()
		if strings.Contains(msg, "too many steps") {
			msg = fmt.Sprintf("task exceeded %d execution steps (runaway loop?): %s", v.script.opts.MaxSteps, msg)
		}
	}
	v.shard.Exception(msg, tb)
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
