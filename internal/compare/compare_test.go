package compare

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
)

func TestQKS(t *testing.T) {
	// Reference values of the Kolmogorov distribution's tail.
	for _, tc := range []struct{ lambda, want float64 }{
		{0.1, 1}, {0.5, 0.96394524}, {1.0, 0.26999967}, {1.36, 0.04945}, {1.63, 0.0098}, {3, 3.0461e-8},
	} {
		if got := qKS(tc.lambda); math.Abs(got-tc.want) > 1e-4*math.Max(1, tc.want*10) && math.Abs(got-tc.want)/tc.want > 1e-3 {
			t.Errorf("Q(%g) = %g, want %g", tc.lambda, got, tc.want)
		}
	}
}

// entry builds an entry with n samples of base·U[0.5,1.5)·scale ms.
func entry(name string, n int, base, scale float64, seed uint64) stats.EntryStats {
	rng := rand.New(rand.NewPCG(seed, 1))
	tm := stats.NewTiming()
	for range n {
		tm.Record(time.Duration((0.5 + rng.Float64()) * base * scale * float64(time.Millisecond)))
	}
	e := stats.EntryStats{Method: "GET", Name: name, Requests: int64(n), RPS: float64(n) / 10, Histogram: tm.Hist}
	for i, p := range stats.PercentileSet {
		e.Percentiles[i] = tm.Percentile(p)
	}
	return e
}

func run(entries ...stats.EntryStats) *Run {
	s := &stats.Summary{Entries: entries}
	tot := stats.NewTiming()
	for _, e := range entries {
		s.Total.Requests += e.Requests
		tot.Hist.Merge(e.Histogram)
	}
	s.Total.Name, s.Total.Histogram = "Aggregated", tot.Hist
	return &Run{Label: "x", Summary: s, Histograms: true}
}

func TestCompareVerdicts(t *testing.T) {
	base := run(entry("/slow", 2000, 4, 1, 1), entry("/same", 2000, 4, 1, 2), entry("/tiny", 200000, 4, 1, 3), entry("/gone", 10, 1, 1, 4))
	next := run(entry("/slow", 2000, 4, 1.5, 5), entry("/same", 2000, 4, 1, 6), entry("/tiny", 200000, 4, 1.02, 7), entry("/new", 10, 1, 1, 8))
	r := Compare(base, next, Options{})
	got := map[string]string{}
	for _, row := range r.Rows {
		got[row.Name] = row.Verdict
	}
	want := map[string]string{"/slow": Slower, "/same": Unchanged, "/tiny": Unchanged, "/gone": OnlyBase, "/new": OnlyNew}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: verdict %q, want %q", k, got[k], v)
		}
	}
	// /tiny moved by 2%: the test alone rejects at n = 200000, the
	// minimum effect keeps it from being flagged.
	for _, row := range r.Rows {
		if row.Name == "/tiny" && (row.Test == nil || row.Test.P >= 0.01) {
			t.Errorf("/tiny: want a rejected test below the minimum effect, got %+v", row.Test)
		}
		if row.Name == "/slow" && (row.Changes.P50 == nil || *row.Changes.P50 < 0.4 || *row.Changes.P50 > 0.6) {
			t.Errorf("/slow: p50 change %v, want about +50%%", row.Changes.P50)
		}
	}
	for _, row := range Compare(base, next, Options{MinEffect: -1, MinEffectMs: -1}).Rows {
		if row.Name == "/tiny" && row.Verdict != Slower {
			t.Errorf("/tiny without a minimum effect: %q", row.Verdict)
		}
	}
	if !r.AnySlower() {
		t.Error("AnySlower false")
	}
	self := Compare(base, base, Options{})
	for _, row := range append(self.Rows, self.Total) {
		if row.Verdict != Unchanged || row.Test.D != 0 || row.Test.P != 1 {
			t.Errorf("self-comparison %s: %q %+v", row.Name, row.Verdict, row.Test)
		}
	}
	noHist := *next
	noHist.Histograms = false
	for _, row := range Compare(base, &noHist, Options{}).Rows {
		if row.Name == "/slow" && (row.Verdict != PercentilesOnly || row.Test != nil) {
			t.Errorf("without histograms: %q %+v", row.Verdict, row.Test)
		}
	}
}

// entryOf builds an entry whose samples are count[i] times ms[i].
func entryOf(name string, ms []float64, count []int) stats.EntryStats {
	tm := stats.NewTiming()
	n := 0
	for i, v := range ms {
		for range count[i] {
			tm.Record(time.Duration(v * float64(time.Millisecond)))
		}
		n += count[i]
	}
	e := stats.EntryStats{Method: "GET", Name: name, Requests: int64(n), Histogram: tm.Hist}
	for i, p := range stats.PercentileSet {
		e.Percentiles[i] = tm.Percentile(p)
	}
	return e
}

func TestSignificantListsTheVerdictsDirection(t *testing.T) {
	// The median got twice as slow while the tail got twice as fast: the
	// verdict is slower, and only p50 is listed as what got slower.
	base := run(entryOf("/mixed", []float64{2, 20}, []int{1800, 200}))
	next := run(entryOf("/mixed", []float64{4, 10}, []int{1800, 200}))
	row := Compare(base, next, Options{}).Rows[0]
	if row.Verdict != Slower || len(row.Significant) != 1 || row.Significant[0] != "p50" || row.Label() != "slower (p50)" {
		t.Errorf("verdict %q, significant %v, label %q; want slower (p50)", row.Verdict, row.Significant, row.Label())
	}
	row = Compare(next, base, Options{}).Rows[0]
	if row.Verdict != Slower || row.Label() != "slower (p95, p99)" {
		t.Errorf("reversed: label %q, want slower (p95, p99)", row.Label())
	}
}

func TestMinEffectMs(t *testing.T) {
	// Sub-millisecond responses twice as slow: +100%, but p99 moved by
	// about 0.3 ms, below the default absolute minimum of 1 ms (client
	// scheduling noise on a loaded machine moves such percentiles that much).
	base := run(entry("/fast", 3000, 0.2, 1, 1), entry("/slow", 3000, 4, 1, 2))
	next := run(entry("/fast", 3000, 0.2, 2, 3), entry("/slow", 3000, 4, 1.5, 4))
	r := Compare(base, next, Options{})
	if r.MinEffectMs != DefaultMinEffectMs {
		t.Errorf("MinEffectMs %g, want %g", r.MinEffectMs, DefaultMinEffectMs)
	}
	got := map[string]string{}
	for _, row := range r.Rows {
		got[row.Name] = row.Verdict
	}
	if got["/fast"] != Unchanged || got["/slow"] != Slower {
		t.Errorf("default: %v, want /fast not significant, /slow slower", got)
	}
	for _, row := range Compare(base, next, Options{MinEffectMs: -1}).Rows {
		if row.Name == "/fast" && row.Verdict != Slower {
			t.Errorf("/fast without an absolute minimum: %q", row.Verdict)
		}
	}
}

// tailEntry builds n samples of 4·U[0.5,1.5)·scale ms, of which a share
// tail (drawn at random) are 20 to 60 ms instead: the demo's slow tail.
func tailEntry(name string, n int, scale, tail float64, seed uint64) stats.EntryStats {
	rng := rand.New(rand.NewPCG(seed, 2))
	ms := make([]float64, n)
	for i := range ms {
		ms[i] = 4 * (0.5 + rng.Float64()) * scale
		if rng.Float64() < tail {
			ms[i] = 20 + 40*float64(i%100)/100 // spread over 20..60 ms
		}
	}
	ones := make([]int, n)
	for i := range ones {
		ones[i] = 1
	}
	return entryOf(name, ms, ones)
}

func TestPercentileWithinItsSamplingNoise(t *testing.T) {
	// The bulk moved by 3% (the test rejects, but below the minimum
	// effect); p99 sits on the edge of a 1% slow tail, so it jumps from
	// the bulk (~6 ms) into the tail (20–60 ms) when the tail happens to
	// hold a few more samples: sampling noise, not a slower tail.
	base := run(tailEntry("/edge", 20000, 1, 0.01, 4))
	next := run(tailEntry("/edge", 20000, 1.03, 0.01, 12))
	b, n := base.Summary.Entries[0], next.Summary.Entries[0]
	row := Compare(base, next, Options{}).Rows[0]
	t.Logf("p99 %g → %g, test %+v", b.Percentiles.At(99), n.Percentiles.At(99), row.Test)
	if row.Test == nil || row.Test.P >= 0.01 || n.Percentiles.At(99) < 2*b.Percentiles.At(99) {
		t.Fatalf("the case needs a rejected test and a p99 that jumped: %+v", row)
	}
	if row.Verdict != Unchanged {
		t.Errorf("verdict %q (%v), want %q: p99 moved within its confidence interval", row.Verdict, row.Significant, Unchanged)
	}
	// A tail that really grew (1% → 3%) is slower at p99.
	next = run(tailEntry("/edge", 20000, 1.03, 0.03, 12))
	if row := Compare(base, next, Options{}).Rows[0]; row.Verdict != Slower || row.Label() != "slower (p99)" {
		t.Errorf("grown tail: %q, want slower (p99)", row.Label())
	}
}
