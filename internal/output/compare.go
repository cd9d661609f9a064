package output

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/stampede-load/stampede/internal/compare"
)

// WriteComparison prints a comparison of two runs as a table: for each
// name and the aggregate, both runs' figures and the change, and the
// verdict of the significance test (docs/compare.md).
func WriteComparison(w io.Writer, r *compare.Result) error {
	fmt.Fprintf(w, "base: %s\nnew:  %s\n", r.Base.Label, r.New.Label)
	fmt.Fprintf(w, "significant: Kolmogorov–Smirnov p < %s and p50, p95 or p99 changed by ≥ %s and ≥ %s ms, beyond its 99%% confidence interval\n\n",
		strconv.FormatFloat(r.Alpha, 'g', -1, 64), pct(r.MinEffect), strconv.FormatFloat(r.MinEffectMs, 'g', -1, 64))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Type\tName\t# reqs\tfail %\treq/s\tp50 ms\tp95 ms\tp99 ms\tp (KS)\tverdict")
	rows := append(append([]compare.Row(nil), r.Rows...), r.Total)
	for i, row := range rows {
		if i == len(rows)-1 {
			fmt.Fprintln(tw, strings.Repeat("-", 6)+"\t\t\t\t\t\t\t\t\t")
		}
		b, n, c := row.Base, row.New, row.Changes
		cells := []string{row.Method, row.Name,
			pair(b, n, func(s *compare.Side) string { return strconv.FormatInt(s.Requests, 10) }, ""),
			pair(b, n, func(s *compare.Side) string { return fixedStr(s.ErrorRate*100, 2) }, points(c.ErrorRate)),
			pair(b, n, func(s *compare.Side) string { return fixedStr(s.RPS, 1) }, relStr(c.RPS)),
			pair(b, n, func(s *compare.Side) string { return fixedStr(s.P50, 1) }, relStr(c.P50)),
			pair(b, n, func(s *compare.Side) string { return fixedStr(s.P95, 1) }, relStr(c.P95)),
			pair(b, n, func(s *compare.Side) string { return fixedStr(s.P99, 1) }, relStr(c.P99)),
			row.Test.PText(), verdictText(row)}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	return nil
}

// pair formats "base → new (change)", or one side when the other is
// missing.
func pair(b, n *compare.Side, f func(*compare.Side) string, change string) string {
	switch {
	case b == nil && n == nil:
		return ""
	case b == nil:
		return "– → " + f(n)
	case n == nil:
		return f(b) + " → –"
	}
	s := f(b) + " → " + f(n)
	if change != "" {
		s += " (" + change + ")"
	}
	return s
}

func fixedStr(v float64, d int) string { return strconv.FormatFloat(v, 'f', d, 64) }

func pct(v float64) string { return strconv.FormatFloat(v*100, 'f', -1, 64) + "%" }

// relStr formats a relative change as a signed percentage.
func relStr(c *float64) string {
	if c == nil {
		return ""
	}
	return fmt.Sprintf("%+.1f%%", *c*100)
}

// points formats an error-rate difference in percentage points.
func points(c *float64) string {
	if c == nil {
		return ""
	}
	return fmt.Sprintf("%+.2f pts", *c*100)
}

func verdictText(r compare.Row) string {
	if r.Verdict == compare.Slower || r.Verdict == compare.Faster {
		return strings.ToUpper(r.Verdict) + strings.TrimPrefix(r.Label(), r.Verdict)
	}
	return r.Verdict
}
