package threshold

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/stampede-load/stampede/internal/stats"
)

// Relative is a limit that refers to a baseline run: the baseline's value
// of the same metric and scope, times Factor, plus Offset (in the metric's
// unit; negative for "baseline-VALUE").
type Relative struct {
	Factor float64
	Offset float64
}

// limit applies r to the baseline value b; a limit below 0 is 0.
func (r *Relative) limit(b float64) float64 {
	return math.Min(math.MaxFloat64, math.Max(0, b*r.Factor+r.Offset))
}

// cutBaseline reports whether value starts with the word "baseline" and
// returns what follows it.
func cutBaseline(value string) (string, bool) {
	const word = "baseline"
	if len(value) < len(word) || !strings.EqualFold(value[:len(word)], word) {
		return "", false
	}
	rest := value[len(word):]
	if rest != "" && isWordByte(rest[0]) {
		return "", false // "baselines" is not the keyword
	}
	return strings.TrimSpace(rest), true
}

func parseRelative(k Kind, s string) (*Relative, error) {
	r := &Relative{Factor: 1}
	if s == "" {
		return r, nil
	}
	arg := strings.TrimSpace(s[1:])
	switch s[0] {
	case '*':
		f, err := strconv.ParseFloat(arg, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e6 {
			return nil, fmt.Errorf("baseline*%s: want a factor such as 1.10 (0 to 1e6)", arg)
		}
		r.Factor = f
	case '+', '-':
		v, err := parseValue(k, arg)
		if err != nil {
			return nil, fmt.Errorf("baseline%c%s: %w", s[0], arg, err)
		}
		if s[0] == '-' {
			v = -v
		}
		r.Offset = v
	default:
		return nil, fmt.Errorf("after baseline: expected *FACTOR, +VALUE or -VALUE, got %q (e.g. p95<baseline*1.10, error_rate<baseline+0.5%%)", s)
	}
	return r, nil
}

// HasRelative reports whether any threshold refers to a baseline.
func HasRelative(ts []*Threshold) bool {
	for _, t := range ts {
		if t.Relative != nil {
			return true
		}
	}
	return false
}

// Bind computes the limits of the thresholds that refer to a baseline
// from the baseline run's statistics. With base nil (no baseline, and
// --baseline-optional allowed that), they are skipped: they pass and say
// why (reason). Thresholds with absolute limits are not changed.
func Bind(ts []*Threshold, base *stats.Summary, reason string) {
	for _, t := range ts {
		if t.Relative == nil {
			continue
		}
		t.bound, t.skipped, t.baselineNoData, t.baseline, t.Limit = true, "", "", 0, 0
		if base == nil {
			t.skipped = reason
			continue
		}
		v, noData, err := t.measure(base)
		switch {
		case noData != "":
			t.baselineNoData = noData
		case err != nil:
			t.baselineNoData = err.Error()
		default:
			t.baseline, t.Limit = v, t.Relative.limit(v)
		}
	}
}

// errUnbound is the verdict of a relative threshold evaluated without
// Bind: a caller that offers no --baseline must refuse such thresholds
// at start (CheckNoRelative).
var errUnbound = errors.New("refers to a baseline, but none was given (--baseline)")

// CheckNoRelative refuses thresholds that refer to a baseline where none
// can be given, naming them.
func CheckNoRelative(ts []*Threshold) error {
	var errs []error
	for _, t := range ts {
		if t.Relative != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", t.Source, t.Expr, errUnbound))
		}
	}
	return errors.Join(errs...)
}
