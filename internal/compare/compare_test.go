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
	for _, row := range Compare(base, next, Options{MinEffect: -1}).Rows {
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
