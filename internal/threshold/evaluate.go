package threshold

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/stats"
)

// Result is the verdict of one threshold over one summary.
type Result struct {
	Threshold *Threshold
	// Value is the measured value in the metric's unit.
	Value  float64
	Passed bool
	// NoData is set when the scope had nothing to measure (no such entry
	// or region, or no requests for a time or ratio metric). It counts as
	// a failure at the end of a run, since a threshold that measured
	// nothing proves nothing (and a misspelt name must not pass silently).
	NoData bool
	// Final is set when a failure can no longer turn into a pass however
	// the run goes on: a count that only grows is already past an upper
	// limit (requests<N, failures<N), the maximum is already above an
	// upper limit or the minimum below a lower one.
	Final bool
	// Skipped is set for a threshold relative to a baseline that is
	// missing (--baseline-optional); it counts as passed.
	Skipped bool
	Message string
}

// ParseAll parses the --threshold flags and the script's thresholds list,
// reporting every malformed expression at once.
func ParseAll(flags, script []string) ([]*Threshold, error) {
	var out []*Threshold
	var errs []error
	for _, e := range flags {
		t, err := Parse(e, "--threshold")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, t)
	}
	for i, e := range script {
		t, err := Parse(e, fmt.Sprintf("script thresholds[%d]", i))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, t)
	}
	return out, errors.Join(errs...)
}

// EvaluateAll evaluates every threshold at the end of a run and returns
// the results for the JSON document and whether all passed.
func EvaluateAll(ts []*Threshold, s *stats.Summary) ([]output.ThresholdResult, bool) {
	out := make([]output.ThresholdResult, 0, len(ts))
	passed := true
	for _, t := range ts {
		r := t.Evaluate(s)
		passed = passed && r.Passed
		out = append(out, output.ThresholdResult{
			Expr: t.Expr, Metric: t.Describe(), Value: r.Value, Passed: r.Passed, Message: r.Message,
			Skipped: r.Skipped, Baseline: t.baselineValue(),
		})
	}
	return out, passed
}

// Evaluate measures t over s.
func (t *Threshold) Evaluate(s *stats.Summary) Result {
	r := Result{Threshold: t}
	if t.Relative != nil {
		switch {
		case !t.bound:
			return t.noData(r, errUnbound.Error())
		case t.skipped != "":
			// The measured value is still reported (the JSON's value),
			// only the verdict is skipped.
			r.Value, _, _ = t.measure(s)
			r.Passed, r.Skipped, r.Message = true, true, "skipped: "+t.skipped
			return r
		case t.baselineNoData != "":
			return t.noData(r, "the baseline has no value: "+t.baselineNoData)
		}
	}
	v, noData, err := t.measure(s)
	if noData != "" {
		return t.noData(r, noData)
	}
	if err != nil {
		r.Message = err.Error()
		return r
	}
	r.Value = v
	r.Passed = t.holds(r.Value)
	if !r.Passed {
		r.Final = t.cannotRecover(r.Value)
		r.Message = fmt.Sprintf("%s = %s, wanted %s %s", t.Describe(), t.FormatValue(r.Value), t.Op, t.FormatValue(t.Limit))
		if t.Relative != nil {
			r.Message += " (baseline " + t.FormatValue(t.baseline) + ")"
		}
	}
	return r
}

// baselineValue is the baseline's value of a bound relative threshold.
func (t *Threshold) baselineValue() *float64 {
	if t.Relative == nil || !t.bound || t.skipped != "" || t.baselineNoData != "" {
		return nil
	}
	v := t.baseline
	return &v
}

// measure computes t's metric over s. noData says why there was nothing
// to measure; err is a scope that cannot be measured (several entries'
// percentiles).
func (t *Threshold) measure(s *stats.Summary) (v float64, noData string, err error) {
	if s == nil {
		return 0, "no statistics", nil
	}
	entries, total := s.Entries, s.Total
	if t.Region != "" {
		found := false
		var names []string
		for _, reg := range s.Regions {
			names = append(names, reg.Region)
			if reg.Region == t.Region {
				entries, total, found = reg.Entries, reg.Total, true
			}
		}
		if !found {
			if len(names) == 0 {
				return 0, fmt.Sprintf("no region %q: the run had no regions (regions come from workers)", t.Region), nil
			}
			sort.Strings(names)
			return 0, fmt.Sprintf("no region %q (regions: %s)", t.Region, strings.Join(names, ", ")), nil
		}
	}
	var sel []stats.EntryStats
	if t.Name == "" && t.Method == "" {
		sel = []stats.EntryStats{total}
	} else {
		for _, e := range entries {
			if (t.Name == "" || e.Name == t.Name) && (t.Method == "" || strings.EqualFold(e.Method, t.Method)) {
				sel = append(sel, e)
			}
		}
		if len(sel) == 0 {
			return 0, "no requests matched " + t.selectorText(), nil
		}
	}
	var req, fail int64
	var rps, frps float64
	for _, e := range sel {
		req += e.Requests
		fail += e.Failures
		rps += e.RPS
		frps += e.FailPerSec
	}
	switch t.Kind {
	case KindCount:
		if t.Metric == "requests" {
			return float64(req), "", nil
		}
		return float64(fail), "", nil
	case KindRate:
		if t.Metric == "rps" {
			return rps, "", nil
		}
		return frps, "", nil
	case KindRatio:
		if req == 0 {
			return 0, "no requests were made", nil
		}
		return float64(fail) / float64(req), "", nil
	}
	if req == 0 {
		return 0, "no requests were made", nil
	}
	v, err = timeValue(t, sel, req)
	return v, "", err
}

func (t *Threshold) noData(r Result, msg string) Result {
	r.NoData, r.Passed, r.Message = true, false, msg
	return r
}

func (t *Threshold) selectorText() string {
	var parts []string
	if t.Method != "" {
		parts = append(parts, "method="+t.Method)
	}
	if t.Name != "" {
		parts = append(parts, "name="+t.Name)
	}
	if t.Region != "" {
		parts = append(parts, "region="+t.Region)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// timeValue computes a time metric over one or more entries. Averages,
// minima and maxima combine exactly; percentiles of several entries
// cannot be combined from their summaries, so they need a method= to pick
// one.
func timeValue(t *Threshold, sel []stats.EntryStats, req int64) (float64, error) {
	if len(sel) == 1 {
		e := sel[0]
		switch t.Metric {
		case "avg":
			return e.AvgMs, nil
		case "min":
			return e.MinMs, nil
		case "max":
			return e.MaxMs, nil
		case "median":
			return e.MedianMs, nil
		}
		return e.Percentiles.At(t.Percentile), nil
	}
	switch t.Metric {
	case "avg":
		var sum float64
		for _, e := range sel {
			sum += e.AvgMs * float64(e.Requests)
		}
		return sum / float64(req), nil
	case "min":
		v := math.Inf(1)
		for _, e := range sel {
			if e.Requests > 0 {
				v = math.Min(v, e.MinMs)
			}
		}
		return v, nil
	case "max":
		var v float64
		for _, e := range sel {
			v = math.Max(v, e.MaxMs)
		}
		return v, nil
	}
	var methods []string
	for _, e := range sel {
		methods = append(methods, e.Method)
	}
	return 0, fmt.Errorf("%s matches %d entries (methods %s): percentiles of several entries cannot be combined; add method=, e.g. %s{name=%s,method=%s}",
		t.selectorText(), len(sel), strings.Join(methods, ", "), t.Metric, t.Name, methods[0])
}

// cannotRecover reports whether a failing value can never pass later in
// the same run, because the metric only moves one way.
func (t *Threshold) cannotRecover(v float64) bool {
	// v already fails the comparison.
	switch t.Metric {
	case "requests", "failures", "max":
		// Only grow: past an upper limit (or above an exact value) for good.
		return t.Op == OpLT || t.Op == OpLE || (t.Op == OpEQ && v > t.Limit)
	case "min":
		// Only shrinks.
		return t.Op == OpGT || t.Op == OpGE || (t.Op == OpEQ && v < t.Limit)
	}
	return false
}

// DefaultChecks is how many consecutive once-a-second checks a threshold
// must fail, after its grace period, before a Monitor aborts the run.
const DefaultChecks = 5

// Monitor decides, once a second while a test runs, whether a threshold
// that asks for it (Threshold.Abort, or every threshold with All) has
// failed beyond doubt. A failure is beyond doubt when either
//
//   - it is Final (a count or extreme that only moves one way is already
//     past its limit), whenever it happens; or
//   - after the grace period, the cumulative value has failed Checks
//     consecutive checks in a row (a threshold without data, such as a
//     region whose workers have not reported yet, is never counted).
//
// Lower limits on counts (requests>N) can be met until the very end, so
// they never abort: they are only decided by the final evaluation.
type Monitor struct {
	Thresholds []*Threshold
	// All applies abort-on-fail to every threshold (--abort-on-fail).
	All bool
	// Grace is the default time from the start during which only Final
	// failures abort (--abort-grace).
	Grace time.Duration
	// Checks is the number of consecutive failing checks (default
	// DefaultChecks).
	Checks int

	streak []int
}

// Active reports whether any threshold can abort the run.
func (m *Monitor) Active() bool {
	for _, t := range m.Thresholds {
		if m.All || t.Abort {
			return true
		}
	}
	return false
}

// Check evaluates the thresholds over the cumulative statistics after
// elapsed time. It returns a reason to stop, such as "threshold failed:
// p95<500ms (p95 = 812ms, wanted < 500ms)", or "" to go on.
func (m *Monitor) Check(elapsed time.Duration, s *stats.Summary) string {
	if len(m.streak) != len(m.Thresholds) {
		m.streak = make([]int, len(m.Thresholds))
	}
	checks := m.Checks
	if checks <= 0 {
		checks = DefaultChecks
	}
	for i, t := range m.Thresholds {
		if !m.All && !t.Abort {
			continue
		}
		r := t.Evaluate(s)
		if r.Passed || r.NoData {
			m.streak[i] = 0
			continue
		}
		if r.Final {
			return "threshold failed: " + t.Expr + " (" + r.Message + ")"
		}
		grace := m.Grace
		if t.AbortGrace > 0 {
			grace = t.AbortGrace
		}
		if elapsed < grace || isLowerCount(t) {
			m.streak[i] = 0
			continue
		}
		m.streak[i]++
		if m.streak[i] >= checks {
			return fmt.Sprintf("threshold failed: %s (%s, for %d checks after a %s grace)", t.Expr, r.Message, m.streak[i], grace)
		}
	}
	return ""
}

// isLowerCount reports a threshold that can still be met at any moment
// before the end (requests>N, failures>=N).
func isLowerCount(t *Threshold) bool {
	return t.Kind == KindCount && (t.Op == OpGT || t.Op == OpGE || t.Op == OpEQ)
}
