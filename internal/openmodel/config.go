package openmodel

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/internal/workload"
)

// Config configures a Scheduler.
type Config struct {
	Script *script.Script
	// Classes restricts the iterations to these user classes (empty: all).
	// Iterations are shared among classes by weight (fixed_count is used
	// as the weight of a class that has one).
	Classes []string
	// Host overrides the script's and classes' hosts when set.
	Host string
	HTTP httpclient.Options
	// Seed makes the scripts' random module repeatable (0: random).
	Seed int64
	// StopTimeout lets running iterations finish this long at Stop; zero
	// interrupts them at their next request.
	StopTimeout time.Duration
	Log         *slog.Logger
	// IDOffset is added to user ids (workers of a cluster use disjoint
	// ranges).
	IDOffset int

	// Schedule is the arrival rate of the whole test.
	Schedule *workload.Schedule
	// Share is this scheduler's fraction of the rate, in (0, 1] (default
	// 1); a cluster's workers get shares that add up to 1.
	Share float64
	// Phase, in [0, 1), shifts this scheduler's iterations by that
	// fraction of its own interval, so workers sharing a rate interleave
	// their iterations instead of starting them in lockstep.
	Phase float64
	// Origin is time zero of the schedule (default: when Start is
	// called). A scheduler that starts after Origin (a worker joining a
	// running test) starts at the schedule's current point.
	Origin time.Time
	// End stops the schedule at Origin+End (0: the schedule's own end;
	// a constant rate never ends by itself).
	End time.Duration

	// MaxUsers bounds the pool of virtual users (default 100).
	MaxUsers int
	// QueueSize bounds the iterations waiting for a free user (default:
	// MaxUsers, at least 100); iterations beyond it are dropped.
	QueueSize int
	// WarnEvery is the minimum time between two warnings about queueing
	// or dropped iterations (default 5 s).
	WarnEvery time.Duration

	// Recorder, when set, records the iterations' requests (a cluster
	// worker shares its runner's); it must keep service times. Default:
	// a recorder of the scheduler's own.
	Recorder *stats.Recorder
	// CatchUp starts the schedule at Origin even when Start is called
	// later, sending at once what was due since then (a worker that was
	// part of a test from its start); otherwise a scheduler started late
	// begins at the schedule's current point (a worker that joined).
	CatchUp bool

	// MaxNames bounds the distinct request names of the scheduler's own
	// recorder (0: stats.DefaultMaxNames; < 0: no limit).
	MaxNames int

	// OnFinish is called (on its own goroutine) when the schedule has
	// ended and every started iteration has finished.
	OnFinish func()
	// OnIteration, when set, is called by the user goroutine as each
	// iteration starts (benchmarks use it to measure the start lag).
	OnIteration func(intended, started time.Time)

	// Iterations, when set, bounds the iterations run (-i/--iterations):
	// once it is spent, due iterations are skipped.
	Iterations *workload.Iterations
	// SetupData is what the script's setup returned (u.setup_data).
	SetupData *script.SetupData
	// StopTest ends the whole test (u.stop_test(reason)).
	StopTest func(reason string)
}

// Defaults.
const (
	DefaultMaxUsers  = 100
	minQueue         = 100
	defaultWarnEvery = 5 * time.Second
)

// New returns a scheduler; call Start.
func New(cfg Config) (*Scheduler, error) {
	if cfg.Script == nil || cfg.Schedule == nil {
		return nil, errors.New("openmodel: a script and a schedule are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Share == 0 {
		cfg.Share = 1
	}
	if cfg.Share < 0 || cfg.Share > 1 || math.IsNaN(cfg.Share) {
		return nil, fmt.Errorf("openmodel: share %g is not in (0, 1]", cfg.Share)
	}
	if cfg.Phase < 0 || cfg.Phase >= 1 {
		cfg.Phase = 0
	}
	if cfg.MaxUsers <= 0 {
		cfg.MaxUsers = DefaultMaxUsers
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = max(cfg.MaxUsers, minQueue)
	}
	if cfg.WarnEvery <= 0 {
		cfg.WarnEvery = defaultWarnEvery
	}
	rec := cfg.Recorder
	if rec == nil || !rec.OpenModel() {
		rec = stats.NewRecorder(4*runtime.GOMAXPROCS(0), time.Now(), true)
		rec.LimitNames(cmp.Or(cfg.MaxNames, stats.DefaultMaxNames), cfg.Log)
	}
	s := &Scheduler{
		cfg:   cfg,
		rec:   rec,
		ctl:   make(chan float64, 1),
		all:   map[*vu]struct{}{},
		share: cfg.Share,
	}
	s.idleCond = sync.NewCond(&s.mu)
	for _, uc := range cfg.Script.Classes {
		if len(cfg.Classes) > 0 && !contains(cfg.Classes, uc.Name) {
			continue
		}
		w := uc.Weight
		if uc.FixedCount > 0 {
			w = uc.FixedCount
		}
		if w <= 0 {
			continue
		}
		s.classes = append(s.classes, &class{uc: uc, weight: w, queue: make([]int64, min(cfg.QueueSize, 64))})
	}
	if len(s.classes) == 0 {
		return nil, fmt.Errorf("openmodel: no user class with a positive weight among %v", classNames(cfg.Script, cfg.Classes))
	}
	s.wrr = make([]int, len(s.classes))
	return s, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func classNames(sc *script.Script, only []string) []string {
	if len(only) > 0 {
		return only
	}
	var out []string
	for _, c := range sc.Classes {
		out = append(out, c.Name)
	}
	return out
}
