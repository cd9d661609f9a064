package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
)

// charts returns the data of the page's line charts by title.
func charts(t *testing.T, page string) map[string]chartJSON {
	t.Helper()
	const open = `<script type="application/json" class="chart-data">`
	out := map[string]chartJSON{}
	for rest := page; ; {
		i := strings.Index(rest, open)
		if i < 0 {
			return out
		}
		rest = rest[i+len(open):]
		j := strings.Index(rest, "</script>")
		var c chartJSON
		if err := json.Unmarshal([]byte(rest[:j]), &c); err != nil {
			t.Fatalf("chart data: %v", err)
		}
		out[c.Title] = c
	}
}

func seriesNamed(c chartJSON, label string) []*float64 {
	for _, s := range c.Series {
		if s.Label == label {
			return s.Values
		}
	}
	return nil
}

// TestEntryResponseTimeChartsFromRun draws p50/p95/p99 over time of the
// run's top names from the per-name points of its history.
func TestEntryResponseTimeChartsFromRun(t *testing.T) {
	doc := fullDocument()
	n := maxEntryCharts + 2
	for i := range doc.Stats.History {
		e := map[string]stats.Point{}
		for k := range n {
			p := stats.Point{RPS: float64(k), Requests: int64((k + 1) * (i + 1))}
			if i > 0 { // the first point has no requests in its window
				p.P50, p.P95, p.P99 = float64(10*k+i), float64(20*k+i), float64(30*k+i)
			}
			e[fmt.Sprintf("GET /n%02d", k)] = p
		}
		doc.Stats.History[i].Entries = e
	}
	var buf bytes.Buffer
	if err := Render(&buf, FromDocument(doc, "this run")); err != nil {
		t.Fatal(err)
	}
	cs := charts(t, buf.String())
	if c, ok := cs["Requests per second by request"]; !ok || len(c.Series) != n {
		t.Errorf("requests per second by request: %d series, want %d", len(c.Series), n)
	}
	// One chart compares the top names' p95 side by side.
	cmp, ok := cs["p95 response time by request"]
	if !ok || len(cmp.Series) != maxEntryCharts {
		t.Errorf("p95 by request: %d series (present %v), want %d", len(cmp.Series), ok, maxEntryCharts)
	}
	for k := n - maxEntryCharts; k < n && ok; k++ {
		v := seriesNamed(cmp, fmt.Sprintf("GET /n%02d", k))
		if len(v) != len(doc.Stats.History) || v[0] != nil || v[1] == nil || *v[1] != float64(20*k+1) {
			t.Errorf("p95 by request, GET /n%02d: %v", k, v)
		}
	}
	for k := range n {
		c, ok := cs[fmt.Sprintf("Response time of GET /n%02d", k)]
		if k < n-maxEntryCharts { // the names with the fewest requests
			if ok {
				t.Errorf("GET /n%02d has a chart; only the top %d names should", k, maxEntryCharts)
			}
			continue
		}
		if !ok {
			t.Errorf("no response-time chart for GET /n%02d", k)
			continue
		}
		p95 := seriesNamed(c, "p95")
		if len(p95) != len(doc.Stats.History) || p95[0] != nil {
			t.Fatalf("GET /n%02d p95 = %v; want %d points, the first a gap", k, p95, len(doc.Stats.History))
		}
		for i := 1; i < len(p95); i++ {
			if p95[i] == nil || *p95[i] != float64(20*k+i) {
				t.Errorf("GET /n%02d p95 at point %d = %v, want %d", k, i, p95[i], 20*k+i)
				break
			}
		}
	}
}

// TestEntryResponseTimeChartsFromLocustCSV draws the per-name
// percentiles of a Locust --csv-full-history file, N/A cells as gaps.
func TestEntryResponseTimeChartsFromLocustCSV(t *testing.T) {
	base := filepath.Join("testdata", "locust", "locust_full")
	d, err := FromCSV(base)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Render(&buf, d); err != nil {
		t.Fatal(err)
	}
	cs := charts(t, buf.String())
	c, ok := cs["Response time of GET /"]
	if !ok {
		t.Fatalf("no response-time chart for GET /; charts: %v", keysOf(cs))
	}
	want := map[float64]string{} // time → the CSV's 95% cell
	rows := readRows(t, base+"_stats_history.csv")
	for _, r := range rows[1:] {
		if r[2] == "GET" && r[3] == "/" {
			ts, _ := strconv.ParseFloat(r[0], 64)
			want[ts] = r[11]
		}
	}
	p95 := seriesNamed(c, "p95")
	checked := 0
	for i, x := range c.X {
		cell, ok := want[x]
		if !ok {
			continue
		}
		checked++
		if cell == "N/A" {
			if p95[i] != nil {
				t.Errorf("at %v the CSV has N/A, the chart %v", x, *p95[i])
			}
			continue
		}
		v, _ := strconv.ParseFloat(cell, 64)
		if p95[i] == nil || *p95[i] != v {
			t.Errorf("at %v the CSV has p95 %s, the chart %v", x, cell, p95[i])
		}
	}
	if checked < 5 {
		t.Errorf("only %d points of GET / compared", checked)
	}
}

func keysOf(m map[string]chartJSON) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestReportAfterReset: a report of statistics reset during the run says
// when, and what time its numbers cover.
func TestReportAfterReset(t *testing.T) {
	doc := fullDocument()
	at := doc.Run.Start.Add(20 * time.Second)
	doc.Stats.ResetAt = &at
	var buf bytes.Buffer
	if err := Render(&buf, FromDocument(doc, "this run")); err != nil {
		t.Fatal(err)
	}
	text := pageText(t, buf.String())
	want := "|Statistics reset|statistics reset at 10:00:20 UTC: the tables, rates and percentiles cover the last " +
		doc.Run.End.Sub(at).Round(time.Second).String() + " of the run|"
	if !strings.Contains(text, want) {
		t.Errorf("report lacks %q:\n%s", want, text)
	}
	if !strings.Contains(buf.String(), "Statistics reset at 10:00:20 UTC (Reset stats)") {
		t.Error("report has no note about the reset")
	}
	// Without a reset, no such row.
	doc.Stats.ResetAt = nil
	buf.Reset()
	if err := Render(&buf, FromDocument(doc, "this run")); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "Statistics reset") {
		t.Error("a report without a reset mentions one")
	}
}
