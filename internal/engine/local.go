package engine

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/stampede-load/stampede/internal/runner"
	"github.com/stampede-load/stampede/internal/stats"
)

// LocalDriver runs the users in this process (`stampede run`).
type LocalDriver struct {
	// NewRunner makes the runner of one test (a fresh one per test, so a
	// new test starts from clean users and statistics).
	NewRunner func(p Params) (*runner.Runner, error)
	// Origin labels the deltas (zero for a plain local run).
	Origin stats.Origin

	mu      sync.Mutex
	r       *runner.Runner
	classes []runner.Class
	cancel  context.CancelFunc
	stopped bool
	peak    int // PeakUsers of the last test's runner, kept after it is discarded
}

// Apply starts the runner on the first call and retargets it after. The
// parameters are checked before a new runner starts, so a start that
// fails leaves no runner (and no class filter) for the next one.
func (d *LocalDriver) Apply(_ context.Context, p Params) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, classes := d.r, d.classes
	if r == nil {
		var err error
		if r, err = d.NewRunner(p); err != nil {
			return err
		}
		classes = r.ClassList()
		if len(p.Classes) > 0 {
			classes = runner.FilterClasses(classes, p.Classes)
			if len(classes) == 0 {
				return &FieldError{"user_classes", fmt.Sprintf("none of %v is a user class of the script", p.Classes)}
			}
		}
	}
	targets, err := classTargets(r, classes, p)
	if err != nil {
		return err
	}
	if d.r == nil {
		ctx, cancel := context.WithCancel(context.Background())
		r.Start(ctx)
		d.r, d.cancel, d.stopped, d.peak, d.classes = r, cancel, false, 0, classes
	}
	d.r.SetTargets(targets, p.SpawnRate)
	return nil
}

// classTargets is the users wanted per class: p.ClassUsers when given
// (a class the tag selection emptied gets none, as on a master), else
// p.Users shared out by weight.
func classTargets(r *runner.Runner, classes []runner.Class, p Params) (map[string]int, error) {
	if len(p.ClassUsers) == 0 {
		return runner.Distribute(classes, p.Users), nil
	}
	targets := make(map[string]int, len(classes))
	for _, c := range classes {
		targets[c.Name] = 0
	}
	for name, n := range p.ClassUsers {
		if _, ok := targets[name]; ok {
			targets[name] = n
		} else if !slices.Contains(r.Excluded(), name) {
			return nil, &FieldError{"class_users", fmt.Sprintf("%q is not a user class of this test", name)}
		}
	}
	return targets, nil
}

// Stop stops the users; the runner is discarded after the final Collect.
func (d *LocalDriver) Stop(ctx context.Context) {
	d.mu.Lock()
	r := d.r
	d.mu.Unlock()
	if r != nil {
		r.Stop(ctx)
	}
	// Only now may Collect forget the runner: until its users have ended,
	// their requests in flight still land in its recorder.
	d.mu.Lock()
	d.stopped = true
	d.mu.Unlock()
}

// Users is the number of running users.
func (d *LocalDriver) Users() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.r == nil {
		return 0
	}
	return d.r.Users()
}

// Spawning reports whether users are still being started or stopped.
func (d *LocalDriver) Spawning() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.r != nil && d.r.Spawning()
}

// Collect flushes the runner's recorder. After Stop, the final flush also
// forgets the runner, so the next Apply starts a new test from scratch.
func (d *LocalDriver) Collect(now time.Time, add func(stats.Origin, *stats.Delta)) {
	d.mu.Lock()
	r, stopped := d.r, d.stopped
	if stopped && r != nil {
		d.peak = r.PeakUsers()
		d.cancel()
		d.r = nil
	}
	d.mu.Unlock()
	if r != nil {
		add(d.Origin, r.Flush(now))
	}
}

// PeakUsers is the most users that ran at once in the current or last
// test (PeakReporter).
func (d *LocalDriver) PeakUsers() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.r != nil {
		return d.r.PeakUsers()
	}
	return d.peak
}

// PeakReporter is implemented by drivers that know the most users that
// ran at once (not the most a target or shape asked for).
type PeakReporter interface {
	PeakUsers() int
}

// Runner is the current runner, nil between tests.
func (d *LocalDriver) Runner() *runner.Runner {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.r
}
