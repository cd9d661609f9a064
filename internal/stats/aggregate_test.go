package stats

import (
	"math"
	"slices"
	"testing"
	"time"
)

// deltaOf builds a delta over [start, start+1s) with n requests of key k,
// fails of them failed with err, each taking ms.
func deltaOf(start time.Time, k Key, n, fails int, ms float64, err string) *Delta {
	d := NewDelta(start)
	d.End = start.Add(time.Second)
	e := d.entry(k)
	for i := range n {
		e.Requests++
		e.ContentBytes += 100
		e.Latency.Record(msDuration(ms))
		if i < fails {
			e.Failures++
			d.Errors[ErrorKey{k.Method, k.Name, err}]++
		}
	}
	return d
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestAggregateRatesAndCurrentPercentiles(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := NewAggregate(t0)
	k := Key{"GET", "/"}
	// Second i has 10(i+1) requests and i failures; the first 5 seconds
	// are slow (1000 ms), the rest fast (10 ms).
	for i := range 15 {
		ms := 10.0
		if i < 5 {
			ms = 1000
		}
		a.Add(Origin{}, deltaOf(t0.Add(time.Duration(i)*time.Second), k, 10*(i+1), i, ms, "HTTP 500"))
		if i == 2 {
			s := a.Snapshot(t0.Add(3*time.Second), false)
			// only 3 complete seconds so far: (10+20+30)/3
			if !near(s.Total.CurrentRPS, 20) || !near(s.Total.CurrentFailPerSec, 1) {
				t.Errorf("after 3 s: current rps %g fail/s %g, want 20 and 1", s.Total.CurrentRPS, s.Total.CurrentFailPerSec)
			}
		}
	}
	now := t0.Add(15 * time.Second)
	s := a.Snapshot(now, false)
	// window: the 10 complete seconds before now, i = 5..14
	if !near(s.Total.CurrentRPS, 105) || !near(s.Total.CurrentFailPerSec, 9.5) {
		t.Errorf("current rps %g fail/s %g, want 105 and 9.5", s.Total.CurrentRPS, s.Total.CurrentFailPerSec)
	}
	if len(s.Entries) != 1 || !near(s.Entries[0].CurrentRPS, 105) {
		t.Errorf("entry current rps: %+v", s.Entries)
	}
	if s.Total.Requests != 1200 || s.Total.Failures != 105 {
		t.Errorf("total requests/failures = %d/%d, want 1200/105", s.Total.Requests, s.Total.Failures)
	}
	if !near(s.Total.RPS, 80) || !near(s.Total.FailPerSec, 7) {
		t.Errorf("total rps %g fail/s %g, want 80 and 7", s.Total.RPS, s.Total.FailPerSec)
	}
	// cumulative p95 sees the slow start (12.5% of requests); the current
	// one only the last seconds
	if relErr(s.Total.Percentiles.At(95), 1000) > 0.01 || relErr(s.CurrentP95, 10) > 0.01 || relErr(s.CurrentP50, 10) > 0.01 {
		t.Errorf("p95 %g, current p95 %g p50 %g; want 1000, 10, 10", s.Total.Percentiles.At(95), s.CurrentP95, s.CurrentP50)
	}
	if s.Total.MedianMs != s.Total.Percentiles.At(50) || s.Total.MaxMs != 1000 || s.Total.MinMs != 10 {
		t.Errorf("median %g max %g min %g", s.Total.MedianMs, s.Total.MaxMs, s.Total.MinMs)
	}
	if s.Total.AvgContentSize != 100 || s.Total.TotalContentBytes != 120000 {
		t.Errorf("content: avg %g total %d", s.Total.AvgContentSize, s.Total.TotalContentBytes)
	}
	if got := s.FailRatio(); !near(got, 105.0/1200) {
		t.Errorf("FailRatio = %g", got)
	}

	p := a.Tick(now, 7)
	if p.Users != 7 || !near(p.RPS, 105) || !near(p.FailPerSec, 9.5) || p.Requests != 1200 || p.Failures != 105 {
		t.Errorf("tick point = %+v", p)
	}
	if relErr(p.P50, 10) > 0.01 || relErr(p.P99, 10) > 0.01 || p.Regions != nil {
		t.Errorf("tick percentiles %g/%g/%g regions %v", p.P50, p.P95, p.P99, p.Regions)
	}
	a.Tick(now.Add(time.Second), 8)
	if h := a.History(); len(h) != 2 || h[1].Users != 8 {
		t.Errorf("history = %+v", h)
	}
	// Long after the last delta, nothing is current any more.
	late := a.Snapshot(now.Add(time.Minute), true)
	if late.Total.CurrentRPS != 0 || late.CurrentP95 != 0 || len(late.History) != 2 {
		t.Errorf("a minute later: current rps %g p95 %g, history %d", late.Total.CurrentRPS, late.CurrentP95, len(late.History))
	}
	if s.History != nil {
		t.Error("Snapshot(history=false) returned history")
	}
}

func TestAggregateRegionsWorkersAndSorting(t *testing.T) {
	t0 := time.Unix(2000, 0)
	a := NewAggregate(t0)
	at := t0.Add(time.Second)
	eu1, eu2, us3, local := Origin{"eu", "w1"}, Origin{"eu", "w2"}, Origin{"us", "w3"}, Origin{}

	d := deltaOf(at, Key{"GET", "/a"}, 3, 3, 5, "e1")
	d.Exceptions[ExceptionKey{"X", "tbX"}] = 1
	a.Add(eu1, d)
	d = deltaOf(at, Key{"POST", "/a"}, 2, 0, 5, "")
	d.Merge(deltaOf(at, Key{"POST", "/b"}, 1, 1, 5, "e2"))
	a.Add(eu2, d)
	d = deltaOf(at, Key{"GET", "/a"}, 5, 0, 5, "")
	d.Exceptions[ExceptionKey{"X", "tbX"}] = 1
	a.Add(us3, d)
	d = deltaOf(at, Key{"GET", "/c"}, 1, 0, 5, "")
	d.Exceptions[ExceptionKey{"Y", "tbY"}] = 1
	d.Dropped = 4
	a.Add(local, d)

	s := a.Snapshot(t0.Add(10*time.Second), false)
	var keys []Key
	for _, e := range s.Entries {
		keys = append(keys, Key{e.Method, e.Name})
	}
	wantKeys := []Key{{"GET", "/a"}, {"POST", "/a"}, {"POST", "/b"}, {"GET", "/c"}}
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("entries sorted as %v, want %v", keys, wantKeys)
	}
	if s.Total.Name != "Aggregated" || s.Total.Method != "" || s.Total.Requests != 12 || s.Total.Failures != 4 {
		t.Errorf("Aggregated row = %+v", s.Total)
	}
	if len(s.Errors) != 2 || s.Errors[0].Error != "e1" || s.Errors[0].Occurrences != 3 || s.Errors[1].Error != "e2" {
		t.Errorf("errors = %+v", s.Errors)
	}
	if len(s.Exceptions) != 2 || s.Exceptions[0].Message != "X" || s.Exceptions[0].Count != 2 ||
		!slices.Equal(s.Exceptions[0].Nodes, []string{"w1", "w3"}) || !slices.Equal(s.Exceptions[1].Nodes, []string{"local"}) {
		t.Errorf("exceptions = %+v", s.Exceptions)
	}
	if s.Dropped != 4 {
		t.Errorf("dropped = %d", s.Dropped)
	}

	if len(s.Regions) != 2 || s.Regions[0].Region != "eu" || s.Regions[1].Region != "us" {
		t.Fatalf("regions = %+v", s.Regions)
	}
	eu, us := s.Regions[0], s.Regions[1]
	if eu.Total.Requests != 6 || eu.Total.Failures != 4 || len(eu.Entries) != 3 {
		t.Errorf("eu = total %d/%d, %d entries", eu.Total.Requests, eu.Total.Failures, len(eu.Entries))
	}
	if us.Total.Requests != 5 || len(us.Entries) != 1 || us.Entries[0].Name != "/a" {
		t.Errorf("us = %+v", us)
	}
	var workers []string
	var wreq []int64
	for _, w := range s.WorkerTotals {
		workers = append(workers, w.Worker)
		wreq = append(wreq, w.Total.Requests)
	}
	if !slices.Equal(workers, []string{"w1", "w2", "w3"}) || !slices.Equal(wreq, []int64{3, 3, 5}) {
		t.Errorf("workers %v with requests %v", workers, wreq)
	}

	p := a.Tick(t0.Add(10*time.Second), 3)
	if len(p.Regions) != 2 || p.Regions["eu"].Requests != 6 || p.Regions["us"].Requests != 5 {
		t.Errorf("tick regions = %+v", p.Regions)
	}
	if te := a.TotalEntry(); te.Requests != 12 || te.Latency.Hist.Count() != 12 {
		t.Errorf("TotalEntry = %d requests", te.Requests)
	}

	// Reset forgets the statistics, keeps the chart history.
	t1 := t0.Add(20 * time.Second)
	a.Reset(t1)
	r := a.Snapshot(t1.Add(time.Second), true)
	if r.Total.Requests != 0 || len(r.Entries) != 0 || len(r.Regions) != 0 || len(r.WorkerTotals) != 0 ||
		len(r.Errors) != 0 || len(r.Exceptions) != 0 || r.Dropped != 0 {
		t.Errorf("after Reset: %+v", r)
	}
	if r.Total.MaxMs != 0 || r.Total.MinMs != 0 || r.Total.Percentiles.At(100) != 0 {
		t.Errorf("empty Aggregated row has times: %+v", r.Total)
	}
	if len(r.History) != 1 || !a.Start().Equal(t1) || !r.Start.Equal(t1) {
		t.Errorf("after Reset: history %d, start %v", len(r.History), a.Start())
	}
	a.Add(eu1, deltaOf(t1, Key{"GET", "/new"}, 2, 0, 1, ""))
	if got := a.Snapshot(t1.Add(2*time.Second), false); got.Total.Requests != 2 || len(got.Regions) != 1 {
		t.Errorf("after Reset and Add: %d requests, %d regions", got.Total.Requests, len(got.Regions))
	}
}

// Merging the same deltas in any grouping gives identical summaries: what
// a master receives from its workers equals one process doing everything.
func TestAggregateMergeOrderDoesNotMatter(t *testing.T) {
	t0 := time.Unix(3000, 0)
	var deltas []*Delta
	for i := range 20 {
		deltas = append(deltas, deltaOf(t0.Add(time.Duration(i%5)*time.Second), Key{"GET", "/x"}, 1+i, i%3, float64(1+7*i), "err"))
	}
	a, b := NewAggregate(t0), NewAggregate(t0)
	for _, d := range deltas {
		a.Add(Origin{"r", "w"}, d)
	}
	combined := NewDelta(time.Time{})
	for i := len(deltas) - 1; i >= 0; i-- {
		combined.Merge(deltas[i])
	}
	b.Add(Origin{"r", "w"}, combined)
	now := t0.Add(time.Minute)
	sa, sb := a.Snapshot(now, false), b.Snapshot(now, false)
	if sa.Total.Percentiles != sb.Total.Percentiles || sa.Total.Requests != sb.Total.Requests ||
		sa.Total.AvgMs != sb.Total.AvgMs || sa.Total.Failures != sb.Total.Failures {
		t.Errorf("totals differ:\n%+v\n%+v", sa.Total, sb.Total)
	}
}

// TestRateOverAtLeastOneSecond: as Locust, the whole-run rate divides by at
// least one second, so a snapshot taken just after a reset or start does
// not turn a few requests into thousands a second.
func TestRateOverAtLeastOneSecond(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := NewAggregate(t0)
	d := deltaOf(t0, Key{"GET", "/"}, 13, 2, 5, "HTTP 500")
	d.End = t0.Add(8 * time.Millisecond)
	a.Add(Origin{}, d)
	s := a.Snapshot(t0.Add(8*time.Millisecond), false)
	if !near(s.Total.RPS, 13) || !near(s.Total.FailPerSec, 2) || !near(s.Entries[0].RPS, 13) {
		t.Errorf("8 ms in: total rps %g fail/s %g, row rps %g; want 13, 2, 13", s.Total.RPS, s.Total.FailPerSec, s.Entries[0].RPS)
	}
}
