package threshold

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/stampede-load/stampede/internal/stats"
)

// FuzzParse: any expression either fails with an error or parses into a
// threshold with a known metric and comparison, a finite limit >= 0, and a
// canonical form that parses back to the same threshold. Evaluating it
// never panics and gives a finite value.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"p95<500ms", "p99.9<2s", "avg < 200ms", "median<=120", "min>=250us",
		"error_rate<1%", "fail_ratio<=0.05", "rps>=100", "rps>100/s", "requests>1000", "failures==0",
		"p95{name=/checkout}<800ms", `p50{ name = "/a,b}" , method=post }<1s`,
		"p95{name=/x,region=eu}<1s@abort", "error_rate<5% @abort=30s", "P100<10s",
		`p95{name="a\"b\\"}<1s`, "p95<1e308s", "error_rate<150%", "p95{name=@}<1s@abort=1h",
		"", "p95", "p95<", "p95{}<1s", "p95{name=/a<1s",
		"p95<baseline*1.10", "error_rate<baseline+0.5%", "rps>baseline*0.9", "p95{name=/x,region=eu}<=baseline-20ms@abort",
		"avg<baseline", "p95<BASELINE * 2", "p95<baseline*", "p95<baseline/2", "p95<baselines", "rps>baseline*1e400",
	} {
		f.Add(s)
	}
	sum := summary()
	f.Fuzz(func(t *testing.T, expr string) {
		th, err := Parse(expr, "--threshold")
		if err != nil {
			return
		}
		checkThreshold(t, th)
		canon := canonical(th)
		back, err := Parse(canon, "--threshold")
		if err != nil {
			t.Fatalf("%q parsed, but its canonical form %q does not: %v", expr, canon, err)
		}
		if back.Metric != th.Metric || back.Kind != th.Kind || back.Op != th.Op || back.Name != th.Name ||
			back.Method != th.Method || back.Region != th.Region || back.Abort != th.Abort ||
			back.AbortGrace != th.AbortGrace || !closeTo(back.Limit, th.Limit) || (back.Relative == nil) != (th.Relative == nil) ||
			back.Relative != nil && (!closeTo(back.Relative.Factor, th.Relative.Factor) || !closeTo(back.Relative.Offset, th.Relative.Offset)) {
			t.Fatalf("%q → %q → %+v, want %+v", expr, canon, back, th)
		}
		for _, base := range []*stats.Summary{nil, sum} {
			if base != nil || th.Relative != nil {
				Bind([]*Threshold{th}, base, "no baseline")
			}
			for _, s := range []*stats.Summary{nil, sum} {
				r := th.Evaluate(s)
				if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) || math.IsNaN(th.Limit) || th.Limit < 0 {
					t.Fatalf("%q: value %v, limit %v", expr, r.Value, th.Limit)
				}
				if r.Skipped && (base != nil || !r.Passed) {
					t.Fatalf("%q: skipped with a baseline, or skipped and failed: %+v", expr, r)
				}
			}
		}
	})
}

func checkThreshold(t *testing.T, th *Threshold) {
	t.Helper()
	if _, _, ok := metricKind(th.Metric); !ok && th.Percentile == 0 {
		t.Fatalf("unknown metric %q", th.Metric)
	}
	switch th.Op {
	case OpLT, OpLE, OpGT, OpGE, OpEQ:
	default:
		t.Fatalf("op %q", th.Op)
	}
	if math.IsNaN(th.Limit) || math.IsInf(th.Limit, 0) || th.Limit < 0 {
		t.Fatalf("limit %v", th.Limit)
	}
	if th.AbortGrace < 0 {
		t.Fatalf("abort grace %v", th.AbortGrace)
	}
}

// canonical writes th back as an expression: selectors quoted, the limit
// as a plain number in the metric's unit.
func canonical(th *Threshold) string {
	var b strings.Builder
	b.WriteString(th.Metric)
	var sel []string
	for _, kv := range [][2]string{{"name", th.Name}, {"method", th.Method}, {"region", th.Region}} {
		if kv[1] != "" {
			sel = append(sel, kv[0]+"="+quoteSelector(kv[1]))
		}
	}
	if len(sel) > 0 {
		b.WriteString("{" + strings.Join(sel, ",") + "}")
	}
	b.WriteString(string(th.Op))
	unit := func(x float64) string {
		if th.Kind == KindRatio {
			return strconv.FormatFloat(x*100, 'g', -1, 64) + "%"
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	switch r := th.Relative; {
	case r == nil:
		b.WriteString(unit(th.Limit))
	case r.Offset > 0:
		b.WriteString("baseline+" + unit(r.Offset))
	case r.Offset < 0:
		b.WriteString("baseline-" + unit(-r.Offset))
	default:
		b.WriteString("baseline*" + strconv.FormatFloat(r.Factor, 'g', -1, 64))
	}
	if th.Abort {
		b.WriteString("@abort")
		if th.AbortGrace > 0 {
			b.WriteString("=" + th.AbortGrace.String())
		}
	}
	return b.String()
}

func quoteSelector(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

func closeTo(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}
