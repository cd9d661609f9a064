package openmodel

import (
	"context"
	"sync"
	"time"

	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/stats"
)

// Driver runs an open-model test in this process for an engine.Engine
// (`stampede run --arrival-rate ...`). A fresh Scheduler is made for every
// test, so a test started again from the web UI starts from clean users
// and statistics.
type Driver struct {
	// New makes the scheduler of one test from the engine's parameters
	// (p.RunTime may become Config.End; p.Classes Config.Classes).
	New func(p engine.Params) (*Scheduler, error)
	// Origin labels the deltas (zero for a plain local run).
	Origin stats.Origin
	// OnFinish is called when a schedule with an end (arrival stages)
	// is over and its last iterations have finished; the CLI stops the
	// engine there with the reason "arrival stages finished". A schedule
	// cut by the run time (Config.End) is left to the engine's deadline.
	OnFinish func()

	mu      sync.Mutex
	s       *Scheduler
	stopped bool
}

// Apply starts the scheduler on the first call. Later calls (an edit
// from the web UI) leave the schedule as it is: the rate is the test's
// definition in the open model.
func (d *Driver) Apply(ctx context.Context, p engine.Params) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.s != nil {
		return nil
	}
	s, err := d.New(p)
	if err != nil {
		return err
	}
	if s.cfg.OnFinish == nil && d.OnFinish != nil {
		s.cfg.OnFinish = func() {
			if s.scheduleEnded.Load() {
				d.OnFinish()
			}
		}
	}
	s.Start(context.Background())
	d.s, d.stopped = s, false
	return nil
}

// Stop stops the scheduler; it is discarded after the final Collect.
func (d *Driver) Stop(ctx context.Context) {
	d.mu.Lock()
	s := d.s
	d.stopped = true
	d.mu.Unlock()
	if s != nil {
		s.Stop(ctx)
	}
}

// Users is the size of the pool of users.
func (d *Driver) Users() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.s == nil {
		return 0
	}
	return d.s.Users()
}

// Spawning is always false: the open model has no ramp of users.
func (d *Driver) Spawning() bool { return false }

// Collect flushes the scheduler's recorder. After Stop, the final flush
// also forgets the scheduler, so the next Apply starts a new test.
func (d *Driver) Collect(now time.Time, add func(stats.Origin, *stats.Delta)) {
	d.mu.Lock()
	s := d.s
	if d.stopped && s != nil {
		d.s = nil
	}
	d.mu.Unlock()
	if s != nil {
		add(d.Origin, s.Flush(now))
	}
}

// Scheduler is the current scheduler, nil between tests.
func (d *Driver) Scheduler() *Scheduler {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s
}

// Status is the current scheduler's status (zero between tests).
func (d *Driver) Status() Status {
	if s := d.Scheduler(); s != nil {
		return s.Status()
	}
	return Status{}
}
