// Package workload describes how much load a test offers over time: the
// closed model's stages and shapes (how many users, started how fast) and
// the open model's arrival-rate schedules (how many iterations start per
// second, whatever the earlier ones are doing). It only holds the
// descriptions, their parsing and their arithmetic; the runner, the
// open-model scheduler and the shape controller act on them.
package workload

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/bounds"
)

// ParseDuration reads a duration as the command line does: a Go duration
// ("1h30m", "90s", "250ms") or a plain number of seconds.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty duration")
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		d, err := bounds.Seconds(n)
		if err != nil {
			return 0, fmt.Errorf("%q: %v", s, err)
		}
		return d, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (e.g. 30s, 5m, 1h30m)", s)
	}
	if err := bounds.Duration(d, 0, bounds.MaxRunTime); err != nil {
		return 0, fmt.Errorf("%q: %v", s, err)
	}
	return d, nil
}

// formatDuration prints d the short way: 1m, 90s, 1m30s, 250ms.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Stage is one step of a closed-model load shape: move to Users users,
// starting (or stopping) SpawnRate users per second, and stay there until
// the stage's Duration, counted from the stage's start, is over.
type Stage struct {
	Duration  time.Duration
	Users     int
	SpawnRate float64
}

// Validate checks a stage; i is its position, for messages.
func (s Stage) Validate(i int) error {
	switch {
	case s.Duration <= 0:
		return fmt.Errorf("stage %d: duration must be > 0", i+1)
	}
	if err := bounds.Int(int64(s.Users), 0, bounds.MaxUsers); err != nil {
		return fmt.Errorf("stage %d: users %v", i+1, err)
	}
	if err := bounds.Positive(s.SpawnRate, bounds.MaxSpawnRate); err != nil {
		return fmt.Errorf("stage %d: spawn rate %v", i+1, err)
	}
	return nil
}

// ParseStages reads "DURATION:USERS:SPAWN_RATE,..." such as
// "1m:100:10,5m:1000:50,1m:0:100". The spawn rate may be left out
// ("1m:100"), in which case the stage's users are reached within the
// stage: |users - previous users| / duration, at least 1 per second.
func ParseStages(spec string) ([]Stage, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("no stages given")
	}
	var out []Stage
	prev := 0
	for i, part := range strings.Split(spec, ",") {
		f := strings.Split(strings.TrimSpace(part), ":")
		if len(f) < 2 || len(f) > 3 {
			return nil, fmt.Errorf("stage %d %q: want DURATION:USERS[:SPAWN_RATE], e.g. 1m:100:10", i+1, part)
		}
		d, err := ParseDuration(f[0])
		if err != nil {
			return nil, fmt.Errorf("stage %d %q: duration: %v", i+1, part, err)
		}
		u, err := strconv.Atoi(strings.TrimSpace(f[1]))
		if err != nil {
			return nil, fmt.Errorf("stage %d %q: users: %q is not a whole number", i+1, part, f[1])
		}
		st := Stage{Duration: d, Users: u}
		if len(f) == 3 {
			r, err := strconv.ParseFloat(strings.TrimSpace(f[2]), 64)
			if err != nil {
				return nil, fmt.Errorf("stage %d %q: spawn rate: %q is not a number", i+1, part, f[2])
			}
			st.SpawnRate = r
		} else {
			st.SpawnRate = DefaultSpawnRate(prev, u, d)
		}
		if err := st.Validate(i); err != nil {
			return nil, fmt.Errorf("%v (in %q)", err, part)
		}
		out = append(out, st)
		prev = u
	}
	if err := checkTotal(len(out), func(i int) time.Duration { return out[i].Duration }); err != nil {
		return nil, err
	}
	return out, nil
}

// checkTotal refuses stages longer in all than a run may be: each is
// bounded, but their sum could even wrap around time.Duration to a short
// or negative total.
func checkTotal(n int, dur func(i int) time.Duration) error {
	total := 0.0
	for i := range n {
		total += dur(i).Seconds()
	}
	if total > bounds.MaxRunTime.Seconds() {
		return fmt.Errorf("the stages last too long in all (at most %s)", bounds.MaxRunTime)
	}
	return nil
}

// DefaultSpawnRate is the rate that moves from users to target within d,
// at least one user per second.
func DefaultSpawnRate(users, target int, d time.Duration) float64 {
	diff := math.Abs(float64(target - users))
	if d <= 0 {
		return math.Max(1, diff)
	}
	return math.Max(1, diff/d.Seconds())
}

// FormatStages prints stages in the form ParseStages reads.
func FormatStages(st []Stage) string {
	parts := make([]string, len(st))
	for i, s := range st {
		parts[i] = fmt.Sprintf("%s:%d:%s", formatDuration(s.Duration), s.Users, strconv.FormatFloat(s.SpawnRate, 'f', -1, 64))
	}
	return strings.Join(parts, ",")
}

// StagesDuration is the total length of stages.
func StagesDuration(st []Stage) time.Duration {
	var d time.Duration
	for _, s := range st {
		d += s.Duration
	}
	return d
}

// PeakUsers is the largest user count of stages.
func PeakUsers(st []Stage) int {
	p := 0
	for _, s := range st {
		p = max(p, s.Users)
	}
	return p
}

// Target is what a closed-model shape asks for at one moment.
type Target struct {
	Users     int     `json:"users"`
	SpawnRate float64 `json:"spawn_rate"`
	// Classes, when set, are exact per-class user counts (their sum is
	// Users); otherwise Users are shared by the classes' weights.
	Classes map[string]int `json:"classes,omitempty"`
	// Only, when set, restricts the users to these classes (shared by
	// weight among them), like the user_classes of a Locust shape.
	Only []string `json:"only,omitempty"`
}

// Equal reports whether t and o ask for the same thing.
func (t Target) Equal(o Target) bool {
	if t.Users != o.Users || t.SpawnRate != o.SpawnRate || len(t.Classes) != len(o.Classes) || len(t.Only) != len(o.Only) {
		return false
	}
	for k, v := range t.Classes {
		if w, ok := o.Classes[k]; !ok || w != v {
			return false
		}
	}
	for i := range t.Only {
		if t.Only[i] != o.Only[i] {
			return false
		}
	}
	return true
}

// Shape decides the closed model's target as the test goes.
type Shape interface {
	// Tick returns the target at elapsed (time since the test started)
	// given the users running now, or done when the test should end.
	Tick(elapsed time.Duration, users int) (t Target, done bool, err error)
	// Next is the next moment at which the target is known to change
	// (0: unknown; the controller then asks again about a second later).
	Next(elapsed time.Duration) time.Duration
	// String describes the shape for logs and reports.
	String() string
}

// Stages is a Shape that walks through a list of stages by the clock:
// stage i runs from the sum of the durations before it to that sum plus
// its own duration, whether or not its ramp has finished.
type Stages []Stage

// Tick returns the stage in force at elapsed.
func (s Stages) Tick(elapsed time.Duration, _ int) (Target, bool, error) {
	i := s.Index(elapsed)
	if i < 0 {
		return Target{}, true, nil
	}
	return Target{Users: s[i].Users, SpawnRate: s[i].SpawnRate}, false, nil
}

// Index is the stage in force at elapsed, -1 after the last one.
func (s Stages) Index(elapsed time.Duration) int {
	var end time.Duration
	for i, st := range s {
		end += st.Duration
		if elapsed < end {
			return i
		}
	}
	return -1
}

// Next is the end of the stage in force at elapsed.
func (s Stages) Next(elapsed time.Duration) time.Duration {
	var end time.Duration
	for _, st := range s {
		end += st.Duration
		if elapsed < end {
			return end
		}
	}
	return 0
}

func (s Stages) String() string { return FormatStages(s) }
