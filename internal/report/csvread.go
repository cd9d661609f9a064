package report

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/stats"
)

// FromCSV reads the CSV files of one run by their prefix: PREFIX_stats.csv
// (required), and when present PREFIX_stats_history.csv,
// PREFIX_failures.csv, PREFIX_exceptions.csv and PREFIX_regions.csv. It
// reads Locust 2.x files as well as Stampede's own: columns are found by
// their header, "N/A" cells are "not available", the Aggregated row is the
// one named "Aggregated" with an empty Type, and history files with or
// without --csv-full-history rows are accepted.
//
// What CSV files do not hold (the run's configuration, the full
// histogram) stays empty in the document and is shown as not available.
func FromCSV(prefix string) (*Data, error) {
	d := &Data{Doc: &output.Document{ThresholdsPassed: true}, Source: "CSV files " + prefix + "_*.csv", FromCSV: true}
	sum := &stats.Summary{}
	d.Doc.Stats = sum

	statsPath := prefix + output.SuffixStats
	rows, err := readCSV(statsPath)
	if err != nil {
		return nil, err
	}
	entries, total, hasTotal, err := parseStatsRows(statsPath, rows)
	if err != nil {
		return nil, err
	}
	sum.Entries, sum.Total = entries, total
	if !hasTotal {
		d.Notes = append(d.Notes, statsPath+" has no Aggregated row: the totals are not available")
		d.NoTotal = true
	}

	if rows, err := readOptional(prefix + output.SuffixHistory); err != nil {
		return nil, err
	} else if rows != nil {
		if err := d.parseHistory(prefix+output.SuffixHistory, rows); err != nil {
			return nil, err
		}
	} else {
		d.Notes = append(d.Notes, "no "+prefix+output.SuffixHistory+": charts over time are not available")
	}
	if rows, err := readOptional(prefix + output.SuffixFailures); err != nil {
		return nil, err
	} else if rows != nil {
		if sum.Errors, err = parseFailures(prefix+output.SuffixFailures, rows); err != nil {
			return nil, err
		}
	} else {
		d.NoFailures = true
	}
	if rows, err := readOptional(prefix + output.SuffixExceptions); err != nil {
		return nil, err
	} else if rows != nil {
		if sum.Exceptions, err = parseExceptions(prefix+output.SuffixExceptions, rows); err != nil {
			return nil, err
		}
	} else {
		d.NoExceptions = true
	}
	if rows, err := readOptional(prefix + output.SuffixRegions); err != nil {
		return nil, err
	} else if rows != nil {
		if sum.Regions, err = parseRegions(prefix+output.SuffixRegions, rows); err != nil {
			return nil, err
		}
		for _, r := range sum.Regions {
			d.Doc.Run.Regions = append(d.Doc.Run.Regions, r.Region)
		}
	}
	d.Doc.Run.Start, d.Doc.Run.End = sum.Start, sum.End
	if !sum.Start.IsZero() {
		d.Doc.Run.DurationSeconds = sum.End.Sub(sum.Start).Seconds()
	}
	return d, nil
}

func readOptional(path string) ([][]string, error) {
	rows, err := readCSV(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return rows, err
}

func readCSV(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	var rows [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("report: reading %s: %w", path, err)
		}
		rows = append(rows, rec)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("report: %s is empty (no header line)", path)
	}
	return rows, nil
}

// columns finds columns by their header name.
type columns struct {
	path string
	idx  map[string]int
}

func newColumns(path string, header []string, required ...string) (*columns, error) {
	c := &columns{path: path, idx: map[string]int{}}
	for i, h := range header {
		c.idx[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	for _, r := range required {
		if _, ok := c.idx[r]; !ok {
			return nil, fmt.Errorf("report: %s: no %q column; is it a Locust or Stampede CSV file?", path, r)
		}
	}
	return c, nil
}

func (c *columns) str(row []string, name string) string {
	i, ok := c.idx[name]
	if !ok || i >= len(row) {
		return ""
	}
	return row[i]
}

// Bounds of what a CSV cell may hold: every column of these files is a
// count, a time, a size or a rate, none negative; counts must fit an
// int64 and timestamps a year JSON can write (<= 9999).
const (
	maxCount     = 1 << 63
	maxTimestamp = 253402300799 // 9999-12-31T23:59:59Z
)

// num parses a numeric cell; ok is false for a missing column, an empty
// cell or "N/A".
func (c *columns) num(row []string, name string, line int) (v float64, ok bool, err error) {
	s := strings.TrimSpace(c.str(row, name))
	if s == "" || s == "N/A" {
		return 0, false, nil
	}
	v, err = strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false, fmt.Errorf("report: %s line %d: column %q: %q is not a number", c.path, line, name, s)
	}
	if v < 0 {
		return 0, false, fmt.Errorf("report: %s line %d: column %q: %q is negative", c.path, line, name, s)
	}
	return v, true, nil
}

// count parses a cell that is a number of things.
func (c *columns) count(row []string, name string, line int) (int64, error) {
	v, _, err := c.num(row, name, line)
	if err == nil && v >= maxCount {
		err = fmt.Errorf("report: %s line %d: column %q: %v is too large", c.path, line, name, v)
	}
	return int64(v), err
}

func isAggregated(typ, name string) bool {
	return name == "Aggregated" && (typ == "" || typ == "None")
}

// parseStatsRows reads the rows of _stats.csv.
func parseStatsRows(path string, rows [][]string) (entries []stats.EntryStats, total stats.EntryStats, hasTotal bool, err error) {
	c, err := newColumns(path, rows[0], "Type", "Name", "Request Count", "Failure Count")
	if err != nil {
		return nil, total, false, err
	}
	for i, row := range rows[1:] {
		e, err := c.entry(row, i+2)
		if err != nil {
			return nil, total, false, err
		}
		if isAggregated(e.Method, e.Name) {
			e.Method = ""
			total, hasTotal = e, true
			continue
		}
		entries = append(entries, e)
	}
	if !hasTotal {
		total = stats.EntryStats{Name: "Aggregated"}
	}
	return entries, total, hasTotal, nil
}

func (c *columns) entry(row []string, line int) (stats.EntryStats, error) {
	e := stats.EntryStats{Method: c.str(row, "Type"), Name: c.str(row, "Name")}
	var err error
	get := func(name string) float64 {
		if err != nil {
			return 0
		}
		v, _, e := c.num(row, name, line)
		err = e
		return v
	}
	count := func(name string) int64 {
		if err != nil {
			return 0
		}
		n, e := c.count(row, name, line)
		err = e
		return n
	}
	e.Requests = count("Request Count")
	e.Failures = count("Failure Count")
	e.MedianMs = get("Median Response Time")
	e.AvgMs = get("Average Response Time")
	e.MinMs = get("Min Response Time")
	e.MaxMs = get("Max Response Time")
	e.AvgContentSize = get("Average Content Size")
	if b := math.Round(e.AvgContentSize * float64(e.Requests)); b < maxCount {
		e.TotalContentBytes = int64(b)
	} else {
		e.TotalContentBytes = math.MaxInt64
	}
	e.RPS = get("Requests/s")
	e.FailPerSec = get("Failures/s")
	for i, p := range stats.PercentileSet {
		e.Percentiles[i] = get(stats.PercentileLabel(p))
	}
	return e, err
}

// parseHistory reads _stats_history.csv: the Aggregated rows become the
// history points; the per-entry rows of --csv-full-history are kept per
// entry for the per-request chart.
func (d *Data) parseHistory(path string, rows [][]string) error {
	c, err := newColumns(path, rows[0], "Timestamp", "User Count", "Name", "Requests/s")
	if err != nil {
		return err
	}
	sum := d.Doc.Stats
	peak := 0
	for i, row := range rows[1:] {
		line := i + 2
		ts, _, err := c.num(row, "Timestamp", line)
		if err != nil {
			return err
		}
		if ts > maxTimestamp {
			return fmt.Errorf("report: %s line %d: timestamp %v is after the year 9999", path, line, ts)
		}
		users, err := c.count(row, "User Count", line)
		if err != nil {
			return err
		}
		p := stats.Point{Time: time.Unix(int64(ts), 0).UTC(), Users: int(users)}
		var na bool
		for _, f := range []struct {
			col string
			dst *float64
		}{{"Requests/s", &p.RPS}, {"Failures/s", &p.FailPerSec}, {"50%", &p.P50}, {"95%", &p.P95}, {"99%", &p.P99}} {
			v, ok, err := c.num(row, f.col, line)
			if err != nil {
				return err
			}
			*f.dst = v
			if !ok && strings.HasSuffix(f.col, "%") {
				na = true
			}
		}
		if p.Requests, err = c.count(row, "Total Request Count", line); err != nil {
			return err
		}
		if p.Failures, err = c.count(row, "Total Failure Count", line); err != nil {
			return err
		}
		typ, name := c.str(row, "Type"), c.str(row, "Name")
		if !isAggregated(typ, name) {
			d.FullHistory = true
			if d.EntryHistory == nil {
				d.EntryHistory = map[string][]EntryPoint{}
			}
			key := strings.TrimSpace(typ + " " + name)
			d.EntryHistory[key] = append(d.EntryHistory[key], EntryPoint{Time: p.Time, RPS: p.RPS, FailPerSec: p.FailPerSec,
				P50: p.P50, P95: p.P95, P99: p.P99, HasPct: !na, Requests: p.Requests})
			continue
		}
		sum.History = append(sum.History, p)
		d.HistoryNA = append(d.HistoryNA, na)
		peak = max(peak, p.Users)
	}
	if n := len(sum.History); n > 0 {
		sum.Start, sum.End = sum.History[0].Time, sum.History[n-1].Time
		d.Doc.Run.Users = peak
		d.UsersFromHistory = true
	}
	return nil
}

func parseFailures(path string, rows [][]string) ([]stats.ErrorStats, error) {
	c, err := newColumns(path, rows[0], "Method", "Name", "Error", "Occurrences")
	if err != nil {
		return nil, err
	}
	var out []stats.ErrorStats
	for i, row := range rows[1:] {
		n, err := c.count(row, "Occurrences", i+2)
		if err != nil {
			return nil, err
		}
		out = append(out, stats.ErrorStats{Method: c.str(row, "Method"), Name: c.str(row, "Name"), Error: c.str(row, "Error"), Occurrences: n})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Occurrences > out[j].Occurrences })
	return out, nil
}

func parseExceptions(path string, rows [][]string) ([]stats.ExceptionStats, error) {
	c, err := newColumns(path, rows[0], "Count", "Message")
	if err != nil {
		return nil, err
	}
	var out []stats.ExceptionStats
	for i, row := range rows[1:] {
		n, err := c.count(row, "Count", i+2)
		if err != nil {
			return nil, err
		}
		x := stats.ExceptionStats{Count: n, Message: c.str(row, "Message"), Traceback: c.str(row, "Traceback")}
		for _, node := range strings.Split(c.str(row, "Nodes"), ",") {
			if node = strings.TrimSpace(node); node != "" {
				x.Nodes = append(x.Nodes, node)
			}
		}
		out = append(out, x)
	}
	return out, nil
}

func parseRegions(path string, rows [][]string) ([]stats.RegionStats, error) {
	c, err := newColumns(path, rows[0], "Region", "Type", "Name", "Request Count")
	if err != nil {
		return nil, err
	}
	byName := map[string]*stats.RegionStats{}
	var order []string
	for i, row := range rows[1:] {
		e, err := c.entry(row, i+2)
		if err != nil {
			return nil, err
		}
		name := c.str(row, "Region")
		r := byName[name]
		if r == nil {
			r = &stats.RegionStats{Region: name, Total: stats.EntryStats{Name: "Aggregated"}}
			byName[name] = r
			order = append(order, name)
		}
		if isAggregated(e.Method, e.Name) {
			e.Method = ""
			r.Total = e
		} else {
			r.Entries = append(r.Entries, e)
		}
	}
	out := make([]stats.RegionStats, 0, len(order))
	for _, n := range order {
		out = append(out, *byName[n])
	}
	return out, nil
}
