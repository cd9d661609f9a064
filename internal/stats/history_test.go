package stats

import (
	"testing"
	"time"
)

// TestHistoryDownsampled: a long run keeps at most 2·HistoryRecent
// points; the last HistoryRecent stay one second apart, older ones are
// merged (peaks kept), and the history still starts at the run's start.
func TestHistoryDownsampled(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	a := NewAggregate(start)
	const ticks = 3*HistoryRecent + 123
	spike := 100 // the second with the highest users
	epoch, sent := uint64(0), 0
	var got []Point
	for i := range ticks {
		now := start.Add(time.Duration(i+1) * time.Second)
		d := NewDelta(now.Add(-time.Second))
		d.End = now
		e := NewEntry()
		e.Requests = 1
		e.Latency.Record(time.Millisecond)
		d.Entries[Key{"GET", "/"}] = e
		a.Add(Origin{Region: "eu"}, d)
		users := 10
		if i == spike {
			users = 1000
		}
		a.Tick(now, users)
		// A reader polling like the web UI's event stream.
		pts, reset, e2, n := a.HistorySince(epoch, sent)
		if reset {
			got = nil
		}
		got = append(got, pts...)
		epoch, sent = e2, n
		if n > 2*HistoryRecent {
			t.Fatalf("tick %d: %d points", i, n)
		}
	}
	h := a.History()
	if len(got) != len(h) {
		t.Fatalf("the polling reader has %d points, the history %d", len(got), len(h))
	}
	for i := len(h) - HistoryRecent + 1; i < len(h); i++ {
		if d := h[i].Time.Sub(h[i-1].Time); d != time.Second {
			t.Fatalf("recent point %d is %s after the one before", i, d)
		}
	}
	if first := h[0].Time.Sub(start); first > 16*time.Second {
		t.Errorf("the history starts %s after the run", first)
	}
	if last := h[len(h)-1]; last.Requests != ticks || last.Regions["eu"].Requests != ticks {
		t.Errorf("last point counts %d requests (eu %d), want %d", last.Requests, last.Regions["eu"].Requests, ticks)
	}
	peak := 0
	for _, p := range h {
		peak = max(peak, p.Users)
	}
	if peak != 1000 {
		t.Errorf("peak users %d after downsampling, want 1000", peak)
	}
	if s := a.Snapshot(start.Add(ticks*time.Second), true); len(s.History) != len(h) {
		t.Errorf("summary history %d points", len(s.History))
	}
}
