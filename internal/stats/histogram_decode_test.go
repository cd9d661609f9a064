package stats

import (
	"math"
	"testing"

	"github.com/DataDog/sketches-go/ddsketch/encoding"
)

// encodeBins writes a positive (or negative) store of (index, count) bins
// the way a hostile worker could.
func encodeBins(t encoding.FlagType, bins ...[2]float64) []byte {
	var b []byte
	encoding.EncodeFlag(&b, encoding.NewFlag(t, encoding.BinEncodingIndexDeltasAndCounts))
	encoding.EncodeUvarint64(&b, uint64(len(bins)))
	prev := int64(0)
	for _, bin := range bins {
		i := int64(bin[0])
		encoding.EncodeVarint64(&b, i-prev)
		encoding.EncodeVarfloat64(&b, bin[1])
		prev = i
	}
	return b
}

func TestHistogramUnmarshalRejectsHostileInput(t *testing.T) {
	legit := NewHistogram()
	for _, v := range []float64{1e-6, 0.5, 3, 250, 60_000, 3.6e6, 1e300} {
		legit.Record(v)
	}
	legitBytes, _ := legit.MarshalBinary()
	hi := sharedMapping.Index(sharedMapping.MaxIndexableValue())
	lo := sharedMapping.Index(sharedMapping.MinIndexableValue())
	var zero []byte
	encoding.EncodeFlag(&zero, encoding.FlagZeroCountVarFloat)
	encoding.EncodeVarfloat64(&zero, -5)

	tests := []struct {
		name    string
		in      []byte
		wantErr bool
	}{
		{"legit, widest values", legitBytes, false},
		{"mapping range ends", encodeBins(encoding.FlagTypePositiveStore, [2]float64{float64(lo), 1}, [2]float64{float64(hi), 1}), false},
		// 16 bytes that made the dense store allocate 8 TB (fatal OOM).
		{"bins 2^40 apart", encodeBins(encoding.FlagTypePositiveStore, [2]float64{0, 1}, [2]float64{1 << 40, 1}), true},
		{"index above the range", encodeBins(encoding.FlagTypePositiveStore, [2]float64{float64(hi + 1), 1}), true},
		{"index below the range", encodeBins(encoding.FlagTypePositiveStore, [2]float64{float64(lo - 1), 1}), true},
		{"negative count", encodeBins(encoding.FlagTypePositiveStore, [2]float64{10, -3}), true},
		{"infinite count", encodeBins(encoding.FlagTypePositiveStore, [2]float64{10, math.Inf(1)}), true},
		{"negative values", encodeBins(encoding.FlagTypeNegativeStore, [2]float64{10, 1}), true},
		{"negative zero count", zero, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHistogram()
			err := h.UnmarshalBinary(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("UnmarshalBinary: err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && h.Bins() > hi-lo+1 {
				t.Errorf("Bins() = %d, more than the mapping's %d", h.Bins(), hi-lo+1)
			}
		})
	}
	if got := legit.Bins(); got < 1000 || got > hi-lo+1 {
		t.Errorf("legit.Bins() = %d", got)
	}
	if got := NewHistogram().Bins(); got != 0 {
		t.Errorf("empty Bins() = %d, want 0", got)
	}
}

func TestHistogramTextRoundTrip(t *testing.T) {
	h := NewHistogram()
	for _, v := range []float64{0, 0.5, 3, 3, 40, 2500} {
		h.Record(v)
	}
	text, err := h.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	var back Histogram
	if err := back.UnmarshalText(text); err != nil {
		t.Fatal(err)
	}
	if back.Count() != 6 || back.Quantile(0.5) != h.Quantile(0.5) || back.Quantile(1) != h.Quantile(1) {
		t.Errorf("round trip: count %d, p50 %v/%v, max %v/%v", back.Count(), back.Quantile(0.5), h.Quantile(0.5), back.Quantile(1), h.Quantile(1))
	}
	if got, want := len(back.SortedBins()), len(h.SortedBins()); got != want || back.SortedBins()[0].Ms != 0 {
		t.Errorf("bins %d, want %d: %v", got, want, back.SortedBins())
	}
	// Merging a decoded (sparse) histogram into a dense one is exact.
	m := NewHistogram()
	m.Merge(&back)
	if m.Count() != 6 || m.Quantile(0.9) != h.Quantile(0.9) {
		t.Errorf("merge of a decoded histogram: %d %v", m.Count(), m.Quantile(0.9))
	}
	for _, bad := range []string{"!!!", "AAAA", "BQG2BgI"} {
		if err := back.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}
