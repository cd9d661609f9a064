package output

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/stampede-load/stampede/internal/stats"
)

// Widths beyond which the console tables truncate a cell with an ellipsis.
const (
	maxNameWidth = 60
	maxTypeWidth = 12
	maxTextWidth = 120
)

// PrintSummary prints the end-of-run tables as Locust prints them: the
// request statistics, the response time percentiles, the failures and,
// when there are any, the script errors and the per-region statistics.
// Times are in milliseconds; rates are over the whole run.
func PrintSummary(w io.Writer, s *stats.Summary) error {
	bw := bufio.NewWriter(w)
	entries := sortedEntries(s.Entries)
	total := aggregated(s.Total)

	if HasServiceTimes(s) {
		fmt.Fprint(bw, openModelNote)
	}
	statsTable(entries, &total).render(bw)
	fmt.Fprintln(bw)

	fmt.Fprintln(bw, "Response time percentiles (ms)")
	percentileTable(entries, &total).render(bw)
	fmt.Fprintln(bw)
	printServiceTimes(bw, s)

	if len(s.Errors) > 0 {
		fmt.Fprintln(bw, "Error report")
		errorTable(s.Errors).render(bw)
		fmt.Fprintln(bw)
	}
	if len(s.Exceptions) > 0 {
		fmt.Fprintln(bw, "Script errors (tracebacks in the CSV and JSON outputs)")
		exceptionTable(s.Exceptions).render(bw)
		fmt.Fprintln(bw)
	}
	if len(s.Regions) > 0 {
		fmt.Fprintln(bw, "Per-region statistics")
		regionTable(s.Regions, &total).render(bw)
		fmt.Fprintln(bw)
	}
	if s.Dropped > 0 {
		fmt.Fprintf(bw, "Dropped iterations: %d (the open model's queue of due iterations was full)\n\n", s.Dropped)
	}
	return bw.Flush()
}

func statsTable(entries []stats.EntryStats, total *stats.EntryStats) *table {
	t := &table{cols: []column{
		{head: "Type", maxWidth: maxTypeWidth},
		{head: "Name", maxWidth: maxNameWidth},
		{head: "# reqs", right: true},
		{head: "# fails", right: true},
		{head: "Avg", right: true, group: true},
		{head: "Min", right: true},
		{head: "Max", right: true},
		{head: "Med", right: true},
		{head: "req/s", right: true, group: true},
		{head: "failures/s", right: true},
	}}
	row := func(e *stats.EntryStats) []string {
		return []string{
			e.Method, e.Name,
			strconv.FormatInt(e.Requests, 10),
			failCell(e.Failures, e.Requests),
			ConsoleMs(e.AvgMs), ConsoleMs(e.MinMs), ConsoleMs(e.MaxMs), ConsoleMs(e.MedianMs),
			strconv.FormatFloat(e.RPS, 'f', 2, 64),
			strconv.FormatFloat(e.FailPerSec, 'f', 2, 64),
		}
	}
	for i := range entries {
		t.add(row(&entries[i]))
	}
	t.separator()
	t.add(row(total))
	return t
}

func percentileTable(entries []stats.EntryStats, total *stats.EntryStats) *table {
	t := &table{cols: []column{
		{head: "Type", maxWidth: maxTypeWidth},
		{head: "Name", maxWidth: maxNameWidth},
	}}
	for i, p := range stats.PercentileSet {
		t.cols = append(t.cols, column{head: stats.PercentileLabel(p), right: true, group: i == 0})
	}
	t.cols = append(t.cols, column{head: "# reqs", right: true, group: true})
	row := func(e *stats.EntryStats) []string {
		r := []string{e.Method, e.Name}
		for _, v := range e.Percentiles {
			r = append(r, ConsoleMs(v))
		}
		return append(r, strconv.FormatInt(e.Requests, 10))
	}
	for i := range entries {
		if entries[i].Requests > 0 {
			t.add(row(&entries[i]))
		}
	}
	t.separator()
	if total.Requests > 0 {
		t.add(row(total))
	}
	return t
}

func errorTable(errs []stats.ErrorStats) *table {
	t := &table{cols: []column{
		{head: "# occurrences", right: true},
		{head: "Error", maxWidth: maxTextWidth},
	}}
	for _, e := range errs {
		name := strings.TrimSpace(e.Method + " " + e.Name)
		t.add([]string{strconv.FormatInt(e.Occurrences, 10), name + ": " + e.Error})
	}
	t.separator()
	return t
}

func exceptionTable(xs []stats.ExceptionStats) *table {
	t := &table{cols: []column{
		{head: "# count", right: true},
		{head: "Message", maxWidth: maxTextWidth},
		{head: "Nodes", maxWidth: maxNameWidth},
	}}
	for _, x := range xs {
		t.add([]string{strconv.FormatInt(x.Count, 10), x.Message, strings.Join(x.Nodes, ", ")})
	}
	t.separator()
	return t
}

func regionTable(regions []stats.RegionStats, total *stats.EntryStats) *table {
	t := &table{cols: []column{
		{head: "Region", maxWidth: maxNameWidth},
		{head: "# reqs", right: true},
		{head: "# fails", right: true},
		{head: "req/s", right: true, group: true},
		{head: "50%", right: true, group: true},
		{head: "95%", right: true},
		{head: "99%", right: true},
	}}
	row := func(name string, e *stats.EntryStats) []string {
		return []string{
			name,
			strconv.FormatInt(e.Requests, 10),
			failCell(e.Failures, e.Requests),
			strconv.FormatFloat(e.RPS, 'f', 2, 64),
			ConsoleMs(e.Percentiles.At(50)),
			ConsoleMs(e.Percentiles.At(95)),
			ConsoleMs(e.Percentiles.At(99)),
		}
	}
	rs := append([]stats.RegionStats(nil), regions...)
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Region < rs[j].Region })
	for i := range rs {
		t.add(row(rs[i].Region, &rs[i].Total))
	}
	t.separator()
	t.add(row("Aggregated", total))
	return t
}

// failCell is Locust's "# fails" cell: count and percentage of requests.
func failCell(failures, requests int64) string {
	ratio := 0.0
	switch {
	case requests > 0:
		ratio = float64(failures) / float64(requests)
	case failures > 0:
		ratio = 1
	}
	return fmt.Sprintf("%d(%.2f%%)", failures, ratio*100)
}

// ConsoleMs formats milliseconds for a table or a status line with about
// three significant digits: 0.042, 1.23, 12.3, 123, 12345.
func ConsoleMs(v float64) string {
	var s string
	switch {
	case v <= 0 || v != v:
		return "0"
	case v < 1:
		s = strconv.FormatFloat(v, 'f', 3, 64)
	case v < 10:
		s = strconv.FormatFloat(v, 'f', 2, 64)
	case v < 100:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// column is one column of a console table.
type column struct {
	head string
	// right aligns the column to the right (numbers).
	right bool
	// group draws a bar before the column, as Locust separates its
	// groups of columns.
	group bool
	// maxWidth truncates longer cells with an ellipsis; 0 is no limit.
	maxWidth int
}

// table is a console table; a nil row is a separator line.
type table struct {
	cols []column
	rows [][]string
}

func (t *table) add(r []string) { t.rows = append(t.rows, r) }
func (t *table) separator()     { t.rows = append(t.rows, nil) }

func (t *table) render(w io.Writer) {
	widths := make([]int, len(t.cols))
	cells := make([][]string, len(t.rows))
	for i, c := range t.cols {
		widths[i] = utf8.RuneCountInString(c.head)
	}
	for r, row := range t.rows {
		if row == nil {
			continue
		}
		cells[r] = make([]string, len(t.cols))
		for i := range t.cols {
			v := ""
			if i < len(row) {
				v = cleanCell(row[i], t.cols[i].maxWidth)
			}
			cells[r][i] = v
			widths[i] = max(widths[i], utf8.RuneCountInString(v))
		}
	}
	head := make([]string, len(t.cols))
	for i, c := range t.cols {
		head[i] = c.head
	}
	t.line(w, head, widths)
	sep := t.sepLine(widths)
	fmt.Fprintln(w, sep)
	for r, row := range t.rows {
		if row == nil {
			fmt.Fprintln(w, sep)
			continue
		}
		t.line(w, cells[r], widths)
	}
}

func (t *table) line(w io.Writer, cells []string, widths []int) {
	var b strings.Builder
	for i, c := range t.cols {
		if i > 0 {
			if c.group {
				b.WriteString(" | ")
			} else {
				b.WriteByte(' ')
			}
		}
		pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cells[i]))
		if c.right {
			b.WriteString(pad)
			b.WriteString(cells[i])
		} else {
			b.WriteString(cells[i])
			b.WriteString(pad)
		}
	}
	fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
}

func (t *table) sepLine(widths []int) string {
	var b strings.Builder
	for i, c := range t.cols {
		if i > 0 {
			if c.group {
				b.WriteString("-|-")
			} else {
				b.WriteByte('|')
			}
		}
		b.WriteString(strings.Repeat("-", widths[i]))
	}
	return b.String()
}

// cleanCell puts a cell on one line and truncates it to limit runes.
func cleanCell(s string, limit int) string {
	if strings.ContainsAny(s, "\r\n\t") {
		s = strings.Join(strings.Fields(s), " ")
	}
	if limit > 0 && utf8.RuneCountInString(s) > limit {
		r := []rune(s)
		s = string(r[:limit-1]) + "…"
	}
	return s
}
