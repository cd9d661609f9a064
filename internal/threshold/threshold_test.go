package threshold

import (
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
)

func TestParse(t *testing.T) {
	tests := []struct {
		expr                 string
		metric               string
		kind                 Kind
		op                   Op
		limit                float64
		name, method, region string
		abort                bool
		grace                time.Duration
	}{
		{expr: "p95<500ms", metric: "p95", kind: KindTime, op: OpLT, limit: 500},
		{expr: "p99.9<2s", metric: "p99.9", kind: KindTime, op: OpLT, limit: 2000},
		{expr: "avg < 200ms", metric: "avg", kind: KindTime, op: OpLT, limit: 200},
		{expr: "median<=120", metric: "median", kind: KindTime, op: OpLE, limit: 120},
		{expr: "max<1.5s", metric: "max", kind: KindTime, op: OpLT, limit: 1500},
		{expr: "min>=250us", metric: "min", kind: KindTime, op: OpGE, limit: 0.25},
		{expr: "error_rate<1%", metric: "error_rate", kind: KindRatio, op: OpLT, limit: 0.01},
		{expr: "fail_ratio<=0.05", metric: "error_rate", kind: KindRatio, op: OpLE, limit: 0.05},
		{expr: "rps>=100", metric: "rps", kind: KindRate, op: OpGE, limit: 100},
		{expr: "rps>100/s", metric: "rps", kind: KindRate, op: OpGT, limit: 100},
		{expr: "requests>1000", metric: "requests", kind: KindCount, op: OpGT, limit: 1000},
		{expr: "failures==0", metric: "failures", kind: KindCount, op: OpEQ, limit: 0},
		{expr: "p95{name=/checkout}<800ms", metric: "p95", kind: KindTime, op: OpLT, limit: 800, name: "/checkout"},
		{expr: "p95{region=westeurope}<300ms", metric: "p95", kind: KindTime, op: OpLT, limit: 300, region: "westeurope"},
		{expr: `p50{ name = "/a,b}" , method=post }<1s`, metric: "p50", kind: KindTime, op: OpLT, limit: 1000, name: "/a,b}", method: "POST"},
		{expr: "p95{name=/x,region=eu}<1s@abort", metric: "p95", kind: KindTime, op: OpLT, limit: 1000, name: "/x", region: "eu", abort: true},
		{expr: "error_rate<5% @abort=30s", metric: "error_rate", kind: KindRatio, op: OpLT, limit: 0.05, abort: true, grace: 30 * time.Second},
		{expr: "P100<10s", metric: "p100", kind: KindTime, op: OpLT, limit: 10000},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			th, err := Parse(tc.expr, "--threshold")
			if err != nil {
				t.Fatal(err)
			}
			if th.Metric != tc.metric || th.Kind != tc.kind || th.Op != tc.op || th.Limit != tc.limit ||
				th.Name != tc.name || th.Method != tc.method || th.Region != tc.region || th.Abort != tc.abort || th.AbortGrace != tc.grace {
				t.Errorf("got %+v", th)
			}
			if th.Expr != tc.expr {
				t.Errorf("Expr = %q", th.Expr)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"", "empty threshold"},
		{"p97<500ms", "supported: p50, p66, p75, p80, p90, p95, p98, p99, p99.9, p99.99, p100"},
		{"latency<500ms", `unknown metric "latency"`},
		{"p95", "missing comparison"},
		{"p95 500ms", "expected <, <=, >, >= or =="},
		{"p95<", "missing value"},
		{"p95<fast", `bad time "fast"`},
		{"error_rate<5", "above 1"},
		{"error_rate<x%", "bad ratio"},
		{"rps>lots", "bad rate"},
		{"requests>-1", "must be a finite number >= 0"},
		{"p95{name=/a<1s", "unclosed"},
		{"p95{}<1s", "empty selector"},
		{"p95{host=x}<1s", `unknown key "host"`},
		{"p95{name=}<1s", "empty value for name"},
		{"p95{name=a,name=b}<1s", "name given twice"},
		{"p95<1s@later", "unknown option @later"},
		{"p95<1s@abort=soon", "grace must be a duration"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			_, err := Parse(tc.expr, "--threshold")
			if err == nil {
				t.Fatalf("no error")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--threshold") {
				t.Errorf("error %q does not contain %q and the flag name", err, tc.want)
			}
		})
	}
}

func TestParseAllNamesSources(t *testing.T) {
	_, err := ParseAll([]string{"p95<1s", "bogus<1"}, []string{"p99<2s", "p42<1s"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`--threshold "bogus<1"`, `script thresholds[1] "p42<1s"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	ts, err := ParseAll([]string{"p95<1s"}, []string{"p99<2s"})
	if err != nil || len(ts) != 2 || ts[1].Source != "script thresholds[0]" {
		t.Fatalf("ParseAll = %v, %v", ts, err)
	}
}

func entry(method, name string, req, fail int64, p95, avg, lo, hi float64, rps float64) stats.EntryStats {
	e := stats.EntryStats{Method: method, Name: name, Requests: req, Failures: fail, AvgMs: avg, MinMs: lo, MaxMs: hi, RPS: rps}
	for i, p := range stats.PercentileSet {
		switch {
		case p < 95:
			e.Percentiles[i] = p95 / 2
		case p == 95:
			e.Percentiles[i] = p95
		default:
			e.Percentiles[i] = p95 * 2
		}
	}
	e.MedianMs = e.Percentiles.At(50)
	return e
}

func summary() *stats.Summary {
	return &stats.Summary{
		Entries: []stats.EntryStats{
			entry("GET", "/checkout", 100, 2, 700, 300, 10, 2000, 10),
			entry("POST", "/checkout", 50, 0, 900, 500, 20, 2500, 5),
			entry("GET", "/home", 850, 8, 100, 50, 1, 400, 85),
		},
		Total: entry("", "Aggregated", 1000, 10, 400, 100, 1, 2500, 100),
		Regions: []stats.RegionStats{
			{Region: "eastus", Total: entry("", "Aggregated", 400, 0, 250, 80, 1, 900, 40),
				Entries: []stats.EntryStats{entry("GET", "/home", 400, 0, 250, 80, 1, 900, 40)}},
			{Region: "westeurope", Total: entry("", "Aggregated", 600, 10, 350, 120, 2, 2500, 60)},
		},
	}
}

func TestEvaluate(t *testing.T) {
	s := summary()
	tests := []struct {
		expr   string
		value  float64
		passed bool
		noData bool
		final  bool
		msg    string
	}{
		{expr: "p95<500ms", value: 400, passed: true},
		{expr: "p95<400ms", value: 400, passed: false, msg: "p95 = 400ms, wanted < 400ms"},
		{expr: "p95<=400ms", value: 400, passed: true},
		{expr: "p99.9<2s", value: 800, passed: true},
		{expr: "median<=200", value: 200, passed: true},
		{expr: "avg<200ms", value: 100, passed: true},
		{expr: "error_rate<1%", value: 0.01, passed: false, msg: "error_rate = 1%, wanted < 1%"},
		{expr: "error_rate<=1%", value: 0.01, passed: true},
		{expr: "rps>=100", value: 100, passed: true},
		{expr: "requests>1000", value: 1000, passed: false},
		{expr: "requests<1000", value: 1000, passed: false, final: true},
		{expr: "failures<5", value: 10, passed: false, final: true},
		{expr: "max<2s", value: 2500, passed: false, final: true},
		{expr: "min>5ms", value: 1, passed: false, final: true},
		{expr: "p95{name=/checkout,method=GET}<800ms", value: 700, passed: true},
		{expr: "p95{name=/checkout,method=post}<800ms", value: 900, passed: false, msg: "p95 of POST /checkout = 900ms"},
		{expr: "p95{name=/checkout}<800ms", passed: false, msg: "add method="},
		{expr: "requests{name=/checkout}>=150", value: 150, passed: true},
		{expr: "avg{name=/checkout}<400", value: (300*100 + 500*50) / 150.0, passed: true},
		{expr: "max{name=/checkout}<3s", value: 2500, passed: true},
		{expr: "error_rate{method=GET}<2%", value: 10 / 950.0, passed: true},
		{expr: "p95{name=/nope}<1s", noData: true, msg: "no requests matched {name=/nope}"},
		{expr: "p95{region=westeurope}<300ms", value: 350, passed: false},
		{expr: "p95{region=eastus}<300ms", value: 250, passed: true},
		{expr: "p95{region=eastus,name=/home}<300ms", value: 250, passed: true},
		{expr: "p95{region=mars}<300ms", noData: true, msg: "regions: eastus, westeurope"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			th, err := Parse(tc.expr, "test")
			if err != nil {
				t.Fatal(err)
			}
			r := th.Evaluate(s)
			if r.Passed != tc.passed || r.NoData != tc.noData || r.Final != tc.final {
				t.Errorf("passed=%v noData=%v final=%v, want %v %v %v (%s)", r.Passed, r.NoData, r.Final, tc.passed, tc.noData, tc.final, r.Message)
			}
			if !tc.noData && tc.msg != "add method=" && r.Value != tc.value {
				t.Errorf("value = %v, want %v", r.Value, tc.value)
			}
			if tc.msg != "" && !strings.Contains(r.Message, tc.msg) {
				t.Errorf("message %q lacks %q", r.Message, tc.msg)
			}
		})
	}
}

func TestEvaluateNoRequests(t *testing.T) {
	empty := &stats.Summary{Total: stats.EntryStats{Name: "Aggregated"}}
	for expr, passed := range map[string]bool{"p95<1s": false, "error_rate<1%": false, "requests<10": true, "requests>0": false} {
		th, _ := Parse(expr, "t")
		if r := th.Evaluate(empty); r.Passed != passed {
			t.Errorf("%s on an empty run: passed=%v, want %v (%s)", expr, r.Passed, passed, r.Message)
		}
	}
	ts, _ := ParseAll([]string{"p95<1s", "requests<10"}, nil)
	res, ok := EvaluateAll(ts, empty)
	if ok || len(res) != 2 || res[0].Passed || !res[1].Passed || res[0].Metric != "p95" {
		t.Errorf("EvaluateAll = %+v, %v", res, ok)
	}
}

func TestMonitor(t *testing.T) {
	bad := summary() // p95 400ms, error rate 1%
	good := &stats.Summary{Total: entry("", "Aggregated", 10, 0, 10, 5, 1, 30, 1)}
	parse := func(exprs ...string) []*Threshold {
		ts, err := ParseAll(exprs, nil)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	t.Run("grace then consecutive checks", func(t *testing.T) {
		m := &Monitor{Thresholds: parse("p95<300ms"), All: true, Grace: 10 * time.Second, Checks: 3}
		for sec := 1; sec <= 10; sec++ {
			if r := m.Check(time.Duration(sec)*time.Second-time.Millisecond, bad); r != "" {
				t.Fatalf("aborted during grace at %ds: %s", sec, r)
			}
		}
		// A passing check resets the streak.
		m.Check(11*time.Second, bad)
		m.Check(12*time.Second, bad)
		m.Check(13*time.Second, good)
		m.Check(14*time.Second, bad)
		m.Check(15*time.Second, bad)
		r := m.Check(16*time.Second, bad)
		if !strings.HasPrefix(r, "threshold failed: p95<300ms") {
			t.Fatalf("no abort after 3 failing checks: %q", r)
		}
	})
	t.Run("final failure aborts at once", func(t *testing.T) {
		m := &Monitor{Thresholds: parse("failures<5"), All: true, Grace: time.Hour}
		if r := m.Check(time.Second, bad); !strings.Contains(r, "failures<5") {
			t.Fatalf("final failure did not abort: %q", r)
		}
	})
	t.Run("lower count limits never abort", func(t *testing.T) {
		m := &Monitor{Thresholds: parse("requests>5000"), All: true, Checks: 1}
		for i := 0; i < 10; i++ {
			if r := m.Check(time.Hour, bad); r != "" {
				t.Fatalf("aborted on requests>N: %s", r)
			}
		}
	})
	t.Run("only thresholds marked @abort without --abort-on-fail", func(t *testing.T) {
		m := &Monitor{Thresholds: parse("p95<300ms", "error_rate<0.5%@abort=2s"), Grace: time.Hour, Checks: 2}
		if !m.Active() {
			t.Fatal("not active")
		}
		m.Check(3*time.Second, bad)
		r := m.Check(4*time.Second, bad)
		if !strings.Contains(r, "error_rate<0.5%@abort=2s") {
			t.Fatalf("abort = %q", r)
		}
		if (&Monitor{Thresholds: parse("p95<1s")}).Active() {
			t.Error("monitor without abort is active")
		}
	})
	t.Run("no data never counts", func(t *testing.T) {
		m := &Monitor{Thresholds: parse("p95{region=nowhere}<1ms"), All: true, Checks: 1}
		if r := m.Check(time.Hour, bad); r != "" {
			t.Fatalf("aborted without data: %s", r)
		}
	})
}
