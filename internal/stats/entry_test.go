package stats

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

func timingOf(ms ...float64) *Timing {
	t := NewTiming()
	for _, v := range ms {
		t.Record(msDuration(v))
	}
	return t
}

func TestTiming(t *testing.T) {
	tests := []struct {
		name                 string
		ms                   []float64
		count                int64
		mean, min, max, p100 float64
	}{
		{"empty", nil, 0, 0, 0, math.Inf(-1), 0},
		{"one", []float64{7}, 1, 7, 7, 7, 7},
		{"several", []float64{1, 2, 3, 10}, 4, 4, 1, 10, 10},
		{"negative clamped", []float64{-5, 5}, 2, 2.5, 0, 5, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tm := timingOf(tc.ms...)
			if tm.Count != tc.count {
				t.Errorf("Count = %d, want %d", tm.Count, tc.count)
			}
			if got := tm.Mean(); got != tc.mean {
				t.Errorf("Mean = %g, want %g", got, tc.mean)
			}
			if got := tm.MinOrZero(); got != tc.min {
				t.Errorf("MinOrZero = %g, want %g", got, tc.min)
			}
			if tc.count > 0 && tm.Max != tc.max {
				t.Errorf("Max = %g, want %g", tm.Max, tc.max)
			}
			if got := tm.Percentile(100); got != tc.p100 {
				t.Errorf("p100 = %g, want the exact max %g", got, tc.p100)
			}
			// Percentiles never leave [min, max].
			for _, p := range PercentileSet {
				v := tm.Percentile(p)
				if tc.count > 0 && (v < tm.Min || v > tm.Max) {
					t.Errorf("p%g = %g outside [%g, %g]", p, v, tm.Min, tm.Max)
				}
			}
		})
	}
}

func TestTimingMerge(t *testing.T) {
	a, b := timingOf(5, 10), timingOf(1, 100, 50)
	all := timingOf(5, 10, 1, 100, 50)
	a.Merge(b)
	a.Merge(nil)
	a.Merge(NewTiming()) // empty: must not drag Min to +Inf or Max to 0
	if a.Count != 5 || a.Sum != all.Sum || a.Min != 1 || a.Max != 100 {
		t.Fatalf("merged = count %d sum %g min %g max %g; want 5 %g 1 100", a.Count, a.Sum, a.Min, a.Max, all.Sum)
	}
	for _, p := range PercentileSet {
		if got, want := a.Percentile(p), all.Percentile(p); got != want {
			t.Errorf("merged p%g = %g, want %g", p, got, want)
		}
	}
	empty := NewTiming()
	empty.Merge(timingOf(3))
	if empty.Min != 3 || empty.Max != 3 || empty.Count != 1 {
		t.Errorf("empty.Merge: min %g max %g count %d", empty.Min, empty.Max, empty.Count)
	}
	c := a.Copy()
	c.Record(time.Second)
	if a.Count != 5 || a.Hist.Count() != 5 {
		t.Error("Copy shares state with the original")
	}
}

func TestEntryMerge(t *testing.T) {
	a := NewEntry()
	a.Requests, a.Failures, a.ContentBytes = 3, 1, 300
	a.Latency = timingOf(1, 2, 3)
	b := NewEntry()
	b.Requests, b.Failures, b.ContentBytes = 1, 0, 100
	b.Latency = timingOf(10)
	b.Service = timingOf(4)

	a.Merge(b)
	if a.Requests != 4 || a.Failures != 1 || a.ContentBytes != 400 {
		t.Errorf("counts = %d/%d/%d, want 4/1/400", a.Requests, a.Failures, a.ContentBytes)
	}
	if a.Latency.Count != 4 || a.Latency.Max != 10 {
		t.Errorf("latency count %d max %g", a.Latency.Count, a.Latency.Max)
	}
	if a.Service == nil || a.Service.Count != 1 {
		t.Fatalf("service timing not merged: %+v", a.Service)
	}
	if got := a.AvgContentSize(); got != 100 {
		t.Errorf("AvgContentSize = %g, want 100", got)
	}
	if got := NewEntry().AvgContentSize(); got != 0 {
		t.Errorf("empty AvgContentSize = %g", got)
	}
	c := a.Copy()
	c.Latency.Record(time.Second)
	c.Service.Record(time.Second)
	if a.Latency.Count != 4 || a.Service.Count != 1 {
		t.Error("Entry.Copy shares timings with the original")
	}
}

func TestDeltaMerge(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := NewDelta(t0.Add(time.Second))
	a.End = t0.Add(2 * time.Second)
	a.entry(Key{"GET", "/a"}).Requests = 2
	a.Errors[ErrorKey{"GET", "/a", "boom"}] = 1
	b := NewDelta(t0)
	b.End = t0.Add(3 * time.Second)
	b.entry(Key{"GET", "/a"}).Requests = 3
	b.entry(Key{"POST", "/b"}).Requests = 1
	b.Errors[ErrorKey{"GET", "/a", "boom"}] = 2
	b.Exceptions[ExceptionKey{"oops", "tb"}] = 4
	b.Dropped = 5

	if !NewDelta(t0).Empty() || a.Empty() {
		t.Fatal("Empty is wrong")
	}
	a.Merge(b)
	if !a.Start.Equal(t0) || !a.End.Equal(t0.Add(3*time.Second)) {
		t.Errorf("interval = [%v, %v), want widened to b's", a.Start, a.End)
	}
	if a.Requests() != 6 || a.Entries[Key{"GET", "/a"}].Requests != 5 {
		t.Errorf("requests = %d", a.Requests())
	}
	if a.Errors[ErrorKey{"GET", "/a", "boom"}] != 3 || a.Exceptions[ExceptionKey{"oops", "tb"}] != 4 || a.Dropped != 5 {
		t.Errorf("errors %v exceptions %v dropped %d", a.Errors, a.Exceptions, a.Dropped)
	}
	if d := (&Delta{Exceptions: map[ExceptionKey]int64{}}); !d.Empty() {
		t.Error("zero delta not empty")
	}
}

func TestPercentilesJSON(t *testing.T) {
	var ps Percentiles
	for i := range ps {
		ps[i] = float64(i) + 0.12345
	}
	b, err := json.Marshal(ps)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"50":0.123,"66":1.123,"75":2.123,"80":3.123,"90":4.123,"95":5.123,"98":6.123,"99":7.123,"99.9":8.123,"99.99":9.123,"100":10.123}`
	if string(b) != want {
		t.Fatalf("JSON = %s\nwant %s", b, want)
	}
	var back Percentiles
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.At(99.9) != 8.123 || back.At(50) != 0.123 || back.At(42) != 0 {
		t.Errorf("round trip: %v", back)
	}
	if got := PercentileLabel(99.99); got != "99.99%" {
		t.Errorf("label = %q", got)
	}
	if got := PercentileLabel(50); got != "50%" {
		t.Errorf("label = %q", got)
	}
}
