// Package output renders a run's statistics as text: Locust-compatible CSV
// files, the JSON summary, the end-of-run console tables and the live
// progress line.
//
// The CSV writers follow Locust 2.x (locust/stats.py: StatsCSV and
// StatsCSVFileWriter) column for column: the same headers, rows sorted by
// (name, method), an "Aggregated" row with an empty Type last, "N/A"
// percentiles for an entry without requests, Python's float repr for the
// request rates of _stats.csv and "%f" for those of _stats_history.csv, and
// CRLF line ends as Python's csv module writes them. Response times are the
// one deliberate difference: Locust prints its percentiles and median as
// integers taken from a histogram rounded to 2 significant digits; Stampede
// prints every time in milliseconds with up to three decimals.
package output

import (
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
)

// statsColumns are the columns of _stats.csv after Type and Name, shared by
// _regions.csv.
var statsColumns = [...]string{
	"Request Count", "Failure Count", "Median Response Time", "Average Response Time",
	"Min Response Time", "Max Response Time", "Average Content Size", "Requests/s", "Failures/s",
}

// historyTotalColumns are the trailing columns of _stats_history.csv.
var historyTotalColumns = [...]string{
	"Total Request Count", "Total Failure Count", "Total Median Response Time",
	"Total Average Response Time", "Total Min Response Time", "Total Max Response Time",
	"Total Average Content Size",
}

// StatsHeader returns the header of _stats.csv.
func StatsHeader() []string {
	h := []string{"Type", "Name"}
	h = append(h, statsColumns[:]...)
	return append(h, percentileLabels()...)
}

// HistoryHeader returns the header of _stats_history.csv.
func HistoryHeader() []string {
	h := []string{"Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s"}
	h = append(h, percentileLabels()...)
	return append(h, historyTotalColumns[:]...)
}

// FailuresHeader returns the header of _failures.csv.
func FailuresHeader() []string { return []string{"Method", "Name", "Error", "Occurrences"} }

// ExceptionsHeader returns the header of _exceptions.csv.
func ExceptionsHeader() []string { return []string{"Count", "Message", "Traceback", "Nodes"} }

// RegionsHeader returns the header of _regions.csv: "Region" and the
// columns of _stats.csv.
func RegionsHeader() []string { return append([]string{"Region"}, StatsHeader()...) }

func percentileLabels() []string {
	l := make([]string, 0, stats.NumPercentiles)
	for _, p := range stats.PercentileSet {
		l = append(l, stats.PercentileLabel(p))
	}
	return l
}

// WriteStatsCSV writes _stats.csv: one row per (method, name) sorted by name
// then method, and the Aggregated row.
func WriteStatsCSV(w io.Writer, s *stats.Summary) error {
	cw := newCSVWriter(w)
	cw.row(StatsHeader())
	for _, e := range sortedEntries(s.Entries) {
		cw.row(statsRow(nil, &e))
	}
	total := aggregated(s.Total)
	cw.row(statsRow(nil, &total))
	return cw.err
}

// WriteRegionsCSV writes _regions.csv: for every region (sorted by name) its
// rows as in _stats.csv, prefixed by the region, ending in the region's
// Aggregated row.
func WriteRegionsCSV(w io.Writer, s *stats.Summary) error {
	cw := newCSVWriter(w)
	cw.row(RegionsHeader())
	regions := append([]stats.RegionStats(nil), s.Regions...)
	sort.SliceStable(regions, func(i, j int) bool { return regions[i].Region < regions[j].Region })
	for _, r := range regions {
		prefix := []string{r.Region}
		for _, e := range sortedEntries(r.Entries) {
			cw.row(statsRow(prefix, &e))
		}
		total := aggregated(r.Total)
		cw.row(statsRow(prefix, &total))
	}
	return cw.err
}

// WriteFailuresCSV writes _failures.csv, one row per (method, name, error)
// in the summary's order (most frequent first).
func WriteFailuresCSV(w io.Writer, s *stats.Summary) error {
	cw := newCSVWriter(w)
	cw.row(FailuresHeader())
	for _, e := range s.Errors {
		cw.row([]string{e.Method, e.Name, e.Error, strconv.FormatInt(e.Occurrences, 10)})
	}
	return cw.err
}

// WriteExceptionsCSV writes _exceptions.csv; Nodes is the comma-separated
// list of the workers that raised the error, as Locust writes it.
func WriteExceptionsCSV(w io.Writer, s *stats.Summary) error {
	cw := newCSVWriter(w)
	cw.row(ExceptionsHeader())
	for _, x := range s.Exceptions {
		cw.row([]string{strconv.FormatInt(x.Count, 10), x.Message, x.Traceback, strings.Join(x.Nodes, ", ")})
	}
	return cw.err
}

// WriteHistoryHeader writes the header line of _stats_history.csv.
func WriteHistoryHeader(w io.Writer) error {
	cw := newCSVWriter(w)
	cw.row(HistoryHeader())
	return cw.err
}

// WriteHistoryRows appends the _stats_history.csv rows for the moment now:
// the Aggregated row, preceded with fullHistory by one row per entry.
//
// Requests/s and Failures/s are the current rates (the last seconds), as in
// Locust. The percentile columns are the cumulative percentiles; Locust
// uses them too for the Aggregated row of a default history, but with
// --csv-full-history it prints the percentiles of its last ~10 s window,
// which a Summary does not carry per entry.
func WriteHistoryRows(w io.Writer, now time.Time, users int, s *stats.Summary, fullHistory bool) error {
	cw := newCSVWriter(w)
	ts := strconv.FormatInt(now.Unix(), 10)
	u := strconv.Itoa(users)
	if fullHistory {
		for _, e := range sortedEntries(s.Entries) {
			cw.row(historyRow(ts, u, &e))
		}
	}
	total := aggregated(s.Total)
	cw.row(historyRow(ts, u, &total))
	return cw.err
}

// aggregated returns the total row named as Locust names it.
func aggregated(e stats.EntryStats) stats.EntryStats {
	e.Method, e.Name = "", "Aggregated"
	return e
}

// sortedEntries returns the entries in Locust's sort_stats order: by the
// (name, method) key.
func sortedEntries(in []stats.EntryStats) []stats.EntryStats {
	out := append([]stats.EntryStats(nil), in...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Method < out[j].Method
	})
	return out
}

func statsRow(prefix []string, e *stats.EntryStats) []string {
	r := make([]string, 0, len(prefix)+2+len(statsColumns)+stats.NumPercentiles)
	r = append(r, prefix...)
	r = append(r,
		e.Method, e.Name,
		strconv.FormatInt(e.Requests, 10),
		strconv.FormatInt(e.Failures, 10),
		FormatMs(e.MedianMs),
		FormatMs(e.AvgMs),
		FormatMs(e.MinMs),
		FormatMs(e.MaxMs),
		contentSize(e),
		pyFloat(e.RPS),
		pyFloat(e.FailPerSec),
	)
	return appendPercentiles(r, e)
}

func historyRow(ts, users string, e *stats.EntryStats) []string {
	r := make([]string, 0, 6+stats.NumPercentiles+len(historyTotalColumns))
	r = append(r, ts, users, e.Method, e.Name,
		strconv.FormatFloat(e.CurrentRPS, 'f', 6, 64),
		strconv.FormatFloat(e.CurrentFailPerSec, 'f', 6, 64),
	)
	r = appendPercentiles(r, e)
	return append(r,
		strconv.FormatInt(e.Requests, 10),
		strconv.FormatInt(e.Failures, 10),
		FormatMs(e.MedianMs),
		FormatMs(e.AvgMs),
		FormatMs(e.MinMs),
		FormatMs(e.MaxMs),
		contentSize(e),
	)
}

// appendPercentiles adds the percentile columns, "N/A" when the entry has
// no requests (Locust's _percentile_fields).
func appendPercentiles(r []string, e *stats.EntryStats) []string {
	for _, v := range e.Percentiles {
		if e.Requests == 0 {
			r = append(r, "N/A")
		} else {
			r = append(r, FormatMs(v))
		}
	}
	return r
}

// contentSize is Locust's avg_content_length: a float, or the integer 0
// when there were no requests.
func contentSize(e *stats.EntryStats) string {
	if e.Requests == 0 {
		return "0"
	}
	return pyFloat(e.AvgContentSize)
}

// FormatMs formats a time in milliseconds with at most three decimals
// (microseconds) and no trailing zeros: 12.5, 0.042, 250.
func FormatMs(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	s := strconv.FormatFloat(v, 'f', 3, 64)
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if s == "-0" || s == "" {
		return "0"
	}
	return s
}

// pyFloat formats v as Python's repr(float) does: the shortest string that
// reads back as v, always with a decimal point or an exponent, switching to
// exponent notation below 1e-4 and from 1e16.
func pyFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	case v == 0:
		if math.Signbit(v) {
			return "-0.0"
		}
		return "0.0"
	}
	e := strconv.FormatFloat(v, 'e', -1, 64) // d.ddde±XX
	i := strings.LastIndexByte(e, 'e')
	exp, _ := strconv.Atoi(e[i+1:])
	if exp < -4 || exp >= 16 {
		return e
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// csvWriter writes rows as Python's csv.writer does with its default
// "excel" dialect, which is what Locust uses: a field is quoted only when it
// holds a comma, a quote, CR or LF; quotes are doubled; rows end in CRLF;
// line breaks inside a quoted field are written as they are.
type csvWriter struct {
	w   io.Writer
	buf []byte
	err error
}

func newCSVWriter(w io.Writer) *csvWriter { return &csvWriter{w: w} }

func (c *csvWriter) row(fields []string) {
	if c.err != nil {
		return
	}
	b := c.buf[:0]
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		if !strings.ContainsAny(f, ",\"\r\n") {
			b = append(b, f...)
			continue
		}
		b = append(b, '"')
		for j := 0; j < len(f); j++ {
			if f[j] == '"' {
				b = append(b, '"')
			}
			b = append(b, f[j])
		}
		b = append(b, '"')
	}
	b = append(b, '\r', '\n')
	c.buf = b
	_, c.err = c.w.Write(b)
}
