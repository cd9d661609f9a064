package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// exactPercentile is Locust's nearest rank: the sorted sample at 0-based
// position floor(q·n), clamped to the last.
func exactPercentile(sorted []float64, q float64) float64 {
	n := len(sorted)
	i := int(math.Floor(q * float64(n)))
	if i > n-1 {
		i = n - 1
	}
	return sorted[i]
}

type distribution struct {
	name string
	gen  func(r *rand.Rand) float64
}

var distributions = []distribution{
	{"uniform 1..1000ms", func(r *rand.Rand) float64 { return 1 + 999*r.Float64() }},
	{"exponential mean 50ms", func(r *rand.Rand) float64 { return r.ExpFloat64() * 50 }},
	{"lognormal", func(r *rand.Rand) float64 { return math.Exp(3 + 1.2*r.NormFloat64()) }},
	{"pareto tail", func(r *rand.Rand) float64 { return 5 / math.Pow(1-r.Float64(), 1/1.5) }},
	{"bimodal 2ms / 800ms", func(r *rand.Rand) float64 {
		if r.IntN(10) == 0 {
			return 800 + 50*r.NormFloat64()
		}
		return 2 + 0.3*r.Float64()
	}},
	{"integer ms 1..20", func(r *rand.Rand) float64 { return float64(1 + r.IntN(20)) }},
	{"sub-millisecond", func(r *rand.Rand) float64 { return 0.05 + 0.9*r.Float64() }},
}

func TestHistogramPercentileRelativeError(t *testing.T) {
	for _, d := range distributions {
		for _, n := range []int{1, 5, 37, 1000, 30_000} {
			rng := rand.New(rand.NewPCG(uint64(n), 7))
			samples := make([]float64, n)
			h := NewHistogram()
			tm := NewTiming()
			for i := range samples {
				samples[i] = d.gen(rng)
				h.Record(samples[i])
				tm.Record(msDuration(samples[i]))
			}
			slices.Sort(samples)
			for _, p := range PercentileSet {
				q := p / 100
				want := exactPercentile(samples, q)
				if got := h.Quantile(q); relErr(got, want) > 0.01 {
					t.Errorf("%s n=%d: Histogram p%g = %g, exact %g (rel. error %.3f%%)", d.name, n, p, got, want, 100*relErr(got, want))
				}
				// Timing works on durations (ns resolution), so compare
				// with the sample rounded the same way.
				wantT := float64(msDuration(want)) / 1e6
				if got := tm.Percentile(p); relErr(got, wantT) > 0.01 {
					t.Errorf("%s n=%d: Timing p%g = %g, exact %g", d.name, n, p, got, wantT)
				}
			}
			if got := h.Count(); got != int64(n) {
				t.Errorf("%s: Count = %d, want %d", d.name, got, n)
			}
		}
	}
}

func msDuration(ms float64) time.Duration { return time.Duration(ms * 1e6) }

func relErr(got, want float64) float64 {
	if want == 0 {
		return math.Abs(got)
	}
	return math.Abs(got-want) / math.Abs(want)
}

// Locust reports the value at rank floor(q·n): with 5 samples p99 is the
// largest, p50 the middle one, p66 the fourth.
func TestHistogramLocustRank(t *testing.T) {
	samples := []float64{50, 10, 40, 20, 30}
	h := NewHistogram()
	for _, s := range samples {
		h.Record(s)
	}
	tests := []struct {
		q    float64
		want float64
	}{
		{0, 10}, {0.19, 10}, {0.2, 20}, {0.5, 30}, {0.66, 40}, {0.75, 40}, {0.8, 50},
		{0.95, 50}, {0.99, 50}, {0.999, 50}, {1, 50},
	}
	for _, tc := range tests {
		if got := h.Quantile(tc.q); relErr(got, tc.want) > RelativeAccuracy {
			t.Errorf("Quantile(%g) = %g, want %g (±%g%%)", tc.q, got, tc.want, 100*RelativeAccuracy)
		}
	}
}

func TestHistogramEdgeValues(t *testing.T) {
	h := NewHistogram()
	if got := h.Quantile(0.5); got != 0 {
		t.Errorf("empty Quantile = %g, want 0", got)
	}
	h.Record(-3)         // clamped to 0
	h.Record(math.NaN()) // clamped to 0
	h.Record(0)
	h.Record(100)
	if got := h.Count(); got != 4 {
		t.Fatalf("Count = %d, want 4", got)
	}
	if got := h.Quantile(0.5); got != 0 {
		t.Errorf("p50 of {0,0,0,100} = %g, want 0", got)
	}
	if got := h.Quantile(0.75); relErr(got, 100) > RelativeAccuracy {
		t.Errorf("p75 of {0,0,0,100} = %g, want 100", got)
	}
}

func TestHistogramMergeIsExact(t *testing.T) {
	for _, d := range distributions {
		rng := rand.New(rand.NewPCG(42, 1))
		all := NewHistogram()
		parts := make([]*Histogram, 7)
		for i := range parts {
			parts[i] = NewHistogram()
		}
		for range 20_000 {
			v := d.gen(rng)
			all.Record(v)
			parts[rng.IntN(len(parts))].Record(v)
		}
		merged := NewHistogram()
		for _, p := range parts {
			merged.Merge(p)
		}
		merged.Merge(nil) // no-op
		if merged.Count() != all.Count() {
			t.Fatalf("%s: merged count %d, want %d", d.name, merged.Count(), all.Count())
		}
		for q := 0.0; q <= 1.0; q += 0.001 {
			if got, want := merged.Quantile(q), all.Quantile(q); got != want {
				t.Fatalf("%s: merged Quantile(%g) = %g, one histogram gives %g", d.name, q, got, want)
			}
		}
		for _, p := range PercentileSet {
			if got, want := merged.Quantile(p/100), all.Quantile(p/100); got != want {
				t.Errorf("%s: merged p%g = %g, want %g", d.name, p, got, want)
			}
		}
	}
}

func TestHistogramBinaryRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		samples []float64
	}{
		{"empty", nil},
		{"one", []float64{12.5}},
		{"with zeros", []float64{0, 0, 1, 2, 3}},
		{"spread", func() []float64 {
			r := rand.New(rand.NewPCG(3, 3))
			s := make([]float64, 5000)
			for i := range s {
				s[i] = math.Exp(4 * r.Float64())
			}
			return s
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHistogram()
			for _, s := range tc.samples {
				h.Record(s)
			}
			b, err := h.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var back Histogram
			if err := back.UnmarshalBinary(b); err != nil {
				t.Fatalf("UnmarshalBinary: %v", err)
			}
			if back.Count() != h.Count() {
				t.Fatalf("count %d after round trip, want %d", back.Count(), h.Count())
			}
			for q := 0.0; q <= 1.0; q += 0.01 {
				if got, want := back.Quantile(q), h.Quantile(q); got != want {
					t.Fatalf("Quantile(%g) = %g after round trip, want %g", q, got, want)
				}
			}
			// The decoded histogram is usable: it merges and records.
			back.Merge(h)
			back.Record(1)
			if back.Count() != 2*h.Count()+1 {
				t.Errorf("count after merge = %d", back.Count())
			}
		})
	}
	var h Histogram
	if err := h.UnmarshalBinary([]byte{0xff, 0x01, 0x02}); err == nil {
		t.Error("UnmarshalBinary(garbage) succeeded")
	}
}

func TestHistogramCopyIsIndependent(t *testing.T) {
	h := NewHistogram()
	h.Record(10)
	c := h.Copy()
	c.Record(1000)
	if h.Count() != 1 || c.Count() != 2 {
		t.Fatalf("counts after copy: original %d, copy %d", h.Count(), c.Count())
	}
	var n int64
	c.ForEach(func(ms float64, count int64) { n += count })
	if n != 2 {
		t.Errorf("ForEach saw %d values, want 2", n)
	}
}
