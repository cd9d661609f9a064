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

// ParseRate reads an arrival rate and returns it in iterations per
// second: "500/s", "500" (per second), "30/m", "3600/h", "5/100ms"
// (per any duration).
func ParseRate(s string) (float64, error) {
	s = strings.TrimSpace(s)
	num, unit, hasUnit := strings.Cut(s, "/")
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
		return 0, fmt.Errorf("%q is not a rate (e.g. 500/s, 30/m, 5/100ms)", s)
	}
	if n < 0 {
		return 0, fmt.Errorf("rate %q is negative", s)
	}
	if !hasUnit {
		unit = "s"
	}
	var per time.Duration
	switch u := strings.TrimSpace(unit); u {
	case "s", "sec", "second":
		per = time.Second
	case "m", "min", "minute":
		per = time.Minute
	case "h", "hour":
		per = time.Hour
	default:
		d, err := time.ParseDuration(u)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("%q: unit %q is not s, m, h or a positive duration like 100ms", s, u)
		}
		per = d
	}
	r := n / per.Seconds()
	if err := bounds.Float(r, 0, bounds.MaxArrivalRate); err != nil {
		return 0, fmt.Errorf("rate %q: %v iterations per second", s, err)
	}
	return r, nil
}

// FormatRate prints a rate per second the way ParseRate reads it.
func FormatRate(r float64) string {
	return strconv.FormatFloat(r, 'f', -1, 64) + "/s"
}

// ArrivalStage is one step of a ramping arrival rate: over Duration the
// rate moves linearly from the previous stage's rate (or the start rate)
// to Rate iterations per second. A stage of duration 0 jumps.
type ArrivalStage struct {
	Duration time.Duration
	Rate     float64
}

// ParseArrivalStages reads "DURATION:RATE,..." such as
// "1m:100/s,5m:1000/s" (rates as ParseRate reads them).
func ParseArrivalStages(spec string) ([]ArrivalStage, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("no stages given")
	}
	var out []ArrivalStage
	for i, part := range strings.Split(spec, ",") {
		ds, rs, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return nil, fmt.Errorf("stage %d %q: want DURATION:RATE, e.g. 1m:100/s", i+1, part)
		}
		d, err := ParseDuration(ds)
		if err != nil {
			return nil, fmt.Errorf("stage %d %q: duration: %v", i+1, part, err)
		}
		r, err := ParseRate(rs)
		if err != nil {
			return nil, fmt.Errorf("stage %d %q: %v", i+1, part, err)
		}
		out = append(out, ArrivalStage{Duration: d, Rate: r})
	}
	if err := checkTotal(len(out), func(i int) time.Duration { return out[i].Duration }); err != nil {
		return nil, err
	}
	if total := arrivalDuration(out); total <= 0 {
		return nil, errors.New("the stages last 0s in all")
	}
	return out, nil
}

func arrivalDuration(st []ArrivalStage) time.Duration {
	var d time.Duration
	for _, s := range st {
		d += s.Duration
	}
	return d
}

// FormatArrivalStages prints stages in the form ParseArrivalStages reads.
func FormatArrivalStages(st []ArrivalStage) string {
	parts := make([]string, len(st))
	for i, s := range st {
		parts[i] = formatDuration(s.Duration) + ":" + FormatRate(s.Rate)
	}
	return strings.Join(parts, ",")
}

// Schedule is an arrival rate as a function of time since the start of
// the test: a constant rate that never ends, or a piecewise-linear ramp
// that ends after its last stage.
//
// The open model's pacer does not sleep a fixed interval between
// iterations (which drifts, and cannot express a ramp): it asks the
// schedule when the n-th iteration is due, by inverting the cumulative
// count Count(t) = ∫₀ᵗ rate. That way every iteration has an exact
// intended start, a pacer that wakes late sends a burst that catches up,
// and the number of iterations in [0, T) is exactly ⌈Count(T)⌉.
type Schedule struct {
	constant float64
	start    float64   // rate at t=0 of a ramp
	ends     []float64 // end of each segment, seconds
	rates    []float64 // rate at the end of each segment
	cum      []float64 // Count at the end of each segment
	stages   []ArrivalStage
	desc     string
}

// Constant returns a schedule of rate iterations per second, forever.
func Constant(rate float64) *Schedule {
	return &Schedule{constant: rate, desc: FormatRate(rate)}
}

// Ramping returns a schedule that starts at start iterations per second
// and follows stages; it ends after the last stage.
func Ramping(start float64, stages []ArrivalStage) *Schedule {
	s := &Schedule{start: start, desc: FormatArrivalStages(stages), stages: append([]ArrivalStage(nil), stages...)}
	if start > 0 {
		s.desc = FormatRate(start) + " then " + s.desc
	}
	t, r, c := 0.0, start, 0.0
	for _, st := range stages {
		d := st.Duration.Seconds()
		c += (r + st.Rate) / 2 * d
		t += d
		r = st.Rate
		s.ends = append(s.ends, t)
		s.rates = append(s.rates, r)
		s.cum = append(s.cum, c)
	}
	if len(s.ends) == 0 {
		s.ends, s.rates, s.cum = []float64{0}, []float64{start}, []float64{0}
	}
	return s
}

func (s *Schedule) ramp() bool { return s.ends != nil }

// ScheduleSpec is what defines a Schedule, for sending it to workers.
type ScheduleSpec struct {
	// Constant is a constant rate (Start, forever); otherwise a ramp from
	// Start through Stages.
	Constant bool
	Start    float64
	Stages   []ArrivalStage
}

// Spec returns the definition of s.
func (s *Schedule) Spec() ScheduleSpec {
	if !s.ramp() {
		return ScheduleSpec{Constant: true, Start: s.constant}
	}
	return ScheduleSpec{Start: s.start, Stages: append([]ArrivalStage(nil), s.stages...)}
}

// NewSchedule makes the schedule sp defines.
func NewSchedule(sp ScheduleSpec) *Schedule {
	if sp.Constant {
		return Constant(sp.Start)
	}
	return Ramping(sp.Start, sp.Stages)
}

// String describes the schedule ("500/s" or the stages).
func (s *Schedule) String() string { return s.desc }

// Duration is the length of a ramp; ok is false for a constant rate,
// which never ends.
func (s *Schedule) Duration() (d time.Duration, ok bool) {
	if !s.ramp() {
		return 0, false
	}
	return time.Duration(s.ends[len(s.ends)-1] * float64(time.Second)), true
}

// Peak is the highest rate of the schedule.
func (s *Schedule) Peak() float64 {
	if !s.ramp() {
		return s.constant
	}
	p := s.start
	for _, r := range s.rates {
		p = math.Max(p, r)
	}
	return p
}

// segment returns the segment holding time t (seconds): its start time,
// start rate and Count at its start.
func (s *Schedule) segment(t float64) (i int, t0, r0, c0 float64) {
	t0, r0 = 0, s.start
	for i = range s.ends {
		if t < s.ends[i] {
			return i, t0, r0, c0
		}
		t0, r0, c0 = s.ends[i], s.rates[i], s.cum[i]
	}
	return len(s.ends), t0, r0, c0
}

// Rate is the rate at t seconds after the start (0 after a ramp's end).
func (s *Schedule) Rate(t float64) float64 {
	if !s.ramp() {
		return s.constant
	}
	if t < 0 {
		return s.start
	}
	i, t0, r0, _ := s.segment(t)
	if i == len(s.ends) {
		return 0
	}
	d := s.ends[i] - t0
	if d <= 0 {
		return s.rates[i]
	}
	return r0 + (s.rates[i]-r0)*(t-t0)/d
}

// Count is the number of iterations due in [0, t): the integral of the
// rate.
func (s *Schedule) Count(t float64) float64 {
	if t <= 0 {
		return 0
	}
	if !s.ramp() {
		return s.constant * t
	}
	i, t0, r0, c0 := s.segment(t)
	if i == len(s.ends) {
		return s.cum[len(s.cum)-1]
	}
	d := s.ends[i] - t0
	x := t - t0
	slope := 0.0
	if d > 0 {
		slope = (s.rates[i] - r0) / d
	}
	return c0 + r0*x + slope*x*x/2
}

// TimeOf is the moment (seconds since the start) at which Count reaches
// n: when iteration n (counting from 0) is due. ok is false when the
// schedule ends before that.
func (s *Schedule) TimeOf(n float64) (t float64, ok bool) {
	if n <= 0 {
		// the first iteration is due as soon as the rate is positive
		n = 0
	}
	if !s.ramp() {
		if s.constant <= 0 {
			return 0, false
		}
		return n / s.constant, true
	}
	t0, r0, c0 := 0.0, s.start, 0.0
	for i, end := range s.ends {
		r1, c1 := s.rates[i], s.cum[i]
		if n < c1 {
			d := end - t0
			y := n - c0
			if y <= 0 {
				return t0, true
			}
			// Solve r0·x + slope·x²/2 = y for the smallest x ≥ 0 in the
			// form that stays exact when the slope is near 0.
			slope := (r1 - r0) / d
			disc := r0*r0 + 2*slope*y
			if disc < 0 {
				disc = 0
			}
			x := 2 * y / (r0 + math.Sqrt(disc))
			return math.Min(t0+x, end), true
		}
		t0, r0, c0 = end, r1, c1
	}
	return 0, false
}
