package stats

import (
	"errors"
	"fmt"
	"math"
	"slices"

	enc "github.com/DataDog/sketches-go/ddsketch/encoding"
	"github.com/DataDog/sketches-go/ddsketch/pb/sketchpb"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// binStore is the store of a histogram decoded from bytes (a worker's
// report, a summary file): its non-empty bins listed in ascending index
// order. A report's histogram has a few bins over a span of hundreds
// (ten requests a name a second), so decoding it into a dense store and
// then merging that, span by span, into the master's tables was most of
// a master's work; merging a list costs its length. Its memory follows
// the input's size, so hostile bytes cannot make it large.
//
// Indexes outside the mapping's range and counts Record cannot make
// (negative, NaN, infinite) are refused: the first such bin is kept in
// err, which UnmarshalBinary returns.
type binStore struct {
	bins  []indexCount // ascending index, no duplicates, counts > 0
	count float64
	err   error
	// negative marks the store of negative values, which Record never
	// fills: any bin in it is an error.
	negative bool
	// decoding appends bins as they come (sorted at the end, in tidy), so
	// that hostile out-of-order input costs O(n log n), not O(n²).
	decoding bool
	unsorted bool
}

type indexCount struct {
	index int
	count float64
}

var (
	minBinIndex = sharedMapping.Index(sharedMapping.MinIndexableValue())
	maxBinIndex = sharedMapping.Index(sharedMapping.MaxIndexableValue())
)

// maxPresized bounds the bins a list makes room for before they come.
const maxPresized = 4096

// maxUnsorted bounds the bins appended out of order before they are
// sorted and combined: a store never lists more than the mapping's range.
var maxUnsorted = 2 * (maxBinIndex - minBinIndex + 1)

func (s *binStore) Add(index int) { s.AddWithCount(index, 1) }

func (s *binStore) AddBin(b store.Bin) { s.AddWithCount(b.Index(), b.Count()) }

func (s *binStore) AddWithCount(index int, count float64) {
	if s.err != nil || count == 0 {
		return
	}
	if s.err = s.check(index, count); s.err != nil {
		return
	}
	s.count += count
	n := len(s.bins)
	switch {
	case n > 0 && s.bins[n-1].index == index:
		s.bins[n-1].count += count
	case n == 0 || s.bins[n-1].index < index:
		s.bins = append(s.bins, indexCount{index, count})
	case s.decoding:
		s.bins = append(s.bins, indexCount{index, count})
		if s.unsorted = true; len(s.bins) >= maxUnsorted {
			s.tidy()
		}
	default:
		i, found := slices.BinarySearchFunc(s.bins, index, func(b indexCount, i int) int { return b.index - i })
		if found {
			s.bins[i].count += count
		} else {
			s.bins = slices.Insert(s.bins, i, indexCount{index, count})
		}
	}
}

// check accepts only bins Record can make.
func (s *binStore) check(index int, count float64) error {
	switch {
	case s.negative:
		return errors.New("negative values")
	case index < minBinIndex || index > maxBinIndex:
		return fmt.Errorf("bin index %d outside the mapping's range [%d, %d]", index, minBinIndex, maxBinIndex)
	case count < 0 || math.IsNaN(count) || math.IsInf(count, 0):
		return fmt.Errorf("bin %d: bad count %v", index, count)
	}
	return nil
}

func byIndex(a, b indexCount) int { return a.index - b.index }

// tidy sorts the bins appended while decoding and combines equal indexes.
func (s *binStore) tidy() {
	if !s.unsorted {
		return
	}
	s.unsorted = false
	slices.SortFunc(s.bins, byIndex)
	out := s.bins[:0]
	for _, b := range s.bins {
		if n := len(out); n > 0 && out[n-1].index == b.index {
			out[n-1].count += b.count
		} else {
			out = append(out, b)
		}
	}
	s.bins = out
}

func (s *binStore) DecodeAndMergeWith(b *[]byte, mode enc.SubFlag) error {
	// Every encoding starts with its number of bins, each at least a
	// byte: room for them at once rather than growing the list bin by
	// bin (most of a master's allocations).
	peek := *b
	if n, err := enc.DecodeUvarint64(&peek); err == nil {
		s.bins = slices.Grow(s.bins, int(min(n, uint64(len(peek)), maxPresized)))
	}
	s.decoding = true
	err := store.DecodeAndMergeWith(s, b, mode)
	s.decoding = false
	s.tidy()
	if err != nil && s.err == nil {
		s.err = err // truncated bytes: the sketch ignores this error
	}
	return s.err
}

func (s *binStore) Bins() <-chan store.Bin {
	ch := make(chan store.Bin)
	go func() {
		defer close(ch)
		for _, b := range s.bins {
			bin, _ := store.NewBin(b.index, b.count)
			ch <- *bin
		}
	}()
	return ch
}

func (s *binStore) ForEach(f func(index int, count float64) (stop bool)) {
	for _, b := range s.bins {
		if f(b.index, b.count) {
			return
		}
	}
}

func (s *binStore) Copy() store.Store {
	c := *s
	c.bins = slices.Clone(s.bins)
	return &c
}

func (s *binStore) Clear() {
	s.bins, s.count, s.err = s.bins[:0], 0, nil
}

func (s *binStore) IsEmpty() bool { return len(s.bins) == 0 }

func (s *binStore) MinIndex() (int, error) {
	if len(s.bins) == 0 {
		return 0, errors.New("MinIndex of empty store is undefined")
	}
	return s.bins[0].index, nil
}

func (s *binStore) MaxIndex() (int, error) {
	if len(s.bins) == 0 {
		return 0, errors.New("MaxIndex of empty store is undefined")
	}
	return s.bins[len(s.bins)-1].index, nil
}

func (s *binStore) TotalCount() float64 { return s.count }

// KeyAtRank is the index of the bin holding the value at rank (0-based),
// as the dense store answers it.
func (s *binStore) KeyAtRank(rank float64) int {
	rank = max(rank, 0)
	var n float64
	for _, b := range s.bins {
		if n += b.count; n > rank {
			return b.index
		}
	}
	if len(s.bins) == 0 {
		return 0
	}
	return s.bins[len(s.bins)-1].index
}

// MergeWith adds other's bins in one pass over both lists.
func (s *binStore) MergeWith(other store.Store) {
	if s.err != nil {
		return
	}
	var add []indexCount
	other.ForEach(func(index int, count float64) bool {
		add = append(add, indexCount{index, count})
		return false
	})
	if !slices.IsSortedFunc(add, byIndex) {
		slices.SortFunc(add, byIndex) // a sparse store's map order
	}
	merged := make([]indexCount, 0, len(s.bins)+len(add))
	i, total := 0, s.count
	for _, b := range add {
		if b.count == 0 {
			continue
		}
		if s.err = s.check(b.index, b.count); s.err != nil {
			return
		}
		total += b.count
		for ; i < len(s.bins) && s.bins[i].index < b.index; i++ {
			merged = append(merged, s.bins[i])
		}
		if i < len(s.bins) && s.bins[i].index == b.index {
			b.count += s.bins[i].count
			i++
		}
		merged = append(merged, b)
	}
	s.bins, s.count = append(merged, s.bins[i:]...), total
}

func (s *binStore) ToProto() *sketchpb.Store {
	counts := make(map[int32]float64, len(s.bins))
	for _, b := range s.bins {
		counts[int32(b.index)] = b.count
	}
	return &sketchpb.Store{BinCounts: counts}
}

func (s *binStore) EncodeProto(builder *sketchpb.StoreBuilder) {
	for _, b := range s.bins {
		builder.AddBinCounts(func(w *sketchpb.Store_BinCountsEntryBuilder) {
			w.SetKey(int32(b.index))
			w.SetValue(b.count)
		})
	}
}

func (s *binStore) Reweight(w float64) error {
	if w <= 0 {
		return errors.New("can't reweight by a negative factor")
	}
	s.count *= w
	for i := range s.bins {
		s.bins[i].count *= w
	}
	return nil
}

// Encode writes the bins as a dense store holding them would, so that a
// decoded histogram encodes to the same bytes as a recorded one.
func (s *binStore) Encode(b *[]byte, t enc.FlagType) {
	d := store.NewDenseStore()
	d.MergeWith(s)
	d.Encode(b, t)
}

var _ store.Store = (*binStore)(nil)
