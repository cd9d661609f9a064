// Package threshold parses pass/fail conditions on a run's statistics
// ("p95<500ms", "error_rate<1%", "p95{name=/checkout}<800ms") and
// evaluates them over a stats.Summary: at the end of a run, where they
// decide the exit code, and while it runs, where a Monitor decides whether
// a failure is beyond doubt and the test should stop early.
//
// Grammar (spaces are allowed between the parts):
//
//	threshold := metric [ "{" selector { "," selector } "}" ] op value [ "@abort" [ "=" duration ] ]
//	metric    := "p" N | "avg" | "min" | "max" | "median" | "med" | "error_rate" | "fail_ratio"
//	           | "rps" | "fail_rps" | "requests" | "failures"
//	selector  := ( "name" | "method" | "region" ) "=" ( word | '"' quoted '"' )
//	op        := "<" | "<=" | ">" | ">=" | "=="
//	value     := time ("500ms", "2s", "1m", "350us"; a bare number is ms) for times,
//	             ratio ("1%", "0.01") for error_rate, number for counts and rates ("100", "100/s")
//	           | "baseline" [ "*" number | "+" value | "-" value ]
//
// A value that starts with "baseline" refers to the same metric and
// selector measured in a baseline run (--baseline, see baseline.go):
// "p95<baseline*1.10", "error_rate<baseline+0.5%", "rps>baseline*0.9".
package threshold

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
)

// Kind is what sort of quantity a metric is, which decides its unit.
type Kind int

// Kinds of metrics.
const (
	KindTime  Kind = iota // milliseconds
	KindRatio             // 0..1
	KindRate              // per second
	KindCount             // a number of requests
)

// Op is a comparison.
type Op string

// Comparisons.
const (
	OpLT Op = "<"
	OpLE Op = "<="
	OpGT Op = ">"
	OpGE Op = ">="
	OpEQ Op = "=="
)

// Threshold is one parsed expression.
type Threshold struct {
	// Expr is the expression as given.
	Expr string
	// Source names where it came from, e.g. "--threshold" or
	// "script thresholds[2]".
	Source string
	// Metric is the metric's canonical name: "p95", "avg", "error_rate", …
	Metric string
	// Percentile is set for pN metrics.
	Percentile float64
	Kind       Kind
	// Name, Method and Region select one entry and/or one region; all
	// empty means the aggregate of everything.
	Name, Method, Region string
	Op                   Op
	// Limit is in the metric's unit (ms, ratio, per second, count).
	Limit float64
	// Abort asks to stop the test once this threshold has failed beyond
	// doubt (the "@abort" suffix); AbortGrace overrides the run's grace
	// period when > 0 ("@abort=30s").
	Abort      bool
	AbortGrace time.Duration
	// Relative is set when the limit refers to a baseline run; Bind then
	// computes Limit from it.
	Relative *Relative

	// Set by Bind: bound once a baseline (or its absence) is known;
	// baseline is the baseline's value, skipped marks a threshold whose
	// baseline is missing (--baseline-optional), baselineNoData why the
	// baseline has nothing for this scope.
	bound          bool
	baseline       float64
	skipped        string
	baselineNoData string
}

// SupportedPercentiles lists the percentiles a threshold can name: the
// ones every summary carries.
func SupportedPercentiles() string {
	var b strings.Builder
	for i, p := range stats.PercentileSet {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("p" + strconv.FormatFloat(p, 'f', -1, 64))
	}
	return b.String()
}

// metrics maps every accepted metric name to its canonical name and kind.
func metricKind(name string) (canonical string, k Kind, ok bool) {
	switch name {
	case "avg", "mean":
		return "avg", KindTime, true
	case "min":
		return "min", KindTime, true
	case "max":
		return "max", KindTime, true
	case "median", "med":
		return "median", KindTime, true
	case "error_rate", "fail_ratio", "failure_rate":
		return "error_rate", KindRatio, true
	case "rps":
		return "rps", KindRate, true
	case "fail_rps", "failures_per_sec":
		return "fail_rps", KindRate, true
	case "requests":
		return "requests", KindCount, true
	case "failures":
		return "failures", KindCount, true
	}
	return "", 0, false
}

const metricList = "pN (N one of the percentiles below), avg, min, max, median, error_rate, rps, fail_rps, requests, failures"

// Parse parses one expression; source names the flag or script field in
// errors.
func Parse(expr, source string) (*Threshold, error) {
	t, err := parse(expr)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", source, expr, err)
	}
	t.Expr, t.Source = expr, source
	return t, nil
}

func parse(expr string) (*Threshold, error) {
	s := strings.TrimSpace(expr)
	if s == "" {
		return nil, errors.New("empty threshold")
	}
	t := &Threshold{}
	// Metric name: letters, digits, '_' and '.'.
	i := 0
	for i < len(s) && (isWordByte(s[i]) || s[i] == '.') {
		i++
	}
	name := strings.ToLower(s[:i])
	if name == "" {
		return nil, fmt.Errorf("expected a metric at the start (%s)", metricList)
	}
	if err := t.setMetric(name); err != nil {
		return nil, err
	}
	s = strings.TrimSpace(s[i:])
	if strings.HasPrefix(s, "{") {
		end, err := t.parseSelectors(s)
		if err != nil {
			return nil, err
		}
		s = strings.TrimSpace(s[end:])
	}
	op, rest := cutOp(s)
	if op == "" {
		if s == "" {
			return nil, errors.New("missing comparison: expected <, <=, >, >= or == and a value, e.g. p95<500ms")
		}
		return nil, fmt.Errorf("expected <, <=, >, >= or == before %q", s)
	}
	t.Op = op
	rest = strings.TrimSpace(rest)
	value := rest
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		value = strings.TrimSpace(rest[:at])
		if err := t.parseAbort(strings.TrimSpace(rest[at+1:])); err != nil {
			return nil, err
		}
	}
	if value == "" {
		return nil, fmt.Errorf("missing value after %s", op)
	}
	if rest, ok := cutBaseline(value); ok {
		r, err := parseRelative(t.Kind, rest)
		if err != nil {
			return nil, err
		}
		t.Relative = r
		return t, nil
	}
	v, err := parseValue(t.Kind, value)
	if err != nil {
		return nil, err
	}
	t.Limit = v
	return t, nil
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func (t *Threshold) setMetric(name string) error {
	if c, k, ok := metricKind(name); ok {
		t.Metric, t.Kind = c, k
		return nil
	}
	if len(name) > 1 && name[0] == 'p' && (name[1] >= '0' && name[1] <= '9') {
		p, err := strconv.ParseFloat(name[1:], 64)
		if err != nil {
			return fmt.Errorf("bad percentile %q", name)
		}
		for _, q := range stats.PercentileSet {
			if q == p {
				t.Metric, t.Kind, t.Percentile = "p"+strconv.FormatFloat(p, 'f', -1, 64), KindTime, p
				return nil
			}
		}
		return fmt.Errorf("percentile %s is not recorded; supported: %s", name, SupportedPercentiles())
	}
	return fmt.Errorf("unknown metric %q; expected one of %s (percentiles: %s)", name, metricList, SupportedPercentiles())
}

// parseSelectors reads "{key=value, ...}" at the start of s and returns
// the index after the closing brace.
func (t *Threshold) parseSelectors(s string) (int, error) {
	i := 1
	seen := map[string]bool{}
	for {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) {
			return 0, errors.New("unclosed '{' in selector")
		}
		if s[i] == '}' {
			if len(seen) == 0 {
				return 0, errors.New("empty selector {}; use name=, method= or region=")
			}
			return i + 1, nil
		}
		j := i
		for j < len(s) && isWordByte(s[j]) {
			j++
		}
		key := strings.ToLower(s[i:j])
		for j < len(s) && s[j] == ' ' {
			j++
		}
		if key == "" || j >= len(s) || s[j] != '=' {
			return 0, fmt.Errorf("selector: expected key=value (keys: name, method, region) at %q", s[i:])
		}
		j++
		for j < len(s) && s[j] == ' ' {
			j++
		}
		var val string
		if j < len(s) && s[j] == '"' {
			end := j + 1
			var b strings.Builder
			for ; end < len(s) && s[end] != '"'; end++ {
				if s[end] == '\\' && end+1 < len(s) {
					end++
				}
				b.WriteByte(s[end])
			}
			if end >= len(s) {
				return 0, errors.New("selector: unterminated quoted value")
			}
			val, j = b.String(), end+1
		} else {
			end := j
			for end < len(s) && s[end] != ',' && s[end] != '}' {
				end++
			}
			val, j = strings.TrimSpace(s[j:end]), end
		}
		if val == "" {
			return 0, fmt.Errorf("selector: empty value for %s", key)
		}
		if seen[key] {
			return 0, fmt.Errorf("selector: %s given twice", key)
		}
		seen[key] = true
		switch key {
		case "name":
			t.Name = val
		case "method":
			t.Method = strings.ToUpper(val)
		case "region":
			t.Region = val
		default:
			return 0, fmt.Errorf("selector: unknown key %q (keys: name, method, region)", key)
		}
		for j < len(s) && s[j] == ' ' {
			j++
		}
		if j < len(s) && s[j] == ',' {
			j++
		}
		i = j
	}
}

func cutOp(s string) (Op, string) {
	for _, op := range []Op{OpLE, OpGE, OpEQ, OpLT, OpGT} {
		if strings.HasPrefix(s, string(op)) {
			return op, s[len(op):]
		}
	}
	return "", s
}

func (t *Threshold) parseAbort(s string) error {
	word, arg, hasArg := strings.Cut(s, "=")
	if strings.TrimSpace(word) != "abort" {
		return fmt.Errorf("unknown option @%s (the only option is @abort or @abort=GRACE)", s)
	}
	t.Abort = true
	if hasArg {
		d, err := time.ParseDuration(strings.TrimSpace(arg))
		if err != nil || d < 0 {
			return fmt.Errorf("@abort=%s: grace must be a duration like 30s", arg)
		}
		t.AbortGrace = d
	}
	return nil
}

func parseValue(k Kind, s string) (float64, error) {
	s = strings.TrimSpace(s)
	var v float64
	var err error
	switch k {
	case KindTime:
		if n, e := strconv.ParseFloat(s, 64); e == nil {
			v = n // a bare number is milliseconds
		} else {
			d, e := time.ParseDuration(s)
			if e != nil {
				return 0, fmt.Errorf("bad time %q: use a duration such as 500ms, 2s or 1.5s", s)
			}
			v = float64(d) / float64(time.Millisecond)
		}
	case KindRatio:
		if p, ok := strings.CutSuffix(s, "%"); ok {
			v, err = strconv.ParseFloat(strings.TrimSpace(p), 64)
			v /= 100
		} else {
			v, err = strconv.ParseFloat(s, 64)
			if err == nil && v > 1 {
				return 0, fmt.Errorf("ratio %q is above 1: write a percentage with %%, e.g. 1%%", s)
			}
		}
		if err != nil {
			return 0, fmt.Errorf("bad ratio %q: use a percentage like 1%% or a fraction like 0.01", s)
		}
	case KindRate:
		s = strings.TrimSpace(strings.TrimSuffix(s, "/s"))
		v, err = strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("bad rate %q: use a number per second, e.g. 100 or 100/s", s)
		}
	case KindCount:
		v, err = strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("bad count %q: use a number, e.g. 1000", s)
		}
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0, fmt.Errorf("value %q must be a finite number >= 0", s)
	}
	return v, nil
}

// Describe names the metric and its scope, e.g. "p95 of GET /checkout in
// westeurope".
func (t *Threshold) Describe() string {
	var b strings.Builder
	b.WriteString(t.Metric)
	switch {
	case t.Name != "" && t.Method != "":
		b.WriteString(" of " + t.Method + " " + t.Name)
	case t.Name != "":
		b.WriteString(" of " + t.Name)
	case t.Method != "":
		b.WriteString(" of " + t.Method + " requests")
	}
	if t.Region != "" {
		b.WriteString(" in " + t.Region)
	}
	return b.String()
}

// FormatValue formats v in the metric's unit.
func (t *Threshold) FormatValue(v float64) string { return formatValue(t.Kind, v) }

func formatValue(k Kind, v float64) string {
	switch k {
	case KindTime:
		return strconv.FormatFloat(round(v, 3), 'f', -1, 64) + "ms"
	case KindRatio:
		return strconv.FormatFloat(round(v*100, 4), 'f', -1, 64) + "%"
	case KindRate:
		return strconv.FormatFloat(round(v, 3), 'f', -1, 64) + "/s"
	default:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// holds reports whether v satisfies the comparison.
func (t *Threshold) holds(v float64) bool {
	switch t.Op {
	case OpLT:
		return v < t.Limit
	case OpLE:
		return v <= t.Limit
	case OpGT:
		return v > t.Limit
	case OpGE:
		return v >= t.Limit
	default:
		return v == t.Limit
	}
}
