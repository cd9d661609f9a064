// Package shape drives a closed-model test through a load shape: a list
// of stages (--stages, or `stages = [stage(...), ...]` in the script) or
// the script's own shape(t) function. It is an engine.Driver wrapped
// around the driver that runs the users (local or a cluster master), so
// the engine's lifecycle, the web UI's start and stop buttons, the run
// time and the outputs work unchanged: the engine starts the test, the
// shape sets the users from then on and ends the test when it is over.
package shape

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/runner"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/internal/workload"
)

// Reasons the shape gives when it ends a test.
const (
	ReasonFinished = "shape finished"
	ReasonError    = "shape error"
)

// Error is a shape that failed: it raised or returned what is not a
// target. It is the script's fault (exit code 2), unlike a driver that
// could not apply a target.
type Error struct{ Err error }

func (e *Error) Error() string { return "load shape: " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Driver applies a Shape's targets to Inner.
type Driver struct {
	Inner engine.Driver
	Shape workload.Shape
	// Classes are the script's classes, to share a target restricted to
	// some classes (a shape's class list) by weight.
	Classes []runner.Class
	// OnFinish ends the test (engine.StopWith); it is called on its own
	// goroutine with ReasonFinished, or ReasonError and the error.
	OnFinish func(reason string)
	Log      *slog.Logger
	// Interval is how often a shape without known change points is
	// asked for its target (default 1 s, as Locust does).
	Interval time.Duration

	mu      sync.Mutex
	running bool
	cancel  context.CancelFunc
	done    chan struct{}
	base    engine.Params
	start   time.Time
	current Applied
	history []Applied
	peak    int
}

// Applied is one target the shape set.
type Applied struct {
	// At is the time since the start of the test.
	At time.Duration `json:"at"`
	// Stage is the 1-based stage number of a stages shape (0 for a
	// shape function).
	Stage  int             `json:"stage,omitempty"`
	Target workload.Target `json:"target"`
}

func (d *Driver) log() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.Default()
}

// Apply starts the shape on the first call. While the shape runs, an
// edit only changes what the shape does not decide (host, classes); the
// user count and spawn rate are the shape's.
func (d *Driver) Apply(ctx context.Context, p engine.Params) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.running {
		d.base.Host = p.Host
		d.log().Info("a load shape sets the users of this test: the edited user count and spawn rate are not used", "shape", d.Shape.String())
		return nil
	}
	d.base, d.start = p, time.Now()
	d.history, d.peak = nil, 0
	t, done, err := d.Shape.Tick(0, 0)
	if err != nil {
		return &Error{Err: err}
	}
	if done {
		return fmt.Errorf("load shape %s: it ended before the test started", d.Shape)
	}
	if err := d.applyLocked(ctx, 0, t); err != nil {
		return err
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	d.running, d.cancel, d.done = true, cancel, make(chan struct{})
	go d.loop(loopCtx, d.start, d.done)
	return nil
}

func (d *Driver) applyLocked(ctx context.Context, at time.Duration, t workload.Target) error {
	p := d.base
	p.Users, p.SpawnRate, p.ClassUsers = t.Users, t.SpawnRate, nil
	switch {
	case len(t.Classes) > 0:
		p.ClassUsers = t.Classes
	case len(t.Only) > 0:
		var cs []runner.Class
		for _, c := range d.Classes {
			for _, name := range t.Only {
				if c.Name == name {
					cs = append(cs, c)
				}
			}
		}
		p.ClassUsers = runner.Distribute(cs, t.Users)
		for _, c := range d.Classes {
			if _, ok := p.ClassUsers[c.Name]; !ok {
				p.ClassUsers[c.Name] = 0
			}
		}
	}
	if err := d.Inner.Apply(ctx, p); err != nil {
		return fmt.Errorf("load shape: %w", err)
	}
	a := Applied{At: at, Target: t}
	if st, ok := d.Shape.(workload.Stages); ok {
		a.Stage = st.Index(at) + 1
	}
	d.current = a
	d.history = append(d.history, a)
	d.peak = max(d.peak, t.Users)
	d.log().Info("load shape", "at", at.Round(time.Millisecond), "stage", a.Stage, "users", t.Users, "spawn_rate", t.SpawnRate)
	return nil
}

// loop asks the shape for its target about once a second, and exactly at
// the stage boundaries of a stages shape, so a stage is applied at its
// start even when it is shorter than a second. Applying never waits for
// a ramp: a stage whose ramp cannot finish in time is still applied, and
// the next one follows on the clock.
func (d *Driver) loop(ctx context.Context, start time.Time, done chan struct{}) {
	defer close(done)
	defer func() {
		// a bug here ends the test with its results, not the process
		if p := recover(); p != nil {
			d.log().Error("internal error in the load shape: stopping the test", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			d.finish(ctx, fmt.Sprintf("%s: panic in the load shape: %v", engine.ReasonInternal, p))
		}
	}()
	interval := d.Interval
	if interval <= 0 {
		interval = time.Second
	}
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		el := time.Since(start)
		wait := interval
		if next := d.Shape.Next(el); next > el && next-el < wait {
			wait = next - el
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		el = time.Since(start)
		t, fin, err := d.Shape.Tick(el, d.Inner.Users())
		switch {
		case err != nil:
			d.log().Error("load shape failed: stopping the test", "err", err)
			d.finish(ctx, fmt.Sprintf("%s: %v", ReasonError, err))
			return
		case fin:
			d.finish(ctx, ReasonFinished)
			return
		}
		d.mu.Lock()
		if ctx.Err() == nil && !t.Equal(d.current.Target) {
			if err := d.applyLocked(ctx, el, t); err != nil {
				d.mu.Unlock()
				d.log().Error("load shape failed: stopping the test", "err", err)
				d.finish(ctx, fmt.Sprintf("%s: %v", ReasonError, err))
				return
			}
		}
		d.mu.Unlock()
	}
}

func (d *Driver) finish(ctx context.Context, reason string) {
	if ctx.Err() == nil && d.OnFinish != nil {
		go d.OnFinish(reason)
	}
}

// Stop stops the shape, then the users.
func (d *Driver) Stop(ctx context.Context) {
	d.mu.Lock()
	cancel, done := d.cancel, d.done
	d.running, d.cancel = false, nil
	d.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	d.Inner.Stop(ctx)
}

// Users is the number of running users.
func (d *Driver) Users() int { return d.Inner.Users() }

// Spawning reports whether users are being started or stopped.
func (d *Driver) Spawning() bool { return d.Inner.Spawning() }

// Collect hands the inner driver's statistics to add.
func (d *Driver) Collect(now time.Time, add func(stats.Origin, *stats.Delta)) {
	d.Inner.Collect(now, add)
}

// Workers lists the inner driver's workers (nil for a local test).
func (d *Driver) Workers() []output.WorkerInfo {
	if wl, ok := d.Inner.(engine.WorkerLister); ok {
		return wl.Workers()
	}
	return nil
}

// Status is where the shape is.
type Status struct {
	// Shape describes the shape ("1m:100:10,..." or "shape() at f:3:1").
	Shape string `json:"shape"`
	// Stage is the 1-based current stage of a stages shape, Stages their
	// number (both 0 for a shape function).
	Stage   int             `json:"stage,omitempty"`
	Stages  int             `json:"stages,omitempty"`
	Target  workload.Target `json:"target"`
	Peak    int             `json:"peak_users"`
	Running bool            `json:"running"`
	// History is every target set so far.
	History []Applied `json:"history"`
}

// Status returns the shape's progress.
func (d *Driver) Status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := Status{Shape: d.Shape.String(), Stage: d.current.Stage, Target: d.current.Target, Peak: d.peak, Running: d.running,
		History: append([]Applied(nil), d.history...)}
	if s, ok := d.Shape.(workload.Stages); ok {
		st.Stages = len(s)
	}
	return st
}

// Target is the shape's current target (engine.TargetReporter), ok
// false before the shape has set one.
func (d *Driver) Target() (users int, spawnRate float64, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.history) == 0 {
		return 0, 0, false
	}
	return d.current.Target.Users, d.current.Target.SpawnRate, true
}

// PeakUsers is the most users that ran at once, when the inner driver
// knows it (engine.PeakReporter), else -1.
func (d *Driver) PeakUsers() int {
	if pr, ok := d.Inner.(engine.PeakReporter); ok {
		return pr.PeakUsers()
	}
	return -1
}

// Peak is the largest user count the shape asked for.
func (d *Driver) Peak() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.peak
}
