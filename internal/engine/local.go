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

// Apply starts the runner on the first call and retargets it after.
func (d *LocalDriver) Apply(_ context.Context, p Params) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	fresh := d.r == nil
	if fresh {
		r, err := d.NewRunner(p)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithCancel(context.Background())
		r.Start(ctx)
		d.r, d.cancel, d.stopped, d.peak = r, cancel, false, 0
		d.classes = r.ClassList()
		if len(p.Classes) > 0 {
			d.classes = runner.FilterClasses(d.classes, p.Classes)
			if len(d.classes) == 0 {
				cancel()
				d.r = nil
				return &FieldError{"user_classes", fmt.Sprintf("none of %v is a user class of the script", p.Classes)}
			}
		}
	}
	targets := runner.Distribute(d.classes, p.Users)
	if len(p.ClassUsers) > 0 {
		targets = make(map[string]int, len(d.classes))
		for _, c := range d.classes {
			targets[c.Name] = 0
		}
		for name, n := range p.ClassUsers {
			if _, ok := targets[name]; !ok && slices.Contains(d.r.Excluded(), name) {
				continue // the tag selection left it no task: no users, as on a master
			} else if !ok {
				if fresh {
					// As for user_classes: a start that fails leaves no
					// runner (and no class filter) for the next start.
					d.cancel()
					d.r = nil
				}
				return &FieldError{"class_users", fmt.Sprintf("%q is not a user class of this test", name)}
			}
			targets[name] = n
		}
	}
	d.r.SetTargets(targets, p.SpawnRate)
	return nil
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
