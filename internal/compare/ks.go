package compare

import (
	"math"

	"github.com/stampede-load/stampede/internal/stats"
)

// Test is the outcome of the two-sample Kolmogorov–Smirnov test on two
// response-time histograms.
type Test struct {
	// D is the largest distance between the two empirical distribution
	// functions (0..1).
	D float64 `json:"d"`
	// N is the effective sample size n·m/(n+m).
	N float64 `json:"n_effective"`
	// P is the asymptotic p-value: how likely a distance of at least D is
	// when both runs draw from the same distribution.
	P float64 `json:"p_value"`
}

// ksTest compares two histograms bin by bin. Both use the same index
// mapping (stats.RelativeAccuracy), so equal values fall in bins with the
// same representative value and the two CDFs step at the same points;
// values within one bin (≤1% apart) count as ties, which only makes the
// test more conservative.
func ksTest(a, b *stats.Histogram) (Test, bool) {
	na, nb := float64(a.Count()), float64(b.Count())
	if na == 0 || nb == 0 {
		return Test{}, false
	}
	x, y := a.SortedBins(), b.SortedBins()
	var ca, cb, d float64
	for i, j := 0, 0; i < len(x) || j < len(y); {
		switch {
		case j >= len(y) || i < len(x) && x[i].Ms < y[j].Ms:
			ca += x[i].Count
			i++
		case i >= len(x) || y[j].Ms < x[i].Ms:
			cb += y[j].Count
			j++
		default:
			ca += x[i].Count
			cb += y[j].Count
			i, j = i+1, j+1
		}
		d = math.Max(d, math.Abs(ca/na-cb/nb))
	}
	ne := na * nb / (na + nb)
	sq := math.Sqrt(ne)
	return Test{D: d, N: ne, P: qKS((sq + 0.12 + 0.11/sq) * d)}, true
}

// qKS is the Kolmogorov distribution's tail Q(λ) = 2 Σ (-1)^(j-1)
// exp(-2 j² λ²), with the small-sample correction of Stephens (1970) in
// the caller (Numerical Recipes §14.3).
func qKS(lambda float64) float64 {
	if lambda < 0.2 {
		return 1 // the series converges slowly here; Q is 1 to 1e-20
	}
	var sum, sign float64 = 0, 1
	for j := 1; j <= 100; j++ {
		term := sign * 2 * math.Exp(-2*float64(j*j)*lambda*lambda)
		sum += term
		if math.Abs(term) < 1e-12*math.Abs(sum) || math.Abs(term) < 1e-300 {
			break
		}
		sign = -sign
	}
	return math.Min(1, math.Max(0, sum))
}
