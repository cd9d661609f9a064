package workload

import (
	"math"
	"testing"
)

// FuzzParseStages: --stages either fails or gives valid stages (duration
// > 0, users >= 0, a finite spawn rate > 0) that FormatStages writes back
// to a spec that parses to the same stages.
func FuzzParseStages(f *testing.F) {
	for _, s := range []string{
		"1m:100:10,5m:1000:50,1m:0:100", "1m:100", "30s:10,30s:0", "0.5:1:0.5", "1h30m:5:1e-3",
		"1e300:1:1", "1:1e30", "9223372036s:1", "1m:-1", "1m:10:inf", "1m:10:nan", "", ",", "1m", "1m:1:1:1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		st, err := ParseStages(spec)
		if err != nil {
			return
		}
		for i, s := range st {
			if err := s.Validate(i); err != nil {
				t.Fatalf("%q: parsed an invalid stage: %v", spec, err)
			}
		}
		back, err := ParseStages(FormatStages(st))
		if err != nil || len(back) != len(st) {
			t.Fatalf("%q → %q: %v", spec, FormatStages(st), err)
		}
		for i := range st {
			if back[i] != st[i] {
				t.Fatalf("%q → %q: stage %d %+v, want %+v", spec, FormatStages(st), i, back[i], st[i])
			}
		}
		if d := StagesDuration(st); d <= 0 {
			t.Fatalf("%q: total duration %v", spec, d)
		}
	})
}

// FuzzArrivalSchedule: --arrival-rate and --arrival-stages either fail or
// give finite rates >= 0 and durations >= 0 that format and parse back to
// the same; the schedule they make has a finite peak, finite rates >= 0, a
// count that never goes down, and TimeOf inverts Count.
func FuzzArrivalSchedule(f *testing.F) {
	for _, s := range [][2]string{
		{"", "1m:100/s,5m:1000/s"}, {"10/s", "30s:0"}, {"500", "1s:5/100ms"}, {"30/m", "0s:100/s,1m:100/s"},
		{"1e308/1ns", "1s:1"}, {"1/1ns", "1e12:1"}, {"", "1e300:1/s"}, {"", "0:1"}, {"inf", "1s:-1"}, {"", "1h:3600/h,2562047h:1"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, rate, spec string) {
		start := 0.0
		if rate != "" {
			r, err := ParseRate(rate)
			if err != nil {
				return
			}
			if !finiteNonNeg(r) {
				t.Fatalf("ParseRate(%q) = %v", rate, r)
			}
			if back, err := ParseRate(FormatRate(r)); err != nil || back != r {
				t.Fatalf("rate %q → %q → %v, %v", rate, FormatRate(r), back, err)
			}
			start = r
		}
		st, err := ParseArrivalStages(spec)
		if err != nil {
			return
		}
		for _, s := range st {
			if s.Duration < 0 || !finiteNonNeg(s.Rate) {
				t.Fatalf("%q: stage %+v", spec, s)
			}
		}
		back, err := ParseArrivalStages(FormatArrivalStages(st))
		if err != nil || len(back) != len(st) {
			t.Fatalf("%q → %q: %v", spec, FormatArrivalStages(st), err)
		}
		for i := range st {
			if back[i] != st[i] {
				t.Fatalf("%q → %q: stage %d %+v, want %+v", spec, FormatArrivalStages(st), i, back[i], st[i])
			}
		}
		s := Ramping(start, st)
		if !finiteNonNeg(s.Peak()) {
			t.Fatalf("peak %v", s.Peak())
		}
		d, ok := s.Duration()
		if !ok || d <= 0 {
			t.Fatalf("duration %v %v", d, ok)
		}
		end := d.Seconds()
		prev := 0.0
		for i := 0; i <= 16; i++ {
			x := end * float64(i) / 16
			r, c := s.Rate(x), s.Count(x)
			if !finiteNonNeg(r) || !finiteNonNeg(c) {
				t.Fatalf("at %vs: rate %v count %v", x, r, c)
			}
			if c < prev*(1-1e-12) {
				t.Fatalf("count went down at %vs: %v after %v", x, c, prev)
			}
			prev = c
			if c > 1 && c < s.Count(end)*(1-1e-9) {
				at, ok := s.TimeOf(c)
				if !ok || math.IsNaN(at) || at < 0 || at > end*(1+1e-9) {
					t.Fatalf("TimeOf(Count(%v) = %v) = %v, %v", x, c, at, ok)
				}
				if got := s.Count(at); math.Abs(got-c) > 1e-6*math.Max(1, c) {
					t.Fatalf("Count(TimeOf(%v) = %v) = %v", c, at, got)
				}
			}
		}
	})
}

// FuzzParseDuration: a duration is >= 0 and round-trips through its short
// form.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"1m30s", "90", "250ms", "1.5", "1e300", "9223372036.854775807", "-1", "1h0m0s", "NaN", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("ParseDuration(%q) = %v", s, d)
		}
		if back, err := ParseDuration(formatDuration(d)); err != nil || back != d {
			t.Fatalf("%q → %v → %q → %v, %v", s, d, formatDuration(d), back, err)
		}
	})
}

func finiteNonNeg(x float64) bool { return x >= 0 && !math.IsInf(x, 1) }
