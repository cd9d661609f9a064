package cli

import (
	"context"
	"sync"
	"time"

	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/internal/workload"
)

// perTest is the engine's driver: at the start of every test it builds
// the driver of that test's workload model (the web form's, in
// engine.Params.Workload, else the command line's plan) and hands
// everything to it until the next test starts. The web UI can so run a
// closed-model test, then an open-model one, in one process.
type perTest struct {
	build func(p engine.Params) (engine.Driver, *workloadPlan, error)
	// workers lists a master's workers before the first test has a
	// driver (nil for run): they are shown as they join.
	workers engine.WorkerLister

	mu     sync.Mutex
	cur    engine.Driver
	plan   *workloadPlan
	active bool
}

// current is the driver and plan of the current or last test (nil
// before the first).
func (d *perTest) current() (engine.Driver, *workloadPlan) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cur, d.plan
}

func (d *perTest) Apply(ctx context.Context, p engine.Params) error {
	d.mu.Lock()
	cur, active := d.cur, d.active
	d.mu.Unlock()
	if active {
		return cur.Apply(ctx, p)
	}
	drv, plan, err := d.build(p)
	if err != nil {
		return err
	}
	if err := drv.Apply(ctx, p); err != nil {
		return err
	}
	d.mu.Lock()
	d.cur, d.plan, d.active = drv, plan, true
	d.mu.Unlock()
	return nil
}

func (d *perTest) Stop(ctx context.Context) {
	if cur, _ := d.current(); cur != nil {
		cur.Stop(ctx)
	}
	d.mu.Lock()
	d.active = false
	d.mu.Unlock()
}

func (d *perTest) Users() int {
	if cur, _ := d.current(); cur != nil {
		return cur.Users()
	}
	return 0
}

func (d *perTest) Spawning() bool {
	cur, _ := d.current()
	return cur != nil && cur.Spawning()
}

func (d *perTest) Collect(now time.Time, add func(stats.Origin, *stats.Delta)) {
	if cur, _ := d.current(); cur != nil {
		cur.Collect(now, add)
	}
}

// Target is the current test's moving target, when its driver has one
// (engine.TargetReporter).
func (d *perTest) Target() (users int, spawnRate float64, ok bool) {
	cur, _ := d.current()
	if tr, isTR := cur.(engine.TargetReporter); isTR {
		return tr.Target()
	}
	return 0, 0, false
}

// Workers lists a master's workers (engine.WorkerLister).
func (d *perTest) Workers() []output.WorkerInfo {
	cur, _ := d.current()
	if wl, ok := cur.(engine.WorkerLister); ok {
		return wl.Workers()
	}
	if d.workers != nil {
		return d.workers.Workers()
	}
	return nil
}

// perTest makes the session's driver: each test runs the driver newDriver
// makes for its plan.
func (sess *session) perTest(newDriver func(*workloadPlan, engine.Params) engine.Driver) *perTest {
	spelled := sess.plan.workloadDefaults(&sess.o.wl)
	return &perTest{build: func(p engine.Params) (engine.Driver, *workloadPlan, error) {
		pl := sess.plan
		if p.Workload != nil && *p.Workload != *spelled {
			var err error
			if pl, err = sess.o.wl.forTest(p).plan(scriptFor(sess.script, p)); err != nil {
				return nil, nil, err
			}
		}
		return newDriver(pl, p), pl, nil
	}}
}

// current is the driver and workload plan of the current or last test
// (before the first: the command line's plan).
func (sess *session) current() (engine.Driver, *workloadPlan) {
	if sess.models != nil {
		if drv, plan := sess.models.current(); plan != nil {
			return drv, plan
		}
	}
	return nil, sess.plan
}

// forTest is the workload options of test p: the model the web form
// chose for it, else the command line's. --max-queue stays the command
// line's (the form has no such field).
func (w *workloadOptions) forTest(p engine.Params) *workloadOptions {
	if p.Workload == nil {
		return w
	}
	t := &workloadOptions{stages: p.Workload.Stages, arrivalRate: p.Workload.ArrivalRate,
		arrivalStages: p.Workload.ArrivalStages, maxUsers: p.Workload.MaxUsers}
	if p.Workload.Open() {
		t.maxQueue = w.maxQueue
	}
	return t
}

// scriptFor is the script of test p: the one loaded with the web form's
// custom parameters, else s.
func scriptFor(s *script.Script, p engine.Params) *script.Script {
	if p.Script != nil {
		return p.Script
	}
	return s
}

// workloadDefaults is the command line's (or the script's) workload
// model as the web form shows it, so that a test started from the form
// unchanged runs it. A script's shape function has no spelling there:
// no model given falls back to it, as on the command line.
func (p *workloadPlan) workloadDefaults(w *workloadOptions) *engine.Workload {
	switch {
	case p.schedule != nil:
		wl := &engine.Workload{ArrivalRate: p.arrivalRate, MaxUsers: w.maxUsers}
		if _, ok := p.schedule.Duration(); ok {
			wl.ArrivalStages = p.stagesDesc
		}
		return wl
	case p.shape != nil:
		if _, ok := p.shape.(workload.Stages); ok {
			return &engine.Workload{Stages: p.stagesDesc}
		}
	}
	return &engine.Workload{}
}
