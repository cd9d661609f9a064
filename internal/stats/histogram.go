package stats

import (
	"encoding/base64"
	"fmt"
	"math"
	"sort"

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
	// Store by store rather than with the sketch's MergeWith, which
	// compares the two mappings first: every histogram has sharedMapping
	// (decoding refuses another), and with 1,000 workers that comparison
	// and the always-empty negative stores were a tenth of the merging.
	dst, src := h.s.GetPositiveValueStore(), o.s.GetPositiveValueStore()
	dense, isDense := dst.(*store.DenseStore)
	list, isList := src.(*binStore)
	if isDense && isList {
		// A report's bins into a table: the store's MergeWith would
		// allocate a closure for each merge.
		for _, b := range list.bins {
			dense.AddWithCount(b.index, b.count)
		}
	} else {
		dst.MergeWith(src)
	}
	if n := o.s.GetNegativeValueStore(); !n.IsEmpty() {
		h.s.GetNegativeValueStore().MergeWith(n)
	}
	if z := o.s.GetZeroCount(); z > 0 {
		_ = h.s.AddWithCount(0, z) // 0 counts as zero: cannot fail
	}
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
//
// The bytes come from the network (a worker's report), so nothing is
// allocated in proportion to the bins' span: a dense store spans every
// index between its lowest and highest bin, and two bins at indexes 0 and
// 2^40 (16 bytes on the wire) would allocate 8 TB and kill the master.
// The histogram lists its bins instead (binStore), which a dense one
// merges in their number, and accepts only what Record can produce: bins
// within the mapping's indexable range (at most ~142k), finite
// non-negative counts, no negative values.
func (h *Histogram) UnmarshalBinary(b []byte) error {
	d, err := DecodeHistogram(b)
	if err == nil {
		h.s = d.s
	}
	return err
}

// DecodeHistogram returns the histogram b encodes, as UnmarshalBinary
// decodes it, without first making an empty one.
func DecodeHistogram(b []byte) (*Histogram, error) {
	pos, neg := &binStore{}, &binStore{negative: true}
	s := ddsketch.NewDDSketch(sharedMapping, pos, neg)
	err := s.DecodeAndMergeWith(b)
	switch z := s.GetZeroCount(); {
	case err != nil:
	case pos.err != nil: // the sketch does not return its stores' errors
		err = pos.err
	case neg.err != nil:
		err = neg.err
	case z < 0 || math.IsNaN(z) || math.IsInf(z, 0):
		err = fmt.Errorf("bad zero count %v", z)
	}
	if err != nil {
		return nil, fmt.Errorf("decoding histogram: %w", err)
	}
	return &Histogram{s: s}, nil
}

// Bins is the number of bins a dense store holding h spans (8 bytes a
// bin), which merging h into one may allocate: a decoder bounds the total
// of many histograms with it.
func (h *Histogram) Bins() int {
	st := h.s.GetPositiveValueStore()
	lo, err1 := st.MinIndex()
	hi, err2 := st.MaxIndex()
	if err1 != nil || err2 != nil {
		return 0
	}
	return hi - lo + 1
}

// Size is about the bytes h holds: a decoded histogram lists its bins
// (16 bytes each), a recorded one spans them densely (8 bytes each).
func (h *Histogram) Size() int {
	const overhead = 128 // the sketch and its two stores
	if b, ok := h.s.GetPositiveValueStore().(*binStore); ok {
		return overhead + 16*cap(b.bins)
	}
	return overhead + 8*h.Bins()
}

// MarshalText encodes the histogram as base64 of MarshalBinary, so that a
// JSON summary carries it as a string (docs/json-summary.md).
func (h *Histogram) MarshalText() ([]byte, error) {
	b, _ := h.MarshalBinary()
	out := make([]byte, base64.StdEncoding.EncodedLen(len(b)))
	base64.StdEncoding.Encode(out, b)
	return out, nil
}

// UnmarshalText decodes what MarshalText wrote, with UnmarshalBinary's
// checks (a summary file may come from anywhere).
func (h *Histogram) UnmarshalText(text []byte) error {
	b := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	n, err := base64.StdEncoding.Decode(b, text)
	if err != nil {
		return fmt.Errorf("decoding histogram: %w", err)
	}
	return h.UnmarshalBinary(b[:n])
}

// Bin is one bin of a histogram: its representative value and count.
type Bin struct {
	Ms    float64
	Count float64
}

// SortedBins returns the non-empty bins in ascending order of value.
func (h *Histogram) SortedBins() []Bin {
	var out []Bin
	h.s.ForEach(func(v, c float64) bool {
		if c > 0 {
			out = append(out, Bin{Ms: v, Count: c})
		}
		return false
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Ms < out[j].Ms })
	return out
}
