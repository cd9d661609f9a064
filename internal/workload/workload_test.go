package workload

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseStages(t *testing.T) {
	tests := []struct {
		in   string
		want []Stage
		err  string
	}{
		{in: "1m:100:10,5m:1000:50,1m:0:100", want: []Stage{{time.Minute, 100, 10}, {5 * time.Minute, 1000, 50}, {time.Minute, 0, 100}}},
		{in: " 30s:10 , 10:0 ", want: []Stage{{30 * time.Second, 10, 1}, {10 * time.Second, 0, 1}}},
		{in: "10s:100", want: []Stage{{10 * time.Second, 100, 10}}},
		{in: "", err: "no stages"},
		{in: "1m", err: "want DURATION:USERS"},
		{in: "1m:x:1", err: "users"},
		{in: "abc:1:1", err: "duration"},
		{in: "0s:1:1", err: "duration must be > 0"},
		{in: "1m:-1:1", err: "users must be a whole number from 0 to 10000000, got -1"},
		{in: "1m:1:0", err: "spawn rate must be a number above 0"},
		{in: "1m:1:nan", err: "spawn rate must be a number above 0 and at most 10000000, got NaN"},
		{in: "1m:1:inf", err: "got +Inf"},
		{in: "1m:100000000000:1", err: "users must be a whole number from 0 to 10000000"},
		{in: "1e300:1:1", err: "duration"},
		{in: "9000h:1:1", err: "duration"},
		{in: "1m:1:1:1", err: "want DURATION:USERS"},
	}
	for _, tt := range tests {
		got, err := ParseStages(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseStages(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseStages(%q): %v", tt.in, err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Fatalf("ParseStages(%q) = %v, want %v", tt.in, got, tt.want)
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("ParseStages(%q)[%d] = %v, want %v", tt.in, i, got[i], tt.want[i])
			}
		}
		back, err := ParseStages(FormatStages(got))
		if err != nil || len(back) != len(got) || back[0] != got[0] {
			t.Errorf("FormatStages round trip of %q: %v, %v", tt.in, back, err)
		}
	}
}

func TestStagesShape(t *testing.T) {
	s := Stages{{time.Second, 10, 5}, {500 * time.Millisecond, 20, 5}, {2 * time.Second, 0, 10}}
	tests := []struct {
		at    time.Duration
		users int
		done  bool
		next  time.Duration
	}{
		{0, 10, false, time.Second},
		{999 * time.Millisecond, 10, false, time.Second},
		{time.Second, 20, false, 1500 * time.Millisecond},
		{1499 * time.Millisecond, 20, false, 1500 * time.Millisecond},
		{1500 * time.Millisecond, 0, false, 3500 * time.Millisecond},
		{3500 * time.Millisecond, 0, true, 0},
	}
	for _, tt := range tests {
		tg, done, err := s.Tick(tt.at, 0)
		if err != nil || done != tt.done || (!done && tg.Users != tt.users) {
			t.Errorf("Tick(%v) = %v, %v, %v; want users %d done %v", tt.at, tg, done, err, tt.users, tt.done)
		}
		if n := s.Next(tt.at); n != tt.next {
			t.Errorf("Next(%v) = %v, want %v", tt.at, n, tt.next)
		}
	}
	if StagesDuration(s) != 3500*time.Millisecond || PeakUsers(s) != 20 {
		t.Errorf("duration %v peak %d", StagesDuration(s), PeakUsers(s))
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		err  bool
	}{
		{"500/s", 500, false},
		{"500", 500, false},
		{"0.5", 0.5, false},
		{"30/m", 0.5, false},
		{"3600/h", 1, false},
		{"5/100ms", 50, false},
		{"1/2s", 0.5, false},
		{"x/s", 0, true},
		{"-1/s", 0, true},
		{"1/parsec", 0, true},
		{"1/0s", 0, true},
		{"", 0, true},
		{"nan/s", 0, true},
		{"inf", 0, true},
		{"1e300/s", 0, true},
		{"1/1ns", 0, true},
		{"10000000/s", 10_000_000, false},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in)
		if (err != nil) != tt.err || math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("ParseRate(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestParseArrivalStages(t *testing.T) {
	got, err := ParseArrivalStages("1m:100/s, 5m:1000/s,0s:10,30s:60/m")
	if err != nil {
		t.Fatal(err)
	}
	want := []ArrivalStage{{time.Minute, 100}, {5 * time.Minute, 1000}, {0, 10}, {30 * time.Second, 1}}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"", "1m", "1m:x", "x:1/s", "0s:10/s"} {
		if _, err := ParseArrivalStages(bad); err == nil {
			t.Errorf("ParseArrivalStages(%q) accepted", bad)
		}
	}
	if s := FormatArrivalStages(want[:2]); s != "1m:100/s,5m:1000/s" {
		t.Errorf("FormatArrivalStages = %q", s)
	}
}

func TestScheduleConstant(t *testing.T) {
	s := Constant(1000)
	if _, ok := s.Duration(); ok {
		t.Error("a constant rate has no end")
	}
	for _, n := range []float64{0, 1, 999, 10000} {
		got, ok := s.TimeOf(n)
		if !ok || math.Abs(got-n/1000) > 1e-12 {
			t.Errorf("TimeOf(%v) = %v, %v", n, got, ok)
		}
	}
	if c := s.Count(10); c != 10000 {
		t.Errorf("Count(10) = %v", c)
	}
	if _, ok := Constant(0).TimeOf(0); ok {
		t.Error("rate 0 has no due iteration")
	}
}

// TestScheduleRamping checks Count against a numeric integral of Rate and
// TimeOf as its inverse, over ramps up, down, flat, jumps and a start rate.
func TestScheduleRamping(t *testing.T) {
	cases := []struct {
		start  float64
		stages []ArrivalStage
		total  float64
	}{
		{0, []ArrivalStage{{10 * time.Second, 100}}, 500},
		{0, []ArrivalStage{{time.Minute, 100}, {5 * time.Minute, 1000}}, 3000 + 165000},
		{50, []ArrivalStage{{2 * time.Second, 50}, {2 * time.Second, 0}}, 100 + 50},
		{0, []ArrivalStage{{0, 200}, {3 * time.Second, 200}, {1 * time.Second, 400}}, 600 + 300},
		{10, []ArrivalStage{{4 * time.Second, 10}, {0, 0}, {2 * time.Second, 0}, {2 * time.Second, 20}}, 40 + 20},
	}
	for ci, c := range cases {
		s := Ramping(c.start, c.stages)
		d, ok := s.Duration()
		if !ok {
			t.Fatalf("case %d: ramp without an end", ci)
		}
		if got := s.Count(d.Seconds() + 1); math.Abs(got-c.total) > 1e-6 {
			t.Errorf("case %d: total %v, want %v", ci, got, c.total)
		}
		// numeric integral
		const steps = 200000
		dt := d.Seconds() / steps
		sum := 0.0
		for i := 0; i < steps; i++ {
			sum += s.Rate((float64(i)+0.5)*dt) * dt
			if i%20000 == 0 {
				tt := float64(i) * dt
				if math.Abs(s.Count(tt)-sum+s.Rate((float64(i)+0.5)*dt)*dt) > 1e-3*math.Max(1, sum) {
					t.Errorf("case %d: Count(%v) = %v, integral %v", ci, tt, s.Count(tt), sum)
				}
			}
		}
		if math.Abs(sum-c.total) > 1e-3*c.total {
			t.Errorf("case %d: integral %v, want %v", ci, sum, c.total)
		}
		// inverse
		prev := -1.0
		for n := 0.0; n < c.total; n += c.total / 97 {
			tt, ok := s.TimeOf(n)
			if !ok {
				t.Fatalf("case %d: TimeOf(%v) past the end", ci, n)
			}
			if tt < prev {
				t.Errorf("case %d: TimeOf not monotonic at %v", ci, n)
			}
			prev = tt
			if got := s.Count(tt); math.Abs(got-n) > 1e-6*math.Max(1, n) {
				t.Errorf("case %d: Count(TimeOf(%v)=%v) = %v", ci, n, tt, got)
			}
		}
		if _, ok := s.TimeOf(c.total); ok {
			t.Errorf("case %d: iteration %v should be past the end", ci, c.total)
		}
	}
}

func TestSchedulePeakAndRate(t *testing.T) {
	s := Ramping(5, []ArrivalStage{{10 * time.Second, 100}, {10 * time.Second, 20}})
	if s.Peak() != 100 {
		t.Errorf("Peak = %v", s.Peak())
	}
	for _, c := range []struct{ t, want float64 }{{0, 5}, {5, 52.5}, {10, 100}, {15, 60}, {25, 0}} {
		if got := s.Rate(c.t); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("Rate(%v) = %v, want %v", c.t, got, c.want)
		}
	}
	if s.String() != "5/s then 10s:100/s,10s:20/s" {
		t.Errorf("String = %q", s.String())
	}
}

func TestScheduleSpecRoundTrip(t *testing.T) {
	for _, s := range []*Schedule{
		Constant(250),
		Ramping(10, []ArrivalStage{{time.Second, 100}, {0, 50}, {2 * time.Second, 0}}),
	} {
		back := NewSchedule(s.Spec())
		for _, x := range []float64{0, 0.5, 1, 1.5, 2.9, 10} {
			if back.Count(x) != s.Count(x) || back.Rate(x) != s.Rate(x) {
				t.Errorf("%s: round trip differs at %v", s, x)
			}
		}
		if back.String() != s.String() {
			t.Errorf("String %q != %q", back.String(), s.String())
		}
	}
}
