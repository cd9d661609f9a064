// Package compare compares the statistics of two runs, a baseline and a
// new one: counts, error rates, throughput and percentiles side by side,
// their relative changes, and whether each entry's response times changed
// significantly (docs/compare.md).
//
// Significance is decided on the two full response-time histograms that
// JSON summaries carry: a two-sample Kolmogorov–Smirnov test (ks.go) must
// reject "same distribution" at level Alpha, and at least one of p50, p95
// and p99 must have moved by MinEffect or more, and by MinEffectMs or more.
// The second condition keeps shifts that are real but too small to matter
// from being flagged once runs make millions of requests, when the test
// alone would flag any difference at all; its absolute part keeps
// sub-millisecond percentiles, which client scheduling on a loaded machine
// moves by tens of percent from one run to the next, from being flagged on
// noise.
package compare

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/stampede-load/stampede/internal/stats"
)

// Defaults of Options.
const (
	DefaultAlpha       = 0.01
	DefaultMinEffect   = 0.05
	DefaultMinEffectMs = 1.0
)

// Options tune the significance decision.
type Options struct {
	// Alpha is the test's significance level (default DefaultAlpha).
	Alpha float64
	// MinEffect is the smallest relative change of p50, p95 or p99 that
	// counts: 0 means DefaultMinEffect (5%), a negative value none.
	MinEffect float64
	// MinEffectMs is the smallest absolute change of p50, p95 or p99, in
	// milliseconds, that counts: 0 means DefaultMinEffectMs (1 ms), a
	// negative value none.
	MinEffectMs float64
}

func (o Options) withDefaults() Options {
	if o.Alpha <= 0 || o.Alpha >= 1 {
		o.Alpha = DefaultAlpha
	}
	switch {
	case o.MinEffect == 0:
		o.MinEffect = DefaultMinEffect
	case o.MinEffect < 0:
		o.MinEffect = 0
	}
	switch {
	case o.MinEffectMs == 0:
		o.MinEffectMs = DefaultMinEffectMs
	case o.MinEffectMs < 0:
		o.MinEffectMs = 0
	}
	return o
}

// Run is one side of a comparison.
type Run struct {
	// Label names the source (a file, CSV prefix or URL) in reports.
	Label string `json:"source"`
	// Histograms is set when the source carried full histograms (JSON
	// summaries); CSV files carry percentiles only.
	Histograms bool           `json:"histograms"`
	Summary    *stats.Summary `json:"-"`
}

// Verdicts of a row.
const (
	Slower          = "slower"           // significantly slower
	Faster          = "faster"           // significantly faster
	Unchanged       = "not significant"  // no significant change
	PercentilesOnly = "percentiles only" // no histograms: deltas without a test
	OnlyBase        = "only in base"
	OnlyNew         = "only in new"
	NoRequests      = "no requests"
)

// Side is one run's figures for one row.
type Side struct {
	Requests  int64   `json:"requests"`
	Failures  int64   `json:"failures"`
	ErrorRate float64 `json:"error_rate"`
	RPS       float64 `json:"rps"`
	AvgMs     float64 `json:"avg_ms"`
	P50       float64 `json:"p50_ms"`
	P95       float64 `json:"p95_ms"`
	P99       float64 `json:"p99_ms"`
}

// Changes are the new run's figures relative to the base: a ratio minus
// one (0.1 is 10% more) for rates and times, and the difference in
// percentage points for the error rate (0.005 is half a point more).
// A nil change could not be computed (a base of 0, or a missing side).
type Changes struct {
	RPS       *float64 `json:"rps,omitempty"`
	ErrorRate *float64 `json:"error_rate,omitempty"`
	AvgMs     *float64 `json:"avg_ms,omitempty"`
	P50       *float64 `json:"p50_ms,omitempty"`
	P95       *float64 `json:"p95_ms,omitempty"`
	P99       *float64 `json:"p99_ms,omitempty"`
}

// Row compares one request name (or the aggregate) across the runs.
type Row struct {
	Method  string  `json:"method"`
	Name    string  `json:"name"`
	Base    *Side   `json:"base"`
	New     *Side   `json:"new"`
	Changes Changes `json:"changes"`
	// Test is the Kolmogorov–Smirnov test, when both sides had histograms.
	Test    *Test  `json:"test,omitempty"`
	Verdict string `json:"verdict"`
	// Significant lists the percentiles ("p50", "p95", "p99") whose change
	// is significant in the verdict's direction (those that got slower for
	// a slower verdict): the test rejected, the change is ≥ MinEffect and
	// ≥ MinEffectMs, and beyond the percentile's sampling noise.
	Significant []string `json:"significant,omitempty"`
}

// Result is a whole comparison.
type Result struct {
	Format    string  `json:"format"`
	Base      *Run    `json:"base"`
	New       *Run    `json:"new"`
	Alpha     float64 `json:"alpha"`
	MinEffect float64 `json:"min_effect"`
	// MinEffectMs is the absolute minimum change in milliseconds.
	MinEffectMs float64 `json:"min_effect_ms"`
	Rows        []Row   `json:"entries"`
	Total       Row     `json:"total"`
	// Notes say what could not be compared and why.
	Notes []string `json:"notes,omitempty"`
}

// Format identifies the JSON layout of a Result.
const Format = "stampede-compare/1"

// AnySlower reports whether any row (or the total) is significantly slower.
func (r *Result) AnySlower() bool {
	if r.Total.Verdict == Slower {
		return true
	}
	for _, row := range r.Rows {
		if row.Verdict == Slower {
			return true
		}
	}
	return false
}

// Compare compares new against base.
func Compare(base, next *Run, o Options) *Result {
	o = o.withDefaults()
	res := &Result{Format: Format, Base: base, New: next, Alpha: o.Alpha, MinEffect: o.MinEffect, MinEffectMs: o.MinEffectMs}
	tested := base.Histograms && next.Histograms
	if !tested {
		res.Notes = append(res.Notes, "one side has no histograms (CSV files): percentile changes are shown without a significance test")
	}
	type key struct{ method, name string }
	bs, ns := map[key]*stats.EntryStats{}, map[key]*stats.EntryStats{}
	var keys []key
	for i := range base.Summary.Entries {
		e := &base.Summary.Entries[i]
		k := key{e.Method, e.Name}
		bs[k] = e
		keys = append(keys, k)
	}
	for i := range next.Summary.Entries {
		e := &next.Summary.Entries[i]
		k := key{e.Method, e.Name}
		if _, ok := bs[k]; !ok {
			keys = append(keys, k)
		}
		ns[k] = e
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].name != keys[j].name {
			return keys[i].name < keys[j].name
		}
		return keys[i].method < keys[j].method
	})
	bd, nd := durationOf(base.Summary), durationOf(next.Summary)
	for _, k := range keys {
		res.Rows = append(res.Rows, compareRow(k.method, k.name, bs[k], ns[k], bd, nd, tested, o))
	}
	bt, nt := base.Summary.Total, next.Summary.Total
	res.Total = compareRow("", "Aggregated", &bt, &nt, bd, nd, tested, o)
	return res
}

func durationOf(s *stats.Summary) float64 {
	if s.End.After(s.Start) {
		return s.End.Sub(s.Start).Seconds()
	}
	return 0
}

func side(e *stats.EntryStats, dur float64) *Side {
	if e == nil {
		return nil
	}
	s := &Side{Requests: e.Requests, Failures: e.Failures, RPS: e.RPS, AvgMs: e.AvgMs,
		P50: e.Percentiles.At(50), P95: e.Percentiles.At(95), P99: e.Percentiles.At(99)}
	if s.RPS == 0 && dur > 0 {
		s.RPS = float64(e.Requests) / dur
	}
	if e.Requests > 0 {
		s.ErrorRate = float64(e.Failures) / float64(e.Requests)
	}
	return s
}

func compareRow(method, name string, be, ne *stats.EntryStats, bd, nd float64, tested bool, o Options) Row {
	r := Row{Method: method, Name: name, Base: side(be, bd), New: side(ne, nd)}
	switch {
	case r.Base == nil:
		r.Verdict = OnlyNew
		return r
	case r.New == nil:
		r.Verdict = OnlyBase
		return r
	}
	b, n := r.Base, r.New
	r.Changes = Changes{RPS: rel(b.RPS, n.RPS), AvgMs: rel(b.AvgMs, n.AvgMs),
		P50: rel(b.P50, n.P50), P95: rel(b.P95, n.P95), P99: rel(b.P99, n.P99)}
	if b.Requests > 0 && n.Requests > 0 {
		d := n.ErrorRate - b.ErrorRate
		r.Changes.ErrorRate = &d
	}
	if b.Requests == 0 || n.Requests == 0 {
		r.Verdict = NoRequests
		return r
	}
	if !tested || be.Histogram == nil || ne.Histogram == nil {
		r.Verdict = PercentilesOnly
		return r
	}
	t, ok := ksTest(be.Histogram, ne.Histogram)
	if !ok {
		r.Verdict = NoRequests
		return r
	}
	r.Test = &t
	r.Verdict = Unchanged
	if t.P >= o.Alpha {
		return r
	}
	var slower, faster []string
	for _, pc := range []struct {
		name     string
		q        float64
		c        *float64
		bms, nms float64
	}{{"p50", 0.50, r.Changes.P50, b.P50, n.P50}, {"p95", 0.95, r.Changes.P95, b.P95, n.P95}, {"p99", 0.99, r.Changes.P99, b.P99, n.P99}} {
		if pc.c == nil || math.Abs(*pc.c) < o.MinEffect || math.Abs(pc.nms-pc.bms) < o.MinEffectMs ||
			!beyondNoise(be.Histogram, ne.Histogram, pc.q) {
			continue
		}
		if *pc.c > 0 {
			slower = append(slower, pc.name)
		} else {
			faster = append(faster, pc.name)
		}
	}
	switch {
	case len(slower) > 0: // a slower tail is a regression even when the median improved
		r.Verdict, r.Significant = Slower, slower
	case len(faster) > 0:
		r.Verdict, r.Significant = Faster, faster
	}
	return r
}

// zCI is the normal quantile of the percentiles' 99% confidence intervals.
const zCI = 2.576

// beyondNoise reports whether the q-quantile moved from histogram a to b
// by more than its sampling noise: the two runs' distribution-free
// confidence intervals for it (the values at quantiles q ± zCI·√(q(1−q)/n),
// from the binomial distribution of order statistics) do not overlap. The
// KS test says the distributions differ, but the difference may lie
// elsewhere: a p99 on the edge of a 1% slow tail jumps into the tail when
// a run happens to draw a few more slow requests.
func beyondNoise(a, b *stats.Histogram, q float64) bool {
	ci := func(h *stats.Histogram) (lo, hi float64) {
		d := zCI * math.Sqrt(q*(1-q)/float64(h.Count()))
		return h.Quantile(math.Max(0, q-d)), h.Quantile(math.Min(1, q+d))
	}
	alo, ahi := ci(a)
	blo, bhi := ci(b)
	return blo > ahi || bhi < alo
}

// rel is n/b - 1, nil when b is 0 (no relative change from nothing).
func rel(b, n float64) *float64 {
	if b <= 0 || math.IsNaN(b) || math.IsNaN(n) {
		return nil
	}
	v := n/b - 1
	return &v
}

// Label is the verdict with the significant percentiles, e.g.
// "slower (p95, p99)".
func (r Row) Label() string {
	if len(r.Significant) > 0 && (r.Verdict == Slower || r.Verdict == Faster) {
		return r.Verdict + " (" + strings.Join(r.Significant, ", ") + ")"
	}
	return r.Verdict
}

// PText formats a test's p-value for tables; "n/a" without a test.
func (t *Test) PText() string {
	switch {
	case t == nil:
		return "n/a"
	case t.P < 1e-4:
		return "<0.0001"
	}
	return strconv.FormatFloat(t.P, 'f', 4, 64)
}
