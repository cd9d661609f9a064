package stats

import (
	"fmt"
	"math"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// RelativeAccuracy bounds the relative error of every percentile the
// histogram reports. The design asks for ≤1%; half of that leaves room for
// the rounding done when values are printed.
const RelativeAccuracy = 0.005

// Histogram is a mergeable distribution of response times in milliseconds.
//
// It is a DDSketch: merging two histograms is exact (bins are added), so the
// percentiles of a merge over many workers equal those of one histogram fed
// every sample. Its dense store only spans the range of recorded values,
// which keeps an entry at a few KB even when a test has thousands of names.
type Histogram struct {
	s *ddsketch.DDSketch
}

// mapping is shared by every histogram: the index mapping is immutable.
var sharedMapping = mustMapping()

func mustMapping() mapping.IndexMapping {
	m, err := mapping.NewLogarithmicMapping(RelativeAccuracy)
	if err != nil {
		panic(err)
	}
	return m
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{s: ddsketch.NewDDSketch(sharedMapping, store.NewDenseStore(), store.NewDenseStore())}
}

// Record adds one value in milliseconds. Negative values are clamped to 0.
func (h *Histogram) Record(ms float64) {
	if ms < 0 || math.IsNaN(ms) {
		ms = 0
	}
	// Add only fails for values outside the mapping's range (> ~1e300).
	_ = h.s.Add(ms)
}

// Merge adds every value of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil {
		return
	}
	_ = h.s.MergeWith(o.s) // same mapping everywhere: cannot fail
}

// Count is the number of recorded values.
func (h *Histogram) Count() int64 { return int64(h.s.GetCount()) }

// Quantile returns the value at quantile q (0..1), or 0 when empty.
//
// The rank follows Locust (and the nearest-rank method): the value at
// 0-based position floor(q·n) of the sorted samples, so with 5 samples p99
// is the largest, as Locust reports it, not an interpolation below it.
func (h *Histogram) Quantile(q float64) float64 {
	n := h.s.GetCount()
	if n == 0 {
		return 0
	}
	rank := math.Min(math.Floor(q*n), n-1)
	zeros := h.s.GetZeroCount()
	if rank < zeros {
		return 0
	}
	key := h.s.GetPositiveValueStore().KeyAtRank(rank - zeros)
	return h.s.IndexMapping.Value(key)
}

// Copy returns an independent copy.
func (h *Histogram) Copy() *Histogram { return &Histogram{s: h.s.Copy()} }

// ForEach calls f for every non-empty bin with its representative value
// (ms) and count, in no particular order.
func (h *Histogram) ForEach(f func(ms float64, count int64)) {
	h.s.ForEach(func(v, c float64) bool {
		f(v, int64(c))
		return false
	})
}

// MarshalBinary encodes the histogram compactly (sparse bins, no mapping).
func (h *Histogram) MarshalBinary() ([]byte, error) {
	var b []byte
	h.s.Encode(&b, true)
	return b, nil
}

// UnmarshalBinary replaces h with the encoded histogram.
func (h *Histogram) UnmarshalBinary(b []byte) error {
	s, err := ddsketch.DecodeDDSketch(b, store.DenseStoreConstructor, sharedMapping)
	if err != nil {
		return fmt.Errorf("decoding histogram: %w", err)
	}
	h.s = s
	return nil
}
