package output

import (
	"bytes"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
)

const (
	wantStatsHeader   = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
	wantHistoryHeader = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size"
	wantFailures      = "Method,Name,Error,Occurrences"
	wantExceptions    = "Count,Message,Traceback,Nodes"
)

func TestHeaders(t *testing.T) {
	tests := []struct {
		name  string
		write func(io.Writer, *stats.Summary) error
		want  string
	}{
		{"stats", WriteStatsCSV, wantStatsHeader},
		{"failures", WriteFailuresCSV, wantFailures},
		{"exceptions", WriteExceptionsCSV, wantExceptions},
		{"regions", WriteRegionsCSV, "Region," + wantStatsHeader},
		{"history", func(w io.Writer, _ *stats.Summary) error { return WriteHistoryHeader(w) }, wantHistoryHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(&b, emptySummary()); err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(b.String(), "\r\n")
			if first != tt.want {
				t.Errorf("header\n got %s\nwant %s", first, tt.want)
			}
		})
	}
}

func TestCSVGolden(t *testing.T) {
	s := fixtureSummary(t)
	now := fixtureStart.Add(10 * time.Second)
	tests := []struct {
		file  string
		write func(io.Writer) error
	}{
		{"stats.csv.golden", func(w io.Writer) error { return WriteStatsCSV(w, s) }},
		{"failures.csv.golden", func(w io.Writer) error { return WriteFailuresCSV(w, s) }},
		{"exceptions.csv.golden", func(w io.Writer) error { return WriteExceptionsCSV(w, s) }},
		{"regions.csv.golden", func(w io.Writer) error { return WriteRegionsCSV(w, s) }},
		{"stats_history.csv.golden", func(w io.Writer) error {
			if err := WriteHistoryHeader(w); err != nil {
				return err
			}
			return WriteHistoryRows(w, now, 30, s, false)
		}},
		{"stats_history_full.csv.golden", func(w io.Writer) error {
			if err := WriteHistoryHeader(w); err != nil {
				return err
			}
			return WriteHistoryRows(w, now, 30, s, true)
		}},
		{"empty_stats.csv.golden", func(w io.Writer) error { return WriteStatsCSV(w, emptySummary()) }},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.file, b.Bytes())
		})
	}
}

// readCSV parses b with encoding/csv, checking every row has the header's
// number of fields.
func readCSV(t *testing.T, b []byte) (header []string, rows [][]string) {
	t.Helper()
	all, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("encoding/csv cannot read the output: %v\n%s", err, b)
	}
	if len(all) == 0 {
		t.Fatal("no header")
	}
	return all[0], all[1:]
}

func colIndex(t *testing.T, header []string, name string) int {
	t.Helper()
	for i, h := range header {
		if h == name {
			return i
		}
	}
	t.Fatalf("no column %q in %v", name, header)
	return -1
}

func TestStatsCSVParses(t *testing.T) {
	s := fixtureSummary(t)
	var b bytes.Buffer
	if err := WriteStatsCSV(&b, s); err != nil {
		t.Fatal(err)
	}
	header, rows := readCSV(t, b.Bytes())
	if got := strings.Join(header, ","); got != wantStatsHeader {
		t.Fatalf("header %s", got)
	}
	if len(rows) != len(s.Entries)+1 {
		t.Fatalf("%d rows, want %d entries and the Aggregated row", len(rows), len(s.Entries))
	}
	agg := rows[len(rows)-1]
	if agg[0] != "" || agg[1] != "Aggregated" {
		t.Fatalf("last row is %q %q, want the Aggregated row with an empty Type", agg[0], agg[1])
	}
	// The Aggregated counts are the sums of the entries'.
	var reqs, fails int64
	for _, r := range rows[:len(rows)-1] {
		n, _ := strconv.ParseInt(r[2], 10, 64)
		f, _ := strconv.ParseInt(r[3], 10, 64)
		reqs += n
		fails += f
	}
	if agg[2] != strconv.FormatInt(reqs, 10) || agg[3] != strconv.FormatInt(fails, 10) {
		t.Errorf("Aggregated counts %s/%s, entries sum to %d/%d", agg[2], agg[3], reqs, fails)
	}
	if reqs != s.Total.Requests || fails != s.Total.Failures {
		t.Errorf("sums %d/%d, summary total %d/%d", reqs, fails, s.Total.Requests, s.Total.Failures)
	}
	// Every number cell parses as a float, and the percentiles rise.
	for _, r := range rows {
		for i := 2; i < len(r); i++ {
			if _, err := strconv.ParseFloat(r[i], 64); err != nil {
				t.Errorf("row %q column %s: %q is not a number", r[1], header[i], r[i])
			}
		}
		prev := -1.0
		for _, p := range stats.PercentileSet {
			v, _ := strconv.ParseFloat(r[colIndex(t, header, stats.PercentileLabel(p))], 64)
			if v < prev {
				t.Errorf("row %q: %v%% = %v below the previous percentile %v", r[1], p, v, prev)
			}
			prev = v
		}
		maxV, _ := strconv.ParseFloat(r[colIndex(t, header, "Max Response Time")], 64)
		if prev != maxV {
			t.Errorf("row %q: 100%% = %v, max = %v", r[1], prev, maxV)
		}
	}
	// Sorted by name, then method, like Locust's sort_stats.
	for i := 1; i < len(rows)-1; i++ {
		a, b := rows[i-1], rows[i]
		if a[1] > b[1] || (a[1] == b[1] && a[0] > b[0]) {
			t.Errorf("rows out of order: %q %q before %q %q", a[0], a[1], b[0], b[1])
		}
	}
	// A name with a comma and quotes survives.
	found := false
	for _, r := range rows {
		found = found || r[1] == `/search?q=a,b "c"`
	}
	if !found {
		t.Error("the quoted name did not read back")
	}
}

func TestEmptyEntryIsNA(t *testing.T) {
	var b bytes.Buffer
	if err := WriteStatsCSV(&b, emptySummary()); err != nil {
		t.Fatal(err)
	}
	header, rows := readCSV(t, b.Bytes())
	if len(rows) != 1 {
		t.Fatalf("rows %v, want only the Aggregated row", rows)
	}
	for _, p := range stats.PercentileSet {
		if v := rows[0][colIndex(t, header, stats.PercentileLabel(p))]; v != "N/A" {
			t.Errorf("%v%% = %q, want N/A", p, v)
		}
	}
	if got := rows[0][colIndex(t, header, "Requests/s")]; got != "0.0" {
		t.Errorf("Requests/s = %q, want Locust's 0.0", got)
	}
}

func TestHistoryRows(t *testing.T) {
	s := fixtureSummary(t)
	now := fixtureStart.Add(10 * time.Second)
	for _, full := range []bool{false, true} {
		var b bytes.Buffer
		if err := WriteHistoryHeader(&b); err != nil {
			t.Fatal(err)
		}
		if err := WriteHistoryRows(&b, now, 30, s, full); err != nil {
			t.Fatal(err)
		}
		header, rows := readCSV(t, b.Bytes())
		want := 1
		if full {
			want += len(s.Entries)
		}
		if len(rows) != want {
			t.Fatalf("full=%v: %d rows, want %d", full, len(rows), want)
		}
		agg := rows[len(rows)-1]
		if agg[colIndex(t, header, "Name")] != "Aggregated" || agg[colIndex(t, header, "Type")] != "" {
			t.Errorf("full=%v: last row %v", full, agg)
		}
		if agg[0] != strconv.FormatInt(now.Unix(), 10) || agg[1] != "30" {
			t.Errorf("full=%v: timestamp/users %q %q", full, agg[0], agg[1])
		}
		rps := agg[colIndex(t, header, "Requests/s")]
		if i := strings.IndexByte(rps, '.'); i < 0 || len(rps)-i-1 != 6 {
			t.Errorf("Requests/s %q, want Locust's %%f format (6 decimals)", rps)
		}
	}
}

func TestFormatMs(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {12, "12"}, {12.5, "12.5"}, {0.0421, "0.042"}, {0.0004, "0"},
		{1234.5678, "1234.568"}, {99.9999, "100"}, {250.1, "250.1"},
	}
	for _, tt := range tests {
		if got := FormatMs(tt.in); got != tt.want {
			t.Errorf("FormatMs(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPyFloat(t *testing.T) {
	// Expected values are Python 3's repr(float).
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0.0"}, {1, "1.0"}, {41.13333333333333, "41.13333333333333"}, {0.1, "0.1"},
		{1e-4, "0.0001"}, {1.5e-5, "1.5e-05"}, {1e15, "1000000000000000.0"}, {1e16, "1e+16"},
		{123456.789, "123456.789"}, {2.0 / 3, "0.6666666666666666"},
	}
	for _, tt := range tests {
		if got := pyFloat(tt.in); got != tt.want {
			t.Errorf("pyFloat(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCSVQuoting(t *testing.T) {
	// Python's csv.writer (excel dialect) output for the same rows.
	tests := []struct {
		row  []string
		want string
	}{
		{[]string{"GET", "/a"}, "GET,/a\r\n"},
		{[]string{"", "Aggregated"}, ",Aggregated\r\n"},
		{[]string{"a,b", `say "hi"`}, "\"a,b\",\"say \"\"hi\"\"\"\r\n"},
		{[]string{" lead", "line1\nline2"}, " lead,\"line1\nline2\"\r\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		cw := newCSVWriter(&b)
		cw.row(tt.row)
		if cw.err != nil || b.String() != tt.want {
			t.Errorf("row %q: got %q (%v), want %q", tt.row, b.String(), cw.err, tt.want)
		}
	}
}

func TestCSVFiles(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "results", "run1")
	tests := []struct {
		name        string
		fullHistory bool
		regions     bool
	}{
		{"aggregated history", false, true},
		{"full history", true, true},
		{"no regions", false, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := prefix + strconv.Itoa(i)
			agg := fixtureAggregate(t)
			c, err := OpenCSV(prefix, tt.fullHistory)
			if err != nil {
				t.Fatal(err)
			}
			// The header is on disk at once.
			b, err := os.ReadFile(prefix + SuffixHistory)
			if err != nil || string(b) != wantHistoryHeader+"\r\n" {
				t.Fatalf("history after open: %q %v", b, err)
			}
			var last *stats.Summary
			for sec := 1; sec <= 3; sec++ {
				now := fixtureStart.Add(time.Duration(sec) * time.Second)
				last = agg.Snapshot(now, false)
				if !tt.regions {
					last.Regions = nil
				}
				if err := c.History(now, 10*sec, last); err != nil {
					t.Fatal(err)
				}
			}
			// Before Finish, as if the process were killed: whole rows only.
			b, _ = os.ReadFile(prefix + SuffixHistory)
			_, rows := readCSV(t, b)
			wantRows := 3 // one Aggregated row per call
			if tt.fullHistory {
				wantRows += len(agg.Snapshot(fixtureStart.Add(time.Second), false).Entries) +
					len(agg.Snapshot(fixtureStart.Add(2*time.Second), false).Entries) + len(last.Entries)
			}
			if len(rows) != wantRows {
				t.Fatalf("%d history rows before Finish, want %d", len(rows), wantRows)
			}
			if err := c.Finish(last); err != nil {
				t.Fatal(err)
			}
			if err := c.History(fixtureStart, 1, last); err == nil {
				t.Error("History after Finish succeeded")
			}
			for _, p := range c.Paths(last) {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				readCSV(t, b)
			}
			_, err = os.Stat(prefix + SuffixRegions)
			if tt.regions != (err == nil) {
				t.Errorf("regions file exists = %v, want %v", err == nil, tt.regions)
			}
			b, _ = os.ReadFile(prefix + SuffixStats)
			var want bytes.Buffer
			_ = WriteStatsCSV(&want, last)
			if !bytes.Equal(b, want.Bytes()) {
				t.Error("_stats.csv is not what WriteStatsCSV writes")
			}
			b, _ = os.ReadFile(prefix + SuffixHistory)
			if _, rows = readCSV(t, b); len(rows) != wantRows {
				t.Errorf("%d history rows after Finish, want %d", len(rows), wantRows)
			}
			left, _ := filepath.Glob(filepath.Join(filepath.Dir(prefix), ".*tmp*"))
			if len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
			if err := c.Close(); err != nil {
				t.Errorf("Close after Finish: %v", err)
			}
		})
	}
}

func TestOpenCSVErrors(t *testing.T) {
	if _, err := OpenCSV("", false); err == nil {
		t.Error("empty prefix accepted")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCSV(filepath.Join(file, "sub", "run"), false); err == nil {
		t.Error("prefix under a regular file accepted")
	}
}

// A checkpoint from a tick that comes after Finish (the last tick races
// the end of the run) must not replace the final files with older ones.
func TestCheckpointAfterFinishKeepsTheFinalFiles(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "run")
	c, err := OpenCSV(prefix, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Checkpoint(emptySummary()); err != nil {
		t.Fatal(err)
	}
	final := fixtureSummary(t)
	if err := c.Finish(final); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(prefix + SuffixStats)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Checkpoint(emptySummary()); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(prefix + SuffixStats); !bytes.Equal(got, want) || len(final.Entries) == 0 {
		t.Errorf("a checkpoint after Finish rewrote the stats CSV:\n%s", got)
	}
}
