package stats

import "math"

// AddCounts adds two non-negative counts, stopping at the largest int64
// instead of wrapping to a negative number. Counts merged from workers
// (each of which a hostile one can set near 2^63) go through it.
func AddCounts(a, b int64) int64 {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxInt64
}

// addSum adds two non-negative sums of milliseconds, stopping at the
// largest float64 instead of becoming +Inf (a mean of +Inf would be a
// value no JSON output can hold).
func addSum(a, b float64) float64 {
	return math.Min(a+b, math.MaxFloat64)
}
