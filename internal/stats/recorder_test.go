package stats

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// Many goroutines record while another flushes: nothing is lost or counted
// twice, and the flushed intervals are contiguous.
func TestRecorderConcurrentRecordAndFlush(t *testing.T) {
	const (
		users   = 32
		perUser = 2000
	)
	t0 := time.Now()
	r := NewRecorder(8, t0, false)
	var deltas []*Delta
	stop := make(chan struct{})
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		now := t0
		for {
			select {
			case <-stop:
				return
			default:
			}
			now = now.Add(time.Millisecond)
			deltas = append(deltas, r.Flush(now))
			time.Sleep(100 * time.Microsecond)
		}
	}()
	var wg sync.WaitGroup
	for u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sh := r.Shard(u)
			for i := range perUser {
				s := Sample{Method: "GET", Name: fmt.Sprintf("/p%d", i%3), Latency: time.Duration(1+i%50) * time.Millisecond, Bytes: 10}
				if i%10 == 0 {
					s.Error = "HTTP 500 Internal Server Error"
				}
				sh.Record(s)
				if i%100 == 0 {
					sh.Exception("boom", "tb")
				}
			}
			sh.Dropped(1)
		}()
	}
	wg.Wait()
	close(stop)
	<-flushed
	last := r.Flush(t0.Add(time.Hour))
	deltas = append(deltas, last)

	total := NewDelta(t0)
	prevEnd := t0
	for i, d := range deltas {
		if !d.Start.Equal(prevEnd) {
			t.Fatalf("delta %d starts at %v, previous ended at %v", i, d.Start, prevEnd)
		}
		prevEnd = d.End
		total.Merge(d)
	}
	const n = users * perUser
	if got := total.Requests(); got != n {
		t.Errorf("requests = %d, want %d", got, n)
	}
	var fails, lat, bytes int64
	for _, e := range total.Entries {
		fails += e.Failures
		lat += e.Latency.Count
		bytes += e.ContentBytes
		if e.Service != nil {
			t.Error("closed-model recorder kept a service timing")
		}
	}
	if fails != n/10 || lat != n || bytes != 10*n {
		t.Errorf("failures %d latencies %d bytes %d; want %d %d %d", fails, lat, bytes, n/10, n, 10*n)
	}
	var grouped int64
	for k, c := range total.Errors {
		if k.Method != "GET" || k.Error != "HTTP 500 Internal Server Error" {
			t.Errorf("unexpected error group %+v", k)
		}
		grouped += c
	}
	if len(total.Errors) != 3 || grouped != n/10 {
		t.Errorf("%d error groups with %d occurrences, want 3 groups and %d", len(total.Errors), grouped, n/10)
	}
	if got := total.Exceptions[ExceptionKey{"boom", "tb"}]; got != n/100 {
		t.Errorf("exceptions = %d, want %d", got, n/100)
	}
	if total.Dropped != users {
		t.Errorf("dropped = %d, want %d", total.Dropped, users)
	}
	if !r.Flush(t0.Add(2 * time.Hour)).Empty() {
		t.Error("flush after the last flush is not empty")
	}
}

func TestRecorderOpenModelServiceTime(t *testing.T) {
	t0 := time.Unix(100, 0)
	r := NewRecorder(0, t0, true) // n < 1 becomes one shard
	if !r.OpenModel() {
		t.Fatal("OpenModel() = false")
	}
	sh := r.Shard(12345)
	sh.Record(Sample{Method: "GET", Name: "/", Latency: 30 * time.Millisecond, Service: 10 * time.Millisecond})
	sh.Record(Sample{Method: "GET", Name: "/", Latency: 5 * time.Millisecond}) // no lag: service = latency
	d := r.Flush(t0.Add(time.Second))
	e := d.Entries[Key{"GET", "/"}]
	if e == nil || e.Service == nil {
		t.Fatalf("no service timing: %+v", e)
	}
	if e.Latency.Max != 30 || e.Latency.Min != 5 {
		t.Errorf("latency min/max = %g/%g, want 5/30", e.Latency.Min, e.Latency.Max)
	}
	if e.Service.Max != 10 || e.Service.Min != 5 || e.Service.Count != 2 {
		t.Errorf("service min/max/count = %g/%g/%d, want 5/10/2", e.Service.Min, e.Service.Max, e.Service.Count)
	}
	if !d.Start.Equal(t0) || !d.End.Equal(t0.Add(time.Second)) {
		t.Errorf("interval [%v, %v)", d.Start, d.End)
	}
}
