package stats

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/DataDog/sketches-go/ddsketch/encoding"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// decoded is h encoded and decoded, as the master gets a worker's.
func decoded(t *testing.T, h *Histogram) *Histogram {
	t.Helper()
	b, _ := h.MarshalBinary()
	var d Histogram
	if err := d.UnmarshalBinary(b); err != nil {
		t.Fatalf("UnmarshalBinary: %v", err)
	}
	if _, ok := d.s.GetPositiveValueStore().(*binStore); !ok {
		t.Fatalf("decoded into a %T, want a bin list", d.s.GetPositiveValueStore())
	}
	return &d
}

// sameHistogram fails unless a and b hold the same bins and answer the
// same percentiles.
func sameHistogram(t *testing.T, what string, a, b *Histogram) {
	t.Helper()
	if a.Count() != b.Count() || !reflect.DeepEqual(a.SortedBins(), b.SortedBins()) {
		t.Fatalf("%s: %d bins %v, want %d %v", what, a.Count(), a.SortedBins(), b.Count(), b.SortedBins())
	}
	for _, q := range []float64{0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1} {
		if x, y := a.Quantile(q), b.Quantile(q); x != y {
			t.Fatalf("%s: quantile %v = %v, want %v", what, q, x, y)
		}
	}
	if a.Bins() != b.Bins() {
		t.Fatalf("%s: Bins() = %d, want %d", what, a.Bins(), b.Bins())
	}
	x, _ := a.MarshalBinary()
	y, _ := b.MarshalBinary()
	if !bytes.Equal(x, y) {
		t.Fatalf("%s: encodes to %x, want %x", what, x, y)
	}
}

// TestDecodedHistogramIsTheRecordedOne: a histogram decoded from a
// report (a bin list) answers, encodes and merges exactly as the one the
// worker recorded.
func TestDecodedHistogramIsTheRecordedOne(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
	}{
		{"empty", nil},
		{"one value", []float64{20}},
		{"zeros and values", []float64{0, 0, 0.5, 3, 3, 40, 2500}},
		{"a web shop's second", func() []float64 {
			var v []float64
			for i := range 200 {
				v = append(v, 20*math.Exp(0.6*math.Sin(float64(i)*1.7)))
			}
			return v
		}()},
		{"widest values", []float64{1e-300, 1e-6, 1, 3.6e6, 1e300}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHistogram()
			for _, v := range tt.values {
				h.Record(v)
			}
			d := decoded(t, h)
			sameHistogram(t, "decoded", d, h)
			sameHistogram(t, "copy of decoded", d.Copy(), h)

			// Merged into a table's dense histogram, as the aggregate does.
			base := NewHistogram()
			base.Record(7)
			want := base.Copy()
			want.Merge(h)
			base.Merge(d)
			sameHistogram(t, "dense merged with decoded", base, want)

			// Decoded merged with decoded and with dense (a report
			// naming one request twice).
			dd := decoded(t, h)
			dd.Merge(decoded(t, h))
			dd.Merge(h)
			want = h.Copy()
			want.Merge(h)
			want.Merge(h)
			sameHistogram(t, "decoded merged with decoded and dense", dd, want)

			// Recording into a decoded histogram keeps it in order.
			d.Record(1)
			d.Record(1e5)
			want = h.Copy()
			want.Record(1)
			want.Record(1e5)
			sameHistogram(t, "decoded then recorded", d, want)

			var text Histogram
			b, _ := h.MarshalText()
			if err := text.UnmarshalText(b); err != nil {
				t.Fatal(err)
			}
			sameHistogram(t, "through text", &text, h)
		})
	}
}

// TestDecodeBinsInAnyOrder: a hostile (or another) encoder may list bins
// out of order and more than once; the decoded histogram is the one
// holding those counts, and out-of-order input does not grow past the
// bins it names.
func TestDecodeBinsInAnyOrder(t *testing.T) {
	want := func(bins ...[2]float64) *Histogram {
		h := NewHistogram()
		for _, b := range bins {
			h.s.GetPositiveValueStore().AddWithCount(int(b[0]), b[1])
		}
		return h
	}
	seesaw := make([][2]float64, 0, maxUnsorted+10)
	for i := range cap(seesaw) {
		seesaw = append(seesaw, [2]float64{float64(100 + i%2), 1})
	}
	tests := []struct {
		name string
		bins [][2]float64
		want *Histogram
	}{
		{"descending", [][2]float64{{300, 1}, {200, 2}, {100, 3}}, want([2]float64{100, 3}, [2]float64{200, 2}, [2]float64{300, 1})},
		{"repeated", [][2]float64{{100, 1}, {300, 1}, {100, 2}, {300, 4}, {200, 1}}, want([2]float64{100, 3}, [2]float64{200, 1}, [2]float64{300, 5})},
		{"zero counts skipped", [][2]float64{{100, 0}, {200, 1}}, want([2]float64{200, 1})},
		{"seesaw past the unsorted bound", seesaw, want([2]float64{100, float64(len(seesaw) / 2)}, [2]float64{101, float64(len(seesaw) / 2)})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Histogram
			if err := d.UnmarshalBinary(encodeBins(encoding.FlagTypePositiveStore, tt.bins...)); err != nil {
				t.Fatal(err)
			}
			sameHistogram(t, "decoded", &d, tt.want)
			if got := len(d.s.GetPositiveValueStore().(*binStore).bins); got != len(tt.want.SortedBins()) {
				t.Errorf("%d bins listed, want %d", got, len(tt.want.SortedBins()))
			}
		})
	}
}

// TestBinStoreRefusesWhatRecordCannotMake: merging into a decoded
// histogram checks as decoding does; truncated bytes are refused.
func TestBinStoreRefusesWhatRecordCannotMake(t *testing.T) {
	far := store.NewSparseStore()
	far.AddWithCount(maxBinIndex+1, 1)
	s := &binStore{}
	s.AddWithCount(10, 1)
	s.MergeWith(far)
	if s.err == nil || s.TotalCount() != 1 || len(s.bins) != 1 {
		t.Errorf("merging an out-of-range bin: err %v, count %v, bins %v", s.err, s.TotalCount(), s.bins)
	}
	neg := &binStore{negative: true}
	if neg.AddWithCount(10, 1); neg.err == nil {
		t.Error("a negative value was accepted")
	}
	b := encodeBins(encoding.FlagTypePositiveStore, [2]float64{10, 1}, [2]float64{20, 1})
	var h Histogram
	if err := h.UnmarshalBinary(b[:len(b)-1]); err == nil {
		t.Error("truncated bytes decoded")
	}
}

// TestDecodeRandomBins: bins in random order, repeated, decoded and then
// merged into each other, always equal the dense store holding the same
// counts.
func TestDecodeRandomBins(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 13))
	random := func() ([][2]float64, *Histogram) {
		want := NewHistogram()
		var bins [][2]float64
		for range rng.IntN(60) {
			b := [2]float64{float64(rng.IntN(400) - 200), float64(1 + rng.IntN(5))}
			bins = append(bins, b)
			want.s.GetPositiveValueStore().AddWithCount(int(b[0]), b[1])
		}
		return bins, want
	}
	for range 300 {
		bins, want := random()
		var d Histogram
		if err := d.UnmarshalBinary(encodeBins(encoding.FlagTypePositiveStore, bins...)); err != nil {
			t.Fatal(err)
		}
		sameHistogram(t, "decoded", &d, want)
		bins2, want2 := random()
		var d2 Histogram
		if err := d2.UnmarshalBinary(encodeBins(encoding.FlagTypePositiveStore, bins2...)); err != nil {
			t.Fatal(err)
		}
		d.Merge(&d2)
		want.Merge(want2)
		sameHistogram(t, "decoded merged with decoded", &d, want)
	}
}
