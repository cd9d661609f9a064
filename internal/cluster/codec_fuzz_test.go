package cluster

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/stats"
)

// FuzzDecodeDelta: whatever bytes a worker sends as a stats report,
// decoding either refuses them or gives a delta whose numbers are in
// range, that survives another encode/decode unchanged, and that the
// master's aggregate takes without breaking any output (the JSON summary
// still encodes: no NaN, no negative count).
func FuzzDecodeDelta(f *testing.F) {
	for _, d := range seedDeltas() {
		p, err := EncodeDelta(d)
		if err != nil {
			f.Fatal(err)
		}
		b, err := proto.Marshal(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// Hostile ones: NaN and infinite timings, counts near 2^63 twice under
	// one name, a negative count.
	for _, p := range []*pb.Delta{
		{Entries: []*pb.Entry{{Method: "GET", Name: "/", Requests: 1, Latency: &pb.Timing{Count: 1, Sum: math.NaN(), Max: 1, Min: 1}}}},
		{Entries: []*pb.Entry{{Method: "GET", Name: "/", Requests: 1, Latency: &pb.Timing{Count: 1, Sum: 1, Max: math.Inf(1), Min: 1}}}},
		{Entries: []*pb.Entry{
			{Method: "GET", Name: "/", Requests: math.MaxInt64 - 1, Failures: math.MaxInt64 - 1},
			{Method: "GET", Name: "/", Requests: math.MaxInt64 - 1, Failures: math.MaxInt64 - 1},
		}},
		{Errors: []*pb.ErrorCount{{Method: "GET", Name: "/", Error: "x", Count: math.MaxInt64}, {Method: "GET", Name: "/", Error: "x", Count: math.MaxInt64}}},
		{Dropped: -1},
	} {
		b, err := proto.Marshal(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p pb.Delta
		if proto.Unmarshal(b, &p) != nil {
			return
		}
		d, err := DecodeDelta(&p)
		if err != nil {
			return
		}
		checkDelta(t, d)
		p2, err := EncodeDelta(d)
		if err != nil {
			t.Fatalf("a decoded delta does not encode: %v", err)
		}
		d2, err := DecodeDelta(p2)
		if err != nil {
			t.Fatalf("a re-encoded delta does not decode: %v", err)
		}
		if len(d2.Entries) != len(d.Entries) || len(d2.Errors) != len(d.Errors) || len(d2.Exceptions) != len(d.Exceptions) || d2.Dropped != d.Dropped {
			t.Fatalf("round trip changed the delta: %+v → %+v", d, d2)
		}
		for k, e := range d.Entries {
			e2 := d2.Entries[k]
			if e2 == nil || e2.Requests != e.Requests || e2.Failures != e.Failures || e2.ContentBytes != e.ContentBytes ||
				e2.Latency.Count != e.Latency.Count || e2.Latency.Sum != e.Latency.Sum {
				t.Fatalf("round trip changed %v: %+v → %+v", k, e, e2)
			}
		}
		now := time.Unix(1_700_000_000, 0)
		agg := stats.NewAggregate(now)
		agg.Add(stats.Origin{Region: "r", Worker: "w"}, d)
		agg.Add(stats.Origin{Region: "r", Worker: "w2"}, d2)
		agg.Tick(now.Add(time.Second), 1)
		sum := agg.Snapshot(now.Add(2*time.Second), true)
		if _, err := json.Marshal(sum); err != nil {
			t.Fatalf("the summary no longer encodes: %v", err)
		}
		if sum.Total.Requests < 0 || sum.Total.Failures < 0 {
			t.Fatalf("negative totals: %d requests, %d failures", sum.Total.Requests, sum.Total.Failures)
		}
	})
}

func checkDelta(t *testing.T, d *stats.Delta) {
	t.Helper()
	if d.Dropped < 0 {
		t.Fatalf("dropped %d", d.Dropped)
	}
	for k, e := range d.Entries {
		if e.Requests < 0 || e.Failures < 0 || e.ContentBytes < 0 {
			t.Fatalf("%v: negative count %+v", k, e)
		}
		for _, tm := range []*stats.Timing{e.Latency, e.Service} {
			if tm == nil {
				continue
			}
			if tm.Count < 0 || !finite(tm.Sum) || !finite(tm.Max) || (tm.Count > 0 && !finite(tm.Min)) {
				t.Fatalf("%v: timing out of range: count %d sum %v min %v max %v", k, tm.Count, tm.Sum, tm.Min, tm.Max)
			}
		}
	}
	for k, n := range d.Errors {
		if n < 0 {
			t.Fatalf("%v: count %d", k, n)
		}
	}
	for k, n := range d.Exceptions {
		if n < 0 {
			t.Fatalf("%v: count %d", k, n)
		}
	}
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// seedDeltas are honest reports: one request, several names with
// service times, errors and exceptions.
func seedDeltas() []*stats.Delta {
	start := time.Unix(1_700_000_000, 0)
	d := stats.NewDelta(start)
	d.End = start.Add(time.Second)
	for i, k := range []stats.Key{{Method: "GET", Name: "/a"}, {Method: "POST", Name: "/b"}} {
		e := stats.NewEntry()
		e.Service = stats.NewTiming()
		for j := range 50 {
			lat := time.Duration(1+(i+1)*j) * time.Millisecond
			e.Requests++
			e.Latency.Record(lat)
			e.Service.Record(lat / 2)
		}
		e.Failures = int64(i)
		e.ContentBytes = 1234
		d.Entries[k] = e
	}
	d.Errors[stats.ErrorKey{Method: "POST", Name: "/b", Error: "HTTP 500"}] = 1
	d.Exceptions[stats.ExceptionKey{Message: "boom", Traceback: "tb"}] = 2
	d.Dropped = 3
	one := stats.NewDelta(start)
	e := stats.NewEntry()
	e.Requests = 1
	e.Latency.Record(12 * time.Millisecond)
	one.Entries[stats.Key{Method: "GET", Name: "/"}] = e
	return []*stats.Delta{d, one, stats.NewDelta(time.Time{})}
}
