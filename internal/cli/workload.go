package cli

import (
	"context"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/stampede-load/stampede/internal/bounds"
	"github.com/stampede-load/stampede/internal/cluster"
	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/openmodel"
	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/runner"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/shape"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/internal/workload"
)

// workloadOptions are the flags that choose the workload model: stages
// (closed) or an arrival rate (open). See docs/workload-models.md.
type workloadOptions struct {
	stages        string
	arrivalRate   string
	arrivalStages string
	maxUsers      int
	maxQueue      int
}

func (w *workloadOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&w.stages, "stages", "", `closed model: ramp through DURATION:USERS:SPAWN_RATE stages, then stop, e.g. "1m:100:10,5m:1000:50,1m:0:100"`)
	fs.StringVar(&w.arrivalRate, "arrival-rate", "", `open model: start iterations at this rate whatever the earlier ones do, e.g. 500/s, 30/m (with --arrival-stages: the start rate)`)
	fs.StringVar(&w.arrivalStages, "arrival-stages", "", `open model: ramp the arrival rate linearly through DURATION:RATE stages, then stop, e.g. "1m:100/s,5m:1000/s"`)
	fs.IntVar(&w.maxUsers, "max-users", 0, "open model: the most users the pool may create (default: the script's max_users, else the peak rate per second, at least 100)")
	fs.IntVar(&w.maxQueue, "max-queue", 0, "open model: due iterations that may wait for a free user before more are dropped (default: --max-users or one second of the peak rate, whichever is more)")
	intIn(fs, "max-users", &w.maxUsers, 0, bounds.MaxUsers)
	intIn(fs, "max-queue", &w.maxQueue, 0, bounds.MaxUsers)
}

// validate checks the formats before the script is loaded.
func (w *workloadOptions) validate() error {
	if w.stages != "" {
		if _, err := workload.ParseStages(w.stages); err != nil {
			return configErr("--stages: %v", err)
		}
		if w.arrivalRate != "" || w.arrivalStages != "" {
			return configErr("--stages and --arrival-rate/--arrival-stages: choose the closed model (users) or the open model (arrival rate), not both")
		}
	}
	if w.arrivalRate != "" {
		r, err := workload.ParseRate(w.arrivalRate)
		if err != nil {
			return configErr("--arrival-rate: %v", err)
		}
		if r <= 0 && w.arrivalStages == "" {
			return configErr("--arrival-rate: must be > 0, got %q", w.arrivalRate)
		}
	}
	if w.arrivalStages != "" {
		if _, err := workload.ParseArrivalStages(w.arrivalStages); err != nil {
			return configErr("--arrival-stages: %v", err)
		}
	}
	return nil
}

// workloadPlan is the model a test runs, from the flags and the script
// (flags win).
type workloadPlan struct {
	model string // output.ModelClosed or output.ModelOpen
	// closed model: a shape (nil: plain -u/-r)
	shape      workload.Shape
	stagesDesc string
	// open model
	schedule    *workload.Schedule
	arrivalRate string // as given, e.g. "500/s"
	maxUsers    int
	maxQueue    int
}

// plan resolves the workload model of script s.
func (w *workloadOptions) plan(s *script.Script) (*workloadPlan, error) {
	sw := s.Workload
	p := &workloadPlan{model: output.ModelClosed}
	open := w.arrivalRate != "" || w.arrivalStages != ""
	closedFlag := w.stages != ""
	switch {
	case open:
		start := 0.0
		if w.arrivalRate != "" {
			start, _ = workload.ParseRate(w.arrivalRate)
			p.arrivalRate = w.arrivalRate
		}
		if w.arrivalStages != "" {
			st, _ := workload.ParseArrivalStages(w.arrivalStages)
			p.schedule = workload.Ramping(start, st)
		} else {
			p.schedule = workload.Constant(start)
		}
	case closedFlag:
		st, _ := workload.ParseStages(w.stages)
		p.shape, p.stagesDesc = workload.Stages(st), w.stages
	case sw.Open():
		switch {
		case len(sw.ArrivalStages) > 0:
			p.schedule = workload.Ramping(sw.ArrivalRate, sw.ArrivalStages)
			if sw.ArrivalRateSet {
				p.arrivalRate = workload.FormatRate(sw.ArrivalRate)
			}
		case sw.ArrivalRate > 0:
			p.schedule = workload.Constant(sw.ArrivalRate)
			p.arrivalRate = workload.FormatRate(sw.ArrivalRate)
		default:
			return nil, configErr("%s: arrival_rate must be > 0", s.Main)
		}
	case sw.Shape != nil:
		if err := checkShape(s); err != nil {
			return nil, err
		}
		p.shape, p.stagesDesc = sw.Shape, sw.Shape.String()
	case len(sw.Stages) > 0:
		p.shape = workload.Stages(sw.Stages)
		p.stagesDesc = workload.FormatStages(sw.Stages)
	}
	if p.schedule == nil {
		if w.maxUsers > 0 || w.maxQueue > 0 {
			return nil, configErr("--max-users/--max-queue: only for the open model (--arrival-rate or --arrival-stages)")
		}
		return p, nil
	}
	p.model = output.ModelOpen
	if _, ok := p.schedule.Duration(); ok {
		if w.arrivalStages != "" {
			p.stagesDesc = w.arrivalStages
		} else {
			p.stagesDesc = workload.FormatArrivalStages(sw.ArrivalStages)
		}
	}
	peak := int(math.Ceil(p.schedule.Peak()))
	switch {
	case w.maxUsers > 0:
		p.maxUsers = w.maxUsers
	case sw.MaxUsers > 0:
		p.maxUsers = sw.MaxUsers
	default:
		p.maxUsers = max(openmodel.DefaultMaxUsers, peak)
	}
	p.maxQueue = w.maxQueue
	if p.maxQueue == 0 {
		p.maxQueue = max(p.maxUsers, peak)
	}
	return p, nil
}

// driver wraps the local driver for the plan: a shape controls its
// users, or the open model replaces it. stop ends the test (the engine
// is made after the driver, so it is looked up when called).
func (p *workloadPlan) driver(o *testOptions, s *script.Script, local *engine.LocalDriver, app *App, sess *session) engine.Driver {
	stop := sess.stopWith
	switch {
	case p.schedule != nil:
		return &openmodel.Driver{
			New: func(ep engine.Params) (*openmodel.Scheduler, error) {
				sel, err := selectTags(s, ep, app.Log)
				if err != nil {
					return nil, err
				}
				sel.StartTest(script.Partition{})
				return openmodel.New(openmodel.Config{
					Script: sel, Classes: ep.Classes, Host: ep.Host, HTTP: o.httpOptions(), Seed: o.seed,
					StopTimeout: o.stopTimeout, Log: app.Log, MaxNames: o.limits.nameLimit(),
					Schedule: p.schedule, End: ep.RunTime, MaxUsers: p.maxUsers, QueueSize: p.maxQueue,
					Iterations: sess.iterations(ep), SetupData: ep.SetupData, StopTest: sess.stopTest,
				})
			},
			OnFinish: func() { stop("arrival stages finished") },
		}
	case p.shape != nil:
		return p.wrapShape(local, s, app, stop)
	}
	return local
}

// wrapShape puts a shape in front of any closed-model driver (local, or
// a cluster master).
func (p *workloadPlan) wrapShape(inner engine.Driver, s *script.Script, app *App, stop func(reason string)) engine.Driver {
	if p.shape == nil {
		return inner
	}
	return &shape.Driver{Inner: inner, Shape: p.shape, Classes: runner.Classes(s), Log: app.Log, OnFinish: stop}
}

// runInfo fills the workload fields of the JSON document.
func (p *workloadPlan) runInfo(ri *output.RunInfo, drv engine.Driver, sum *stats.Summary) {
	ri.Model = p.model
	ri.Stages = p.stagesDesc
	ri.ArrivalRate = p.arrivalRate
	if p.schedule != nil {
		ri.Users, ri.SpawnRate = p.maxUsers, 0
		return
	}
	switch d := drv.(type) {
	case *shape.Driver:
		// what ran, not what the shape asked for: the users counted once
		// a second, or exactly where the runner is in this process
		ri.Users = d.PeakUsers()
		for _, pt := range sum.History {
			ri.Users = max(ri.Users, pt.Users)
		}
		ri.SpawnRate = d.Status().Target.SpawnRate
	}
}

// describe is one log line about the model.
func (p *workloadPlan) describe() []any {
	switch {
	case p.schedule != nil:
		return []any{"model", "open", "arrival", p.schedule.String(), "max_users", p.maxUsers, "max_queue", p.maxQueue}
	case p.shape != nil:
		return []any{"model", "closed", "shape", p.shape.String()}
	}
	return []any{"model", "closed"}
}

func (p *workloadPlan) String() string { return fmt.Sprint(p.describe()...) }

// clusterOpen is the open model for a master's workers (nil: closed).
func (p *workloadPlan) clusterOpen() *cluster.OpenModel {
	if p.schedule == nil {
		return nil
	}
	return &cluster.OpenModel{Schedule: p.schedule.Spec(), MaxUsers: p.maxUsers, MaxQueue: p.maxQueue}
}

// masterDriver wraps a cluster master for the plan: a shape sets its
// users; an arrival schedule with an end stops the test when it is over
// (the workers pace the iterations themselves).
func (p *workloadPlan) masterDriver(m *cluster.Master, s *script.Script, app *App, stop func(reason string)) engine.Driver {
	if p.schedule == nil {
		return p.wrapShape(m, s, app, stop)
	}
	if d, ok := p.schedule.Duration(); ok {
		return &scheduleEnd{Driver: m, after: d + time.Second, stop: stop}
	}
	return m
}

// scheduleEnd ends a distributed open-model test when its arrival stages
// are over, plus a second for the last iterations to finish.
type scheduleEnd struct {
	engine.Driver
	after time.Duration
	stop  func(reason string)

	mu    sync.Mutex
	timer *time.Timer
}

func (d *scheduleEnd) Apply(ctx context.Context, p engine.Params) error {
	if err := d.Driver.Apply(ctx, p); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer == nil {
		d.timer = time.AfterFunc(d.after, func() { d.stop("arrival stages finished") })
	}
	return nil
}

func (d *scheduleEnd) Stop(ctx context.Context) {
	d.mu.Lock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.mu.Unlock()
	d.Driver.Stop(ctx)
}

// Workers lists the master's workers.
func (d *scheduleEnd) Workers() []output.WorkerInfo {
	if wl, ok := d.Driver.(engine.WorkerLister); ok {
		return wl.Workers()
	}
	return nil
}

// checkShape calls the script's shape function at t=0, as the test's
// start will, so that a shape that raises or returns garbage is a script
// error (exit 2) before any load is sent, and `stampede check` finds it.
func checkShape(s *script.Script) error {
	sh := s.Workload.Shape
	if sh == nil {
		return nil
	}
	_, done, err := sh.Tick(0, 0)
	switch {
	case err != nil:
		return configErr("%v", err)
	case done:
		return configErr("%s: it returned None at t=0, so the test would end before it starts", sh)
	}
	return nil
}

// printWorkload tells `stampede check` what load over time the script
// asks for.
func printWorkload(w io.Writer, s *script.Script) {
	sw := s.Workload
	switch {
	case len(sw.ArrivalStages) > 0:
		fmt.Fprintf(w, "\nWorkload: open model, arrival stages %s", workload.NewSchedule(workload.ScheduleSpec{Start: sw.ArrivalRate, Stages: sw.ArrivalStages}))
	case sw.ArrivalRateSet:
		fmt.Fprintf(w, "\nWorkload: open model, arrival rate %s", workload.FormatRate(sw.ArrivalRate))
	case sw.Shape != nil:
		fmt.Fprintf(w, "\nWorkload: closed model, %s\n", sw.Shape)
		return
	case len(sw.Stages) > 0:
		st := workload.Stages(sw.Stages)
		fmt.Fprintf(w, "\nWorkload: closed model, stages %s (%s, peak %d users)\n", st, workload.StagesDuration(st), workload.PeakUsers(st))
		return
	default:
		return
	}
	if sw.MaxUsers > 0 {
		fmt.Fprintf(w, ", max_users %d", sw.MaxUsers)
	}
	fmt.Fprintln(w)
}

// progress is the workload's part of the progress line: the open model's
// target rate, queue and dropped iterations, or a shape's stage.
func (p *workloadPlan) progress(drv engine.Driver) string {
	switch d := drv.(type) {
	case *openmodel.Driver:
		st := d.Status()
		s := fmt.Sprintf("rate %.0f/s", st.Rate)
		if st.Queued > 0 {
			s += fmt.Sprintf(" queued %d", st.Queued)
		}
		if st.Dropped > 0 {
			s += fmt.Sprintf(" DROPPED %d", st.Dropped)
		}
		return s
	case *shape.Driver:
		st := d.Status()
		if st.Stages > 0 {
			return fmt.Sprintf("stage %d/%d target %d users", st.Stage, st.Stages, st.Target.Users)
		}
		return fmt.Sprintf("shape target %d users", st.Target.Users)
	}
	return ""
}
