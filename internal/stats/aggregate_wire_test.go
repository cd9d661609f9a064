package stats

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// overTheWire returns d with every histogram encoded and decoded, as a
// master gets a worker's delta (its histograms are then bin lists).
func overTheWire(t *testing.T, d *Delta) *Delta {
	t.Helper()
	out := NewDelta(d.Start)
	out.End, out.Dropped, out.Truncated = d.End, d.Dropped, d.Truncated
	for k, e := range d.Entries {
		c := e.Copy()
		for _, tm := range []*Timing{c.Latency, c.Service} {
			if tm != nil {
				tm.Hist = decoded(t, tm.Hist)
			}
		}
		out.Entries[k] = c
	}
	for k, n := range d.Errors {
		out.Errors[k] = n
	}
	for k, n := range d.Exceptions {
		out.Exceptions[k] = n
	}
	return out
}

// workerDelta is one second of a worker: three names, times in whole
// milliseconds (so sums are exact in any order), some failures, an
// exception, open-model service times on one name.
func workerDelta(sec time.Time, w, i int) *Delta {
	d := NewDelta(sec)
	d.End = sec.Add(time.Second)
	for n, name := range []string{"/", "/cart", "/search"} {
		e := d.entry(Key{"GET", name})
		for j := range 5 + (w+i+n)%7 {
			ms := float64(1 + (w*31+i*17+j*13+n*101)%400)
			e.Requests++
			e.ContentBytes += 512
			e.Latency.Record(msDuration(ms))
			if name == "/search" {
				if e.Service == nil {
					e.Service = NewTiming()
				}
				e.Service.Record(msDuration(ms / 2))
			}
			if j == 0 && (w+i)%3 == 0 {
				e.Failures++
				d.Errors[ErrorKey{"GET", name, "HTTP 503"}]++
			}
		}
	}
	if i%4 == 1 {
		d.Exceptions[ExceptionKey{Message: fmt.Sprintf("boom %d", w), Traceback: "script.star:3"}]++
	}
	return d
}

// TestAggregateOfDecodedDeltas: a master's aggregate fed the workers'
// deltas as decoded from their reports holds exactly what one fed the
// recorded deltas holds — the total, each region's table (the
// _regions.csv), each worker's row, the history — also after a reset; and
// a worker's row is the total it would have alone.
func TestAggregateOfDecodedDeltas(t *testing.T) {
	t0 := time.Unix(5000, 0)
	origins := []Origin{{"eu", "w1"}, {"eu", "w2"}, {"us", "w3"}, {"", "w4"}}
	recorded, wire := NewAggregate(t0), NewAggregate(t0)
	alone := make([]*Aggregate, len(origins))
	for w := range alone {
		alone[w] = NewAggregate(t0)
	}
	var now time.Time
	for i := range 16 {
		sec := t0.Add(time.Duration(i) * time.Second)
		now = sec.Add(time.Second)
		if i == 9 { // the UI's "reset stats"
			for _, a := range append([]*Aggregate{recorded, wire}, alone...) {
				a.Reset(sec)
			}
		}
		for w, o := range origins {
			if w == 2 && i > 11 {
				continue // a worker lost: its region has no more deltas
			}
			d := workerDelta(sec, w, i)
			recorded.Add(o, d)
			wire.Add(o, overTheWire(t, d))
			alone[w].Add(Origin{}, d)
		}
		for _, a := range append([]*Aggregate{recorded, wire}, alone...) {
			a.Tick(now, 10)
		}
	}
	want, got := recorded.Snapshot(now, true), wire.Snapshot(now, true)
	if len(got.Regions) != 2 || len(got.WorkerTotals) != 4 || got.Total.Requests == 0 || got.Total.Service == nil {
		t.Fatalf("unexpected aggregate: %d regions, %d workers, %d requests", len(got.Regions), len(got.WorkerTotals), got.Total.Requests)
	}
	for _, part := range []struct {
		name      string
		got, want any
	}{
		{"entries", got.Entries, want.Entries}, {"total", got.Total, want.Total},
		{"regions", got.Regions, want.Regions}, {"worker rows", got.WorkerTotals, want.WorkerTotals},
		{"failures", got.Errors, want.Errors}, {"exceptions", got.Exceptions, want.Exceptions},
		{"history", got.History, want.History}, {"distribution", got.Distribution, want.Distribution},
		{"summary", got, want},
	} {
		gj, _ := json.Marshal(part.got)
		wj, _ := json.Marshal(part.want)
		if string(gj) != string(wj) {
			t.Errorf("%s of the aggregate of decoded deltas differ:\n got %s\nwant %s", part.name, gj, wj)
			break
		}
	}
	for w, row := range got.WorkerTotals {
		rj, _ := json.Marshal(row.Total)
		aj, _ := json.Marshal(alone[w].Snapshot(now, false).Total)
		if row.Worker != origins[w].Worker || string(rj) != string(aj) {
			t.Errorf("worker %s: row %s, want the total it has alone %s", row.Worker, rj, aj)
		}
	}
}
