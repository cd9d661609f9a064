package stats

import (
	"math"
	"sort"
	"strconv"
)

// Bucket is one bar of a response-time distribution: the number of
// requests whose time was above the previous bucket's UpperMs and at most
// UpperMs.
type Bucket struct {
	UpperMs float64 `json:"le_ms"`
	Count   int64   `json:"count"`
}

// bucketsPerDecade sets the distribution's resolution: bounds at
// 10^(k/10) ms (1, 1.26, 1.58, 2, 2.51, … 10 ms), about 26 % apart.
const bucketsPerDecade = 10

// minBucketMs is the upper bound of the first bucket; smaller times
// (and zeros) are counted there.
const minBucketMs = 0.001

// Distribution returns the histogram's non-empty buckets in ascending
// order. It is a compact view of the histogram (some 40 buckets for times
// from 1 ms to 10 s) for reports; each of the histogram's bins (≤0.5 %
// wide) falls into the bucket that holds its representative value.
func (h *Histogram) Distribution() []Bucket {
	counts := map[int]int64{}
	h.ForEach(func(ms float64, c int64) {
		if c <= 0 {
			return
		}
		counts[bucketIndex(ms)] += c
	})
	out := make([]Bucket, 0, len(counts))
	for k, c := range counts {
		out = append(out, Bucket{UpperMs: bucketUpper(k), Count: c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UpperMs < out[j].UpperMs })
	return out
}

func bucketIndex(ms float64) int {
	if ms <= minBucketMs {
		ms = minBucketMs
	}
	// A bin's representative value is within RelativeAccuracy of the
	// values in it: the tolerance keeps values at a bound (1, 10, 100 ms)
	// in the bucket that bound closes.
	return int(math.Ceil(math.Log10(ms/(1+RelativeAccuracy))*bucketsPerDecade - 1e-9))
}

func bucketUpper(k int) float64 {
	v := math.Pow(10, float64(k)/bucketsPerDecade)
	// Round to 3 significant digits: 1.26, 15.8, 251.
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
	return r
}
