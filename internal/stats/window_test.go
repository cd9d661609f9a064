package stats

import (
	"fmt"
	"testing"
	"time"
)

// TestHistoryEntryPoints checks the per-name history: only the
// HistoryEntries names with the most requests get points and windows, and
// their percentiles are those of the last seconds, not cumulative ones.
func TestHistoryEntryPoints(t *testing.T) {
	t0 := time.Unix(5000, 0)
	a := NewAggregate(t0)
	n := HistoryEntries + 2
	key := func(i int) Key { return Key{"GET", fmt.Sprintf("/n%02d", i)} }
	// Name i has i+1 requests of 1000 ms: names 0 and 1 are the smallest.
	for i := range n {
		a.Add(Origin{}, deltaOf(t0, key(i), i+1, 0, 1000, ""))
	}
	p := a.Tick(t0.Add(time.Second), 1)
	if len(p.Entries) != HistoryEntries {
		t.Fatalf("%d entries in the point, want %d", len(p.Entries), HistoryEntries)
	}
	for _, i := range []int{0, 1} {
		if _, ok := p.Entries["GET "+key(i).Name]; ok {
			t.Errorf("%s, one of the two smallest names, has a point", key(i).Name)
		}
	}
	top := p.Entries["GET "+key(n-1).Name]
	if top.Requests != int64(n) || top.P95 != 0 {
		t.Errorf("first point of the top name: %+v; want %d requests and no percentile yet (no window before)", top, n)
	}
	if len(a.all.windows) != HistoryEntries {
		t.Errorf("%d windows kept, want %d", len(a.all.windows), HistoryEntries)
	}

	// 15 s later, fast requests: the window sees only them, the
	// cumulative percentiles still the slow start.
	t1 := t0.Add(15 * time.Second)
	a.Add(Origin{}, deltaOf(t1, key(n-1), 100, 10, 20, "HTTP 500"))
	p = a.Tick(t1.Add(time.Second), 1)
	top = p.Entries["GET "+key(n-1).Name]
	if relErr(top.P95, 20) > 0.01 || relErr(top.P50, 20) > 0.01 || top.Requests != int64(n+100) || top.Failures != 10 {
		t.Errorf("top name after fast requests: %+v; want p50/p95 of 20 ms, %d requests, 10 failures", top, n+100)
	}
	if top.RPS <= 0 {
		t.Errorf("top name's rate = %v, want > 0", top.RPS)
	}
	// A reset forgets the windows with the rest.
	a.Reset(t1.Add(2 * time.Second))
	if len(a.all.windows) != 0 {
		t.Errorf("%d windows after a reset", len(a.all.windows))
	}
}

// TestMergePointsKeepsEntries checks that compacting the history keeps
// the per-name points, with their peaks.
func TestMergePointsKeepsEntries(t *testing.T) {
	a := Point{Entries: map[string]Point{"GET /a": {P95: 30, RPS: 2}, "GET /b": {P95: 5}}}
	b := Point{Entries: map[string]Point{"GET /a": {P95: 10, RPS: 4}, "GET /c": {P95: 7}}}
	m := mergePoints(a, b)
	if len(m.Entries) != 3 || m.Entries["GET /a"].P95 != 30 || m.Entries["GET /a"].RPS != 3 || m.Entries["GET /b"].P95 != 5 || m.Entries["GET /c"].P95 != 7 {
		t.Errorf("merged entries = %+v", m.Entries)
	}
}

// TestResetRecordsWhen: after a reset the summary says when, and its
// rates are over the time since, not since the test's start.
func TestResetRecordsWhen(t *testing.T) {
	t0 := time.Unix(8000, 0)
	a := NewAggregate(t0)
	k := Key{"GET", "/"}
	for i := range 10 {
		a.Add(Origin{}, deltaOf(t0.Add(time.Duration(i)*time.Second), k, 50, 0, 5, ""))
	}
	if s := a.Snapshot(t0.Add(10*time.Second), false); s.ResetAt != nil {
		t.Errorf("reset_at %v before any reset", s.ResetAt)
	}
	reset := t0.Add(10 * time.Second)
	a.Reset(reset)
	for i := range 10 {
		a.Add(Origin{}, deltaOf(reset.Add(time.Duration(i)*time.Second), k, 10, 0, 5, ""))
	}
	s := a.Snapshot(reset.Add(10*time.Second), false)
	if s.ResetAt == nil || !s.ResetAt.Equal(reset) || !s.Start.Equal(reset) {
		t.Errorf("reset_at %v, start %v; want both %v", s.ResetAt, s.Start, reset)
	}
	if s.Total.Requests != 100 || !near(s.Total.RPS, 10) {
		t.Errorf("after the reset: %d requests at %v/s, want 100 at 10/s (over the 10 s since the reset)", s.Total.Requests, s.Total.RPS)
	}
}
