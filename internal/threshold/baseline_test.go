package threshold

import (
	"strings"
	"testing"
)

func TestBaselineThresholds(t *testing.T) {
	base := summary() // total: p95 400ms, 1% errors, 100/s; GET /checkout p95 700ms
	cur := summary()
	cur.Total = entry("", "Aggregated", 1000, 16, 450, 100, 1, 2500, 85)
	cur.Entries[0] = entry("GET", "/checkout", 100, 2, 800, 300, 10, 2000, 10)
	cur.Entries = append(cur.Entries, entry("GET", "/new", 10, 0, 5, 5, 1, 9, 1))
	tests := []struct {
		expr   string
		limit  float64
		value  float64
		passed bool
		msg    string
	}{
		{expr: "p95<baseline*1.10", limit: 440, value: 450, msg: "p95 = 450ms, wanted < 440ms (baseline 400ms)"},
		{expr: "p95<baseline*1.2", limit: 480, value: 450, passed: true},
		{expr: "p95<=baseline+50ms", limit: 450, value: 450, passed: true},
		{expr: "avg<=baseline", limit: 100, value: 100, passed: true},
		{expr: "error_rate<baseline+0.5%", limit: 0.015, value: 0.016, msg: "error_rate = 1.6%, wanted < 1.5% (baseline 1%)"},
		{expr: "error_rate<baseline+1%", limit: 0.02, value: 0.016, passed: true},
		{expr: "rps>baseline*0.9", limit: 90, value: 85, msg: "rps = 85/s, wanted > 90/s (baseline 100/s)"},
		{expr: "rps>baseline-20", limit: 80, value: 85, passed: true},
		{expr: "p95{name=/checkout,method=GET}<baseline*1.10", limit: 770, value: 800, msg: "wanted < 770ms (baseline 700ms)"},
		{expr: "p95{region=eastus}<baseline*1.5", limit: 375, value: 250, passed: true},
		{expr: "p95{name=/new}<baseline*1.1", msg: "the baseline has no value: no requests matched {name=/new}"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			th, err := Parse(tc.expr, "--threshold")
			if err != nil {
				t.Fatal(err)
			}
			if th.Relative == nil {
				t.Fatal("not relative")
			}
			if r := th.Evaluate(cur); r.Passed || !strings.Contains(r.Message, "--baseline") {
				t.Errorf("unbound: %+v", r)
			}
			Bind([]*Threshold{th}, base, "")
			r := th.Evaluate(cur)
			if !closeTo(th.Limit, tc.limit) || r.Passed != tc.passed || !closeTo(r.Value, tc.value) || !strings.Contains(r.Message, tc.msg) {
				t.Errorf("limit %v value %v passed %v msg %q; want %v %v %v %q", th.Limit, r.Value, r.Passed, r.Message, tc.limit, tc.value, tc.passed, tc.msg)
			}
			Bind([]*Threshold{th}, nil, "no baseline (--baseline-optional)")
			// Skipped, it still reports what it measured: the JSON's value
			// is the run's p95, not 0.
			if r := th.Evaluate(cur); !r.Passed || !r.Skipped || r.Message != "skipped: no baseline (--baseline-optional)" ||
				tc.value != 0 && !closeTo(r.Value, tc.value) {
				t.Errorf("skipped: %+v, want value %v", r, tc.value)
			}
		})
	}
	ts, _ := ParseAll([]string{"p95<1s", "p95<baseline"}, nil)
	if !HasRelative(ts) || HasRelative(ts[:1]) {
		t.Error("HasRelative")
	}
	if err := CheckNoRelative(ts); err == nil || !strings.Contains(err.Error(), `--threshold "p95<baseline": refers to a baseline`) {
		t.Errorf("CheckNoRelative: %v", err)
	}
	rs, passed := EvaluateAll(ts, cur)
	if passed || rs[1].Passed {
		t.Errorf("unbound relative threshold passed: %+v", rs)
	}
	Bind(ts, base, "")
	rs, _ = EvaluateAll(ts, cur)
	if rs[1].Baseline == nil || *rs[1].Baseline != 400 || rs[0].Baseline != nil {
		t.Errorf("baseline values in the results: %+v", rs)
	}
}

func TestParseBaselineErrors(t *testing.T) {
	for expr, want := range map[string]string{
		"p95<baseline*":           "want a factor",
		"p95<baseline*-1":         "want a factor",
		"p95<baseline/2":          "expected *FACTOR, +VALUE or -VALUE",
		"p95<baseline+soon":       "bad time",
		"error_rate<baseline+150": "above 1",
		"p95<baselines":           "bad time",
	} {
		_, err := Parse(expr, "--threshold")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", expr, err, want)
		}
	}
}
