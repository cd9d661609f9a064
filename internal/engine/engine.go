// Package engine is the lifecycle of a test: start, edit, stop, reset; the
// run-time limit; the once-a-second collection of statistics into the
// aggregate; and the state every front end (terminal, web UI, reports)
// reads. Where the users run is a Driver's business: in this process
// (LocalDriver) or on a master's workers.
package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/stampede-load/stampede/internal/bounds"
	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/redact"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/internal/workload"
)

// State is the state of a test, with Locust's names.
type State string

// The states of a test.
const (
	StateReady    State = "ready"
	StateSpawning State = "spawning"
	StateRunning  State = "running"
	StateStopping State = "stopping"
	StateStopped  State = "stopped"
)

// Params are what a user chooses when starting or editing a test.
type Params struct {
	Users     int
	SpawnRate float64
	Host      string
	// RunTime limits the test (0: until stopped).
	RunTime time.Duration
	// Classes restricts the test to these user classes (empty: all).
	Classes []string
	// ClassUsers, when set, are exact per-class user counts (a load
	// shape's per-class targets); Users is then their sum.
	ClassUsers map[string]int
	// Tags and ExcludeTags select the tasks that run (-T/--tags,
	// -E/--exclude-tags; script.SelectTags). Like Classes, they are set
	// when a test starts; an edit of a running test keeps them.
	Tags, ExcludeTags []string
	// Iterations ends the test after this many task executions in all
	// (-i/--iterations; 0: no limit).
	Iterations int64
	// SetupData is what the script's setup returned: the engine fills it
	// in after Hooks.Setup, and keeps it for edits of the test.
	SetupData *script.SetupData
	// Script, when set, is the script this test runs: the process's
	// script loaded again with Vars (the web form's custom parameters);
	// nil: the process's script with the command line's --var values.
	// Vars go with it: a master sends them to its workers. Like Classes,
	// both are chosen when a test starts.
	Script *script.Script
	Vars   map[string]string
	// Workload, when set, is the test's workload model as the web form
	// chooses it; nil: the command line's (or the script's). Chosen when
	// a test starts.
	Workload *Workload
}

// Workload is a workload model spelled as the flags spell it; all empty
// is the plain closed model of Users and SpawnRate (or the script's own
// stages, shape or arrival rate).
type Workload struct {
	Stages        string // --stages: closed model, DURATION:USERS:SPAWN_RATE,...
	ArrivalRate   string // --arrival-rate: open model, e.g. 50/s
	ArrivalStages string // --arrival-stages: open model, DURATION:RATE,...
	MaxUsers      int    // --max-users: the open model's pool (0: default)
}

// Open reports whether w is the open (arrival-rate) model.
func (w *Workload) Open() bool { return w != nil && (w.ArrivalRate != "" || w.ArrivalStages != "") }

// Shaped reports whether w sets the users over time: stages or an
// arrival rate, rather than a user count.
func (w *Workload) Shaped() bool { return w.Open() || w != nil && w.Stages != "" }

// Validate checks the formats, naming the web form's fields.
func (w *Workload) Validate() error {
	if w.Stages != "" {
		if _, err := workload.ParseStages(w.Stages); err != nil {
			return &FieldError{"stages", err.Error()}
		}
		if w.Open() {
			return &FieldError{"stages", "stages are the closed model (users); an arrival rate is the open model: choose one"}
		}
	}
	if w.ArrivalRate != "" {
		r, err := workload.ParseRate(w.ArrivalRate)
		switch {
		case err != nil:
			return &FieldError{"arrival_rate", err.Error()}
		case r <= 0 && w.ArrivalStages == "":
			return &FieldError{"arrival_rate", fmt.Sprintf("must be > 0, got %q", w.ArrivalRate)}
		}
	}
	if w.ArrivalStages != "" {
		if _, err := workload.ParseArrivalStages(w.ArrivalStages); err != nil {
			return &FieldError{"arrival_stages", err.Error()}
		}
	}
	if err := bounds.Int(int64(w.MaxUsers), 0, bounds.MaxUsers); err != nil {
		return &FieldError{"max_users", err.Error()}
	}
	if w.MaxUsers > 0 && !w.Open() {
		return &FieldError{"max_users", "only for the open model (an arrival rate)"}
	}
	return nil
}

// Bounds of a tag selection: it comes from the web form too.
const (
	maxTags      = 100
	maxTagLength = 200
)

// Validate checks the parameters against the limits of package bounds,
// naming the bad field. Every front end (flags, web form, shapes) ends
// here, so a NaN or an absurd count never reaches a driver.
func (p Params) Validate() error {
	if err := bounds.Int(int64(p.Users), 0, bounds.MaxUsers); err != nil {
		return &FieldError{"user_count", err.Error()}
	}
	if err := bounds.Positive(p.SpawnRate, bounds.MaxSpawnRate); err != nil {
		return &FieldError{"spawn_rate", err.Error()}
	}
	if err := bounds.Duration(p.RunTime, 0, bounds.MaxRunTime); err != nil {
		return &FieldError{"run_time", err.Error()}
	}
	if err := bounds.Int(p.Iterations, 0, bounds.MaxIterations); err != nil {
		return &FieldError{"iterations", err.Error()}
	}
	for c, n := range p.ClassUsers {
		if err := bounds.Int(int64(n), 0, bounds.MaxUsers); err != nil {
			return &FieldError{"class_users", fmt.Sprintf("%s: %v", c, err)}
		}
	}
	if err := validTags("tags", p.Tags); err != nil {
		return err
	}
	if p.Workload != nil {
		if err := p.Workload.Validate(); err != nil {
			return err
		}
	}
	return validTags("exclude_tags", p.ExcludeTags)
}

func validTags(field string, tags []string) error {
	if len(tags) > maxTags {
		return &FieldError{field, fmt.Sprintf("at most %d tags, got %d", maxTags, len(tags))}
	}
	for _, t := range tags {
		if t == "" || len(t) > maxTagLength {
			return &FieldError{field, fmt.Sprintf("a tag must have 1 to %d characters", maxTagLength)}
		}
	}
	return nil
}

// FieldError is bad input for one field.
type FieldError struct{ Field, Msg string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Driver runs the users of a test somewhere.
type Driver interface {
	// Apply starts users or changes their number to match p.
	Apply(ctx context.Context, p Params) error
	// Stop stops every user and delivers their last statistics to the next
	// Collect. It returns when done or when ctx ends.
	Stop(ctx context.Context)
	// Users is the number of running users; Spawning reports whether the
	// count is still moving to its target.
	Users() int
	Spawning() bool
	// Collect hands every delta received or recorded since the last call
	// to add.
	Collect(now time.Time, add func(stats.Origin, *stats.Delta))
}

// TickFunc is called after every collection, once a second, with the
// history point just appended. It runs on the engine's goroutine.
type TickFunc func(now time.Time, p stats.Point, e *Engine)

// Config configures an Engine.
type Config struct {
	Driver Driver
	Log    *slog.Logger
	// Interval between collections (default 1 s).
	Interval time.Duration
	// OnTick hooks run after each collection (CSV history, progress).
	OnTick []TickFunc
	// StopGrace bounds how long Stop waits for users (default 30 s on top
	// of the driver's own stop timeout), and how long teardown may run.
	StopGrace time.Duration
	// Hooks, when set, are the test's setup and teardown.
	Hooks Hooks
	// MaxNames bounds the distinct request names of a test's aggregate
	// (0: stats.DefaultMaxNames; < 0: no limit).
	MaxNames int
}

// Engine runs tests one after another (the web UI can start a new test
// when one ended).
type Engine struct {
	cfg Config

	mu       sync.Mutex
	state    State
	params   Params
	agg      *stats.Aggregate
	started  time.Time
	ended    time.Time
	deadline *time.Timer
	reason   string
	done     chan struct{} // closed when the current test has stopped
	// settingUp is set while a new test's setup runs (without e.mu).
	settingUp bool

	loopCancel context.CancelFunc
	loopDone   chan struct{}
}

// New returns an engine in state ready.
func New(cfg Config) *Engine {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 30 * time.Second
	}
	e := &Engine{cfg: cfg, state: StateReady, done: make(chan struct{})}
	e.agg = e.newAggregate(time.Now())
	return e
}

func (e *Engine) newAggregate(start time.Time) *stats.Aggregate {
	a := stats.NewAggregate(start)
	a.LimitNames(cmp.Or(e.cfg.MaxNames, stats.DefaultMaxNames), e.cfg.Log)
	return a
}

// ErrNotRunning is returned by Stop when no test runs.
var ErrNotRunning = errors.New("no test is running")

// Start starts a test, or edits the running one (new user count, spawn
// rate; a new run time counts from now). A new test runs the hooks'
// setup first; when it fails, the test ends at once (with its statistics
// and reason, so results can be written) and Start returns a
// *SetupError.
func (e *Engine) Start(ctx context.Context, p Params) error {
	if err := p.Validate(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.state == StateStopping:
		return errors.New("the test is stopping; start again when it has stopped")
	case e.settingUp:
		return errors.New("the test is starting (the script's setup is running); try again when it has started")
	}
	fresh := e.state == StateReady || e.state == StateStopped
	setupStart := time.Now()
	if fresh {
		if err := e.setupLocked(ctx, &p); err != nil {
			e.abortLocked(p, setupStart, err)
			return &SetupError{err}
		}
	} else {
		// What a test chose at its start stays for its edits.
		p.SetupData, p.Script, p.Vars, p.Workload = e.params.SetupData, e.params.Script, e.params.Vars, e.params.Workload
	}
	if err := e.cfg.Driver.Apply(ctx, p); err != nil {
		if fresh && e.cfg.Hooks != nil && p.SetupData != nil {
			go func() { // setup ran: let the script clean up
				ctx, cancel := context.WithTimeout(context.Background(), e.cfg.StopGrace)
				defer cancel()
				e.cfg.Hooks.Teardown(ctx, p)
			}()
		}
		return err
	}
	if fresh {
		// A new test. Set up only once the driver took it, so that a start
		// that fails leaves the last test's statistics and Done alone.
		e.newTestLocked(setupStart)
		loopCtx, cancel := context.WithCancel(context.Background())
		e.loopCancel, e.loopDone = cancel, make(chan struct{})
		go e.loop(loopCtx, e.loopDone)
	}
	e.params = p
	e.state = StateSpawning
	if e.deadline != nil {
		e.deadline.Stop()
		e.deadline = nil
	}
	if p.RunTime > 0 {
		e.deadline = time.AfterFunc(p.RunTime, func() { e.StopWith("run time elapsed") })
	}
	e.cfg.Log.Info("test started", "users", p.Users, "spawn_rate", p.SpawnRate, "run_time", p.RunTime, "iterations", p.Iterations, "host", redact.Host(p.Host))
	return nil
}

// newTestLocked gives a new test fresh statistics and a Done channel.
func (e *Engine) newTestLocked(start time.Time) {
	e.agg = e.newAggregate(start)
	if e.state == StateStopped {
		e.done = make(chan struct{})
	}
	e.started, e.ended, e.reason = start, time.Time{}, ""
}

// setupLocked runs the hooks' setup without holding e.mu (it makes
// requests), and puts its data in p.
func (e *Engine) setupLocked(ctx context.Context, p *Params) error {
	if e.cfg.Hooks == nil {
		return nil
	}
	e.settingUp = true
	e.mu.Unlock()
	data, err := e.cfg.Hooks.Setup(ctx, *p)
	e.mu.Lock()
	e.settingUp = false
	p.SetupData = data
	return err
}

// abortLocked ends a test whose setup failed before any user started:
// it has the setup's statistics and the error as its reason.
func (e *Engine) abortLocked(p Params, start time.Time, err error) {
	e.newTestLocked(start)
	now := time.Now()
	if d := e.cfg.Hooks.Flush(now); d != nil {
		e.agg.Add(stats.Origin{}, d)
	}
	e.agg.Tick(now, 0)
	e.params, e.state, e.ended, e.reason = p, StateStopped, now, err.Error()
	close(e.done)
	e.cfg.Log.Error("the test did not start", "err", err)
}

// Stop stops the running test; it returns when the users have stopped and
// their last statistics are in.
func (e *Engine) Stop() error { return e.StopWith("stopped") }

// StopWith stops the test, recording why (shown in summaries).
func (e *Engine) StopWith(reason string) error {
	e.mu.Lock()
	if e.state != StateSpawning && e.state != StateRunning {
		e.mu.Unlock()
		return ErrNotRunning
	}
	e.state = StateStopping
	e.reason = reason
	if e.deadline != nil {
		e.deadline.Stop()
		e.deadline = nil
	}
	cancel, loopDone, done, params := e.loopCancel, e.loopDone, e.done, e.params
	e.mu.Unlock()

	e.cfg.Log.Info("stopping test", "reason", reason)
	ctx, c := context.WithTimeout(context.Background(), e.cfg.StopGrace)
	e.cfg.Driver.Stop(ctx)
	c()
	if e.cfg.Hooks != nil {
		// After the last user, before the last collection: the teardown's
		// requests belong to the test.
		ctx, c := context.WithTimeout(context.Background(), e.cfg.StopGrace)
		e.cfg.Hooks.Teardown(ctx, params)
		c()
	}
	cancel()
	<-loopDone // the loop collects the last deltas before it returns

	e.mu.Lock()
	e.state = StateStopped
	e.ended = time.Now()
	e.mu.Unlock()
	close(done)
	return nil
}

// Done is closed when the current test has stopped.
func (e *Engine) Done() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.done
}

// Reset clears the statistics (the web UI's "reset stats").
func (e *Engine) Reset() {
	e.mu.Lock()
	agg := e.agg
	e.mu.Unlock()
	agg.Reset(time.Now())
}

// State is the current state.
func (e *Engine) State() State {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state
}

// Params are the parameters of the current or last test. When a load
// shape sets the users, Users and SpawnRate are its current target.
func (e *Engine) Params() Params {
	e.mu.Lock()
	p := e.params
	e.mu.Unlock()
	if tr, ok := e.cfg.Driver.(TargetReporter); ok {
		if users, rate, ok := tr.Target(); ok {
			p.Users, p.SpawnRate = users, rate
		}
	}
	return p
}

// TargetReporter is implemented by drivers whose user target moves by
// itself (a load shape): Target is the current one, ok false when the
// driver has none.
type TargetReporter interface {
	Target() (users int, spawnRate float64, ok bool)
}

// Times returns when the test started and ended (zero while running), and
// why it stopped.
func (e *Engine) Times() (start, end time.Time, reason string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.started, e.ended, e.reason
}

// Users is the number of running users.
func (e *Engine) Users() int { return e.cfg.Driver.Users() }

// Aggregate is the statistics of the current or last test.
func (e *Engine) Aggregate() *stats.Aggregate {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.agg
}

// Snapshot summarises the statistics now (or at the end of a stopped test).
func (e *Engine) Snapshot(history bool) *stats.Summary {
	e.mu.Lock()
	agg, end := e.agg, e.ended
	e.mu.Unlock()
	if end.IsZero() {
		return agg.Snapshot(time.Now(), history)
	}
	// A stopped test sends nothing: its current rates and percentiles are
	// zero, as Locust's are once the last window has passed, not the
	// last second's figures frozen in the header, the table and the JSON.
	sum := agg.Snapshot(end, history)
	sum.ClearCurrent()
	return sum
}

func (e *Engine) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(e.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			e.collectSafe(now)
		case <-ctx.Done():
			e.collectSafe(time.Now())
			return
		}
	}
}

// ReasonInternal starts the stop reason of a test stopped by a panic in
// the engine's collection (a driver, a hook, an output).
const ReasonInternal = "internal error"

// collectSafe is collect that survives a panic: the test is stopped,
// and the statistics so far are kept for the outputs, rather than the
// process dying with every result.
func (e *Engine) collectSafe(now time.Time) {
	defer func() {
		if p := recover(); p != nil {
			e.cfg.Log.Error("internal error while collecting statistics: stopping the test and writing its results; please report it",
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			go e.StopWith(fmt.Sprintf("%s: panic: %v", ReasonInternal, p))
		}
	}()
	e.collect(now)
}

func (e *Engine) collect(now time.Time) {
	agg := e.advance()
	e.cfg.Driver.Collect(now, agg.Add)
	if e.cfg.Hooks != nil {
		if d := e.cfg.Hooks.Flush(now); d != nil {
			agg.Add(stats.Origin{}, d)
		}
	}
	p := agg.Tick(now, e.cfg.Driver.Users())
	for _, f := range e.cfg.OnTick {
		f(now, p, e)
	}
}

// advance moves between spawning and running and returns the aggregate.
func (e *Engine) advance() *stats.Aggregate {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch spawning := e.cfg.Driver.Spawning(); {
	case e.state == StateSpawning && !spawning:
		e.state = StateRunning
	case e.state == StateRunning && spawning:
		e.state = StateSpawning // a load shape's next stage is ramping
	}
	return e.agg
}

// String describes the engine for logs.
func (e *Engine) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return fmt.Sprintf("engine(%s, %d users)", e.state, e.params.Users)
}

// WorkerLister is implemented by drivers that run users on workers.
type WorkerLister interface {
	Workers() []output.WorkerInfo
}

// Workers lists the workers of a distributed test (nil for a local one).
func (e *Engine) Workers() []output.WorkerInfo {
	if wl, ok := e.cfg.Driver.(WorkerLister); ok {
		return wl.Workers()
	}
	return nil
}
