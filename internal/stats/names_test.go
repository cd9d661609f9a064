package stats

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// The name cap at its edge: exactly max names are kept as they are, the
// next ones are counted per method under OtherName with their failures,
// nothing is lost, and one warning names the flag and name=.
func TestRecorderNameCap(t *testing.T) {
	for _, tc := range []struct {
		max, names int
		wantKeys   int
		wantOther  int64
	}{
		{max: 5, names: 5, wantKeys: 5},
		{max: 5, names: 6, wantKeys: 6, wantOther: 1},
		{max: 5, names: 100, wantKeys: 6, wantOther: 95},
		{max: 0, names: 100, wantKeys: 100}, // no cap
	} {
		t.Run(fmt.Sprintf("max%d_names%d", tc.max, tc.names), func(t *testing.T) {
			var logs bytes.Buffer
			t0 := time.Now()
			r := NewRecorder(4, t0, false)
			r.LimitNames(tc.max, slog.New(slog.NewTextHandler(&logs, nil)))
			var got *Delta
			for round := range 2 { // the cap holds across flushes: it is per run
				for i := range tc.names {
					r.Shard(i).Record(Sample{Method: "GET", Name: fmt.Sprintf("/item?id=%d", i), Latency: time.Millisecond, Error: "HTTP 500"})
				}
				d := r.Flush(t0.Add(time.Duration(round+1) * time.Second))
				if got == nil {
					got = d
				} else {
					got.Merge(d)
				}
			}
			if len(got.Entries) != tc.wantKeys {
				t.Fatalf("%d entries, want %d", len(got.Entries), tc.wantKeys)
			}
			if got.Requests() != int64(2*tc.names) {
				t.Fatalf("%d requests, want %d", got.Requests(), 2*tc.names)
			}
			other := got.Entries[Key{"GET", OtherName}]
			if tc.wantOther == 0 {
				if other != nil {
					t.Fatalf("an overflow entry below the cap: %+v", other)
				}
			} else if other == nil || other.Requests != 2*tc.wantOther || other.Failures != 2*tc.wantOther ||
				got.Errors[ErrorKey{"GET", OtherName, "HTTP 500"}] != 2*tc.wantOther {
				t.Fatalf("overflow entry %+v, errors %v; want %d requests", other, got.Errors, 2*tc.wantOther)
			}
			warned := strings.Count(logs.String(), "too many distinct request names")
			if (tc.wantOther > 0) != (warned == 1) {
				t.Fatalf("%d warnings, log:\n%s", warned, logs.String())
			}
			if warned == 1 && (!strings.Contains(logs.String(), "--max-names") || !strings.Contains(logs.String(), "name=")) {
				t.Fatalf("the warning does not name --max-names and name=: %s", logs.String())
			}
		})
	}
}

// The aggregate caps what processes send together: two workers each
// within their own cap still cannot exceed the run's.
func TestAggregateNameCap(t *testing.T) {
	t0 := time.Now()
	a := NewAggregate(t0)
	a.LimitNames(10, slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)))
	for w := range 3 {
		d := NewDelta(t0)
		d.End = t0.Add(time.Second)
		for i := range 8 {
			e := d.entry(Key{"GET", fmt.Sprintf("/w%d/%d", w, i)})
			e.Requests, e.Failures = 2, 1
			d.Errors[ErrorKey{"GET", fmt.Sprintf("/w%d/%d", w, i), "boom"}] = 1
		}
		a.Add(Origin{Region: "r", Worker: fmt.Sprint(w)}, d)
	}
	s := a.Snapshot(t0.Add(2*time.Second), false)
	if len(s.Entries) != 11 || s.Total.Requests != 48 {
		t.Fatalf("%d entries, %d requests; want 10 names + other, 48", len(s.Entries), s.Total.Requests)
	}
	var other EntryStats
	for _, e := range s.Entries {
		if e.Name == OtherName {
			other = e
		}
	}
	if other.Requests != 28 || other.Failures != 14 {
		t.Fatalf("overflow row %+v, want 28 requests, 14 failures", other)
	}
	folded := int64(0)
	for _, e := range s.Errors {
		if e.Name == OtherName {
			folded += e.Occurrences
		}
	}
	if folded != 14 || len(s.Regions[0].Entries) != 11 {
		t.Fatalf("folded failures %d (want 14), region rows %d (want 11)", folded, len(s.Regions[0].Entries))
	}
	a.Reset(t0.Add(3 * time.Second)) // a reset starts the count again
	d := NewDelta(t0)
	d.entry(Key{"GET", "/after-reset"}).Requests = 1
	a.Add(Origin{}, d)
	if s := a.Snapshot(t0.Add(4*time.Second), false); len(s.Entries) != 1 || s.Entries[0].Name != "/after-reset" {
		t.Fatalf("after reset: %+v", s.Entries)
	}
}

// Failure and exception rows are capped at MaxErrors per run, at the
// edge: the MaxErrors-th distinct one is kept, the next is counted under
// the overflow row, in a recorder and in the aggregate; nothing is lost.
func TestErrorAndExceptionCaps(t *testing.T) {
	for _, n := range []int{MaxErrors, MaxErrors + 1, MaxErrors + 50} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			t0 := time.Now()
			r := NewRecorder(4, t0, false)
			r.LimitNames(DefaultMaxNames, log)
			for i := range n {
				r.Shard(i).Record(Sample{Method: "GET", Name: "/", Latency: time.Millisecond, Error: fmt.Sprintf("order %d refused", i)})
				r.Shard(i).Exception(fmt.Sprintf("key %d not in dict", i), "tb")
			}
			d := r.Flush(t0.Add(time.Second))
			over := int64(max(0, n-MaxErrors))
			rows := min(n, MaxErrors) + map[bool]int{true: 1}[over > 0]
			if len(d.Errors) != rows || d.Errors[ErrorKey{"GET", "/", OtherError}] != over {
				t.Errorf("%d failure rows (want %d), %d under the overflow row (want %d)", len(d.Errors), rows, d.Errors[ErrorKey{"GET", "/", OtherError}], over)
			}
			if len(d.Exceptions) != rows || d.Exceptions[ExceptionKey{Message: OtherException}] != over {
				t.Errorf("%d exception rows (want %d), %d under the overflow row (want %d)", len(d.Exceptions), rows, d.Exceptions[ExceptionKey{Message: OtherException}], over)
			}
			if warned := strings.Contains(logs.String(), "too many distinct failures") && strings.Contains(logs.String(), "too many distinct exceptions"); warned != (over > 0) {
				t.Errorf("warnings: %s", logs.String())
			}
			// the aggregate caps what several processes send together
			a := NewAggregate(t0)
			a.Add(Origin{Worker: "w1"}, d)
			d2 := NewDelta(t0)
			d2.entry(Key{"GET", "/"}).Requests = 1
			d2.Errors[ErrorKey{"GET", "/", "another worker's error"}] = 1
			d2.Exceptions[ExceptionKey{"another worker's exception", ""}] = 1
			a.Add(Origin{Worker: "w2"}, d2)
			s := a.Snapshot(t0.Add(2*time.Second), false)
			var total int64
			for _, e := range s.Errors {
				total += e.Occurrences
			}
			if len(s.Errors) > MaxErrors+1 || len(s.Exceptions) > MaxErrors+1 || total != int64(n)+1 {
				t.Errorf("aggregate: %d failure rows, %d exception rows, %d failures (want %d)", len(s.Errors), len(s.Exceptions), total, n+1)
			}
		})
	}
}

func TestCut(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"abcdef", 3, "abc…"},
		{"aé", 2, "a…"}, // é is two bytes: not split
		{"日本", 4, "日…"},
		{"日本", 2, "…"},
	} {
		if got := Cut(c.s, c.n); got != c.want {
			t.Errorf("Cut(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}

func TestOverflowRowsNameTheLimit(t *testing.T) {
	if want := fmt.Sprintf("(other errors over the limit of %d distinct failures)", MaxErrors); OtherError != want {
		t.Errorf("OtherError = %q, want %q", OtherError, want)
	}
	if want := fmt.Sprintf("(other exceptions over the limit of %d distinct exceptions)", MaxErrors); OtherException != want {
		t.Errorf("OtherException = %q, want %q", OtherException, want)
	}
}
