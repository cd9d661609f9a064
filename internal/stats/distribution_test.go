package stats

import (
	"testing"
	"time"
)

func TestDistribution(t *testing.T) {
	h := NewHistogram()
	vals := map[float64]int{0: 2, 0.5: 1, 1: 3, 9: 4, 10: 1, 250: 5, 3000: 1}
	var n int64
	for v, c := range vals {
		for i := 0; i < c; i++ {
			h.Record(v)
			n++
		}
	}
	d := h.Distribution()
	var total int64
	for i, b := range d {
		total += b.Count
		if i > 0 && b.UpperMs <= d[i-1].UpperMs {
			t.Fatalf("buckets not ascending: %+v", d)
		}
	}
	if total != n {
		t.Fatalf("bucket counts add up to %d, want %d: %+v", total, n, d)
	}
	want := map[float64]int64{0.001: 2, 0.501: 1, 1: 3, 10: 5, 251: 5, 3160: 1}
	// 9 and 10 share the bucket (7.94, 10]; 0.5 falls in (0.398, 0.501].
	if len(d) != len(want) {
		t.Fatalf("got %d buckets, want %d: %+v", len(d), len(want), d)
	}
	for _, b := range d {
		if want[b.UpperMs] != b.Count {
			t.Errorf("bucket le %v = %d, want %d (all: %+v)", b.UpperMs, b.Count, want[b.UpperMs], d)
		}
	}
}

func TestSnapshotDistributionOnlyWithHistory(t *testing.T) {
	start := time.Unix(1000, 0)
	a := NewAggregate(start)
	r := NewRecorder(1, start, false)
	for i := 0; i < 10; i++ {
		r.Shard(0).Record(Sample{Method: "GET", Name: "/", Latency: time.Duration(i+1) * time.Millisecond})
	}
	a.Add(Origin{}, r.Flush(start.Add(time.Second)))
	if s := a.Snapshot(start.Add(time.Second), false); s.Distribution != nil {
		t.Error("distribution without history")
	}
	s := a.Snapshot(start.Add(time.Second), true)
	var c int64
	for _, b := range s.Distribution {
		c += b.Count
	}
	if c != 10 {
		t.Errorf("distribution counts %d, want 10", c)
	}
}
