package report

import (
	"bytes"
	"encoding/csv"
	"html"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	xhtml "golang.org/x/net/html"

	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/stats"
)

// The fixtures under testdata/locust were written by Locust 2.12.1
// (Debian's python3-locust) running testdata/locust/locustfile.py
// headless for 14 s against `stampede demo` on loopback: "locust_*" with
// --csv, "locust_full_*" with --csv-full-history too.

func readRows(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// cellMs formats a CSV time cell as the report does.
func cellMs(t *testing.T, s string) string {
	if s == "N/A" {
		return "n/a"
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("cell %q: %v", s, err)
	}
	return output.FormatMs(v)
}

func TestLocustCSV(t *testing.T) {
	for _, prefix := range []string{"locust", "locust_full"} {
		t.Run(prefix, func(t *testing.T) {
			base := filepath.Join("testdata", "locust", prefix)
			d, err := FromCSV(base)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := Render(&buf, d); err != nil {
				t.Fatal(err)
			}
			page := buf.String()
			text := pageText(t, page)

			rows := readRows(t, base+"_stats.csv")
			head := rows[0]
			col := func(name string) int {
				for i, h := range head {
					if h == name {
						return i
					}
				}
				t.Fatalf("no column %s", name)
				return -1
			}
			if len(d.Doc.Stats.Entries) != len(rows)-2 {
				t.Fatalf("%d entries, want %d", len(d.Doc.Stats.Entries), len(rows)-2)
			}
			for _, r := range rows[1:] {
				typ, name := r[col("Type")], r[col("Name")]
				var e stats.EntryStats
				if name == "Aggregated" && typ == "" {
					e = d.Doc.Stats.Total
				} else {
					found := false
					for _, x := range d.Doc.Stats.Entries {
						if x.Method == typ && x.Name == name {
							e, found = x, true
						}
					}
					if !found {
						t.Fatalf("entry %s %s missing", typ, name)
					}
				}
				if strconv.FormatInt(e.Requests, 10) != r[col("Request Count")] || strconv.FormatInt(e.Failures, 10) != r[col("Failure Count")] {
					t.Errorf("%s %s: requests/failures %d/%d, CSV %s/%s", typ, name, e.Requests, e.Failures, r[col("Request Count")], r[col("Failure Count")])
				}
				// The report's percentile row for this entry holds exactly the CSV's cells.
				var want []string
				want = append(want, typ, name)
				for _, p := range stats.PercentileSet {
					want = append(want, cellMs(t, r[col(stats.PercentileLabel(p))]))
				}
				want = append(want, r[col("Request Count")])
				if !strings.Contains(text, "|"+strings.Join(want, "|")+"|") {
					t.Errorf("percentile row %v not in the report", want)
				}
				rps, _ := strconv.ParseFloat(r[col("Requests/s")], 64)
				stat := []string{typ, name, r[col("Request Count")], r[col("Failure Count")]}
				if !strings.Contains(text, "|"+strings.Join(stat, "|")+"|") {
					t.Errorf("statistics row %v not in the report", stat)
				}
				for _, c := range []string{"Average Response Time", "Min Response Time", "Max Response Time", "Median Response Time"} {
					if !strings.Contains(text, "|"+cellMs(t, r[col(c)])+"|") {
						t.Errorf("%s %s: %s %s not in the report", typ, name, c, r[col(c)])
					}
				}
				if !strings.Contains(text, "|"+strconv.FormatFloat(rps, 'f', 2, 64)+"|") {
					t.Errorf("%s %s: req/s %.2f not in the report", typ, name, rps)
				}
			}
			// History: every Aggregated row is a point, the N/A one a gap.
			hist := readRows(t, base+"_stats_history.csv")
			var agg int
			for _, r := range hist[1:] {
				if r[3] == "Aggregated" {
					agg++
				}
			}
			if len(d.Doc.Stats.History) != agg || agg < 5 {
				t.Errorf("%d history points, want %d (>= 5)", len(d.Doc.Stats.History), agg)
			}
			if !d.HistoryNA[0] || d.HistoryNA[len(d.HistoryNA)-1] {
				t.Errorf("N/A marks %v: want the first point (no requests yet) only", d.HistoryNA)
			}
			if d.FullHistory != (prefix == "locust_full") {
				t.Errorf("FullHistory = %v", d.FullHistory)
			}
			failures := readRows(t, base+"_failures.csv")
			if len(d.Doc.Stats.Errors) != len(failures)-1 {
				t.Errorf("%d failure rows, want %d", len(d.Doc.Stats.Errors), len(failures)-1)
			}
			for _, f := range failures[1:] {
				if !strings.Contains(text, "|"+strings.Join(f, "|")+"|") {
					t.Errorf("failure row %v not in the report", f)
				}
			}
			if len(d.Doc.Stats.Exceptions) != 1 || d.Doc.Stats.Exceptions[0].Message != "script bug on purpose" || !strings.Contains(d.Doc.Stats.Exceptions[0].Traceback, "locustfile.py") {
				t.Errorf("exceptions = %+v", d.Doc.Stats.Exceptions)
			}
			for _, want := range []string{"not recorded in CSV files", "Not available: CSV files hold percentiles", "Peak users", "Requests and failures per second", "script bug on purpose", "CSV files do not record the script's classes"} {
				if !strings.Contains(page, want) {
					t.Errorf("report lacks %q", want)
				}
			}
			assertSelfContained(t, page, "http://127.0.0.1:18095/") // the failure messages name the target
		})
	}
}

// pageText flattens the page's table cells to "|cell|cell|…|" per row,
// with the text unescaped, so tests can look for whole rows.
func pageText(t *testing.T, page string) string {
	t.Helper()
	doc, err := xhtml.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var text func(n *xhtml.Node) string
	text = func(n *xhtml.Node) string {
		if n.Type == xhtml.TextNode {
			return n.Data
		}
		var s strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			s.WriteString(text(c))
		}
		return s.String()
	}
	var walk func(n *xhtml.Node)
	walk = func(n *xhtml.Node) {
		if n.Type == xhtml.ElementNode && n.Data == "tr" {
			b.WriteString("|")
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == xhtml.ElementNode && (c.Data == "td" || c.Data == "th") {
					b.WriteString(strings.TrimSpace(html.UnescapeString(text(c))) + "|")
				}
			}
			b.WriteString("\n")
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return b.String()
}

// assertSelfContained fails when the page could make any request when
// opened: an element that loads something, an attribute pointing outside
// the page, a CSS url() or @import.
func assertSelfContained(t *testing.T, page string, allowedURLs ...string) {
	t.Helper()
	var sawLib, sawInit bool
	z := xhtml.NewTokenizer(strings.NewReader(page))
	loaders := map[string]bool{"link": true, "img": true, "iframe": true, "object": true, "embed": true, "audio": true, "video": true, "source": true, "image": true, "use": true, "base": true, "frame": true}
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			break
		}
		if tt != xhtml.StartTagToken && tt != xhtml.SelfClosingTagToken {
			if tt == xhtml.TextToken {
				s := strings.ToLower(string(z.Text()))
				if strings.Contains(s, "url(") || strings.Contains(s, "@import") || strings.Contains(s, "@font-face") {
					t.Errorf("page text has a CSS reference: %.80q", s)
				}
			}
			continue
		}
		tok := z.Token()
		if loaders[tok.Data] {
			t.Errorf("page has a <%s> element", tok.Data)
		}
		for _, a := range tok.Attr {
			key := strings.ToLower(a.Key)
			val := strings.TrimSpace(strings.ToLower(a.Val))
			switch key {
			case "src", "srcset", "action", "formaction", "poster", "background", "data", "xlink:href", "ping", "manifest", "xmlns":
				t.Errorf("<%s %s=%q> refers to a resource", tok.Data, key, a.Val)
			case "href":
				if !strings.HasPrefix(val, "#") {
					t.Errorf("<%s href=%q> leaves the page", tok.Data, a.Val)
				}
			case "style":
				if strings.Contains(val, "url(") {
					t.Errorf("<%s style=%q> loads a resource", tok.Data, a.Val)
				}
			}
			if strings.Contains(val, "://") && key != "content" && key != "aria-label" {
				t.Errorf("<%s %s=%q> holds a URL", tok.Data, key, a.Val)
			}
		}
		if tok.Data == "script" {
			typ := ""
			for _, a := range tok.Attr {
				if a.Key == "type" {
					typ = a.Val
				}
			}
			if typ == "application/json" {
				continue
			}
			// Code may only be the vendored uPlot and the report's own
			// init script, byte for byte.
			z.Next()
			code := string(z.Text())
			switch {
			case typ != "":
				t.Errorf("page has a script of type %q", typ)
			case code == libJS():
				sawLib = true
			case code == initJS:
				sawInit = true
			default:
				t.Errorf("page has an unknown inline script: %.80q", code)
			}
		}
	}
	if !sawLib || !sawInit {
		t.Errorf("page lacks uPlot (%v) or its init script (%v)", sawLib, sawInit)
	}
	// No address of any other place, anywhere: the only "://" allowed are
	// the run's own host, which is data shown in the page.
	rest := page
	for _, h := range allowedURLs {
		rest = strings.ReplaceAll(rest, h, "")
	}
	if i := strings.Index(rest, "://"); i >= 0 {
		t.Errorf("page holds a URL: %q", rest[max(0, i-40):min(len(rest), i+40)])
	}
}

func fullDocument() *output.Document {
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	entry := func(method, name string, req, fail int64, base float64) stats.EntryStats {
		e := stats.EntryStats{Method: method, Name: name, Requests: req, Failures: fail, AvgMs: base * 1.2, MinMs: base / 3, MaxMs: base * 9,
			AvgContentSize: 512, TotalContentBytes: 512 * req, RPS: float64(req) / 30, FailPerSec: float64(fail) / 30}
		for i, p := range stats.PercentileSet {
			e.Percentiles[i] = base * (1 + p/25)
		}
		e.MedianMs = e.Percentiles.At(50)
		return e
	}
	var hist []stats.Point
	for i := 0; i < 30; i++ {
		p := stats.Point{Time: start.Add(time.Duration(i) * time.Second), Users: min(10, i), RPS: float64(i), FailPerSec: 0.1 * float64(i%3),
			P50: 10 + float64(i%5), P95: 40 + float64(i%7), P99: 90, Requests: int64(i * 10)}
		p.Regions = map[string]stats.Point{"eastus": {RPS: float64(i) / 2, P95: 35}, "westeurope": {RPS: float64(i) / 2, P95: 48}}
		hist = append(hist, p)
	}
	return &output.Document{
		Run: output.RunInfo{ID: "20261127-100000-brave-otter", Version: "v0.9.0", Script: "examples/shop.star", ScriptSHA256: "ab12",
			Host: "https://shop.example.com", Model: output.ModelClosed, Users: 10, SpawnRate: 2, RunTimeSeconds: 30,
			Start: start, End: start.Add(30 * time.Second), Regions: []string{"eastus", "westeurope"}, WorkerCount: 2, StopReason: "run time elapsed"},
		Stats: &stats.Summary{
			Start: start, End: start.Add(30 * time.Second),
			Entries:    []stats.EntryStats{entry("GET", "/", 200, 0, 10), entry("POST", "/checkout <fast>", 100, 3, 40)},
			Total:      entry("", "Aggregated", 300, 3, 20),
			Errors:     []stats.ErrorStats{{Method: "POST", Name: "/checkout <fast>", Error: "HTTP 500 <b>", Occurrences: 3}},
			Exceptions: []stats.ExceptionStats{{Count: 1, Message: "boom", Traceback: "File \"x.star\", line 3\n  in task", Nodes: []string{"w1"}}},
			Regions: []stats.RegionStats{
				{Region: "eastus", Entries: []stats.EntryStats{entry("GET", "/", 100, 0, 9)}, Total: entry("", "Aggregated", 150, 0, 18)},
				{Region: "westeurope", Entries: []stats.EntryStats{entry("GET", "/", 100, 0, 11)}, Total: entry("", "Aggregated", 150, 3, 22)},
			},
			WorkerTotals: []stats.WorkerTotal{{Worker: "w1", Total: entry("", "Aggregated", 150, 0, 18)}},
			History:      hist,
			Distribution: []stats.Bucket{{UpperMs: 5.01, Count: 20}, {UpperMs: 10, Count: 180}, {UpperMs: 39.8, Count: 100}},
		},
		Thresholds: []output.ThresholdResult{
			{Expr: "p95<500ms", Metric: "p95", Value: 95.2, Passed: true},
			{Expr: "error_rate<0.5%", Metric: "error_rate", Value: 0.01, Passed: false, Message: "error_rate = 1%, wanted < 0.5%"},
		},
		Workers: []output.WorkerInfo{{ID: "w1", Region: "eastus", Host: "10.0.0.4", State: "stopped", Users: 5, LastHeartbeat: start}},
		Lost:    []output.LostWorker{{ID: "w2", Region: "westeurope", Users: 5, LostAt: start.Add(20 * time.Second), Reason: "no heartbeat for 15s"}},
	}
}

func TestRenderFullDocument(t *testing.T) {
	doc := fullDocument()
	var buf bytes.Buffer
	if err := Render(&buf, FromDocument(doc, "this run")); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	assertSelfContained(t, page, doc.Run.Host)
	text := pageText(t, page)
	for _, want := range []string{
		"20261127-100000-brave-otter", "examples/shop.star", "https://shop.example.com", "v0.9.0", "eastus, westeurope",
		"FAILED", "error_rate = 1%, wanted &lt; 0.5%", "/checkout &lt;fast&gt;", "HTTP 500 &lt;b&gt;",
		"Requests per second by region", "p95 response time by region", "Response time distribution", "Lost workers",
		"no heartbeat for 15s", "Users", `id="stampede-data"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(page, "HTTP 500 <b>") {
		t.Error("unescaped markup from the data")
	}
	for _, row := range []string{
		"|eastus|150|0|0.00%|21.6|",                 // region table
		"|≤ 10 ms|180 (60.00%, cumulative 66.67%)|", // distribution buckets
		"|error_rate<0.5%|error_rate|1%|FAIL|error_rate = 1%, wanted < 0.5%|",
		"|p95<500ms|p95|95.2 ms|pass||",
		"|w1|eastus|10.0.0.4|stopped|5|",
	} {
		if !strings.Contains(text, row) {
			t.Errorf("row %q not in the report", row)
		}
	}
	// The embedded data reads back as the document.
	i := strings.Index(page, `id="stampede-data">`)
	j := strings.Index(page[i:], "</script>")
	back, err := output.DecodeJSON(strings.NewReader(page[i+len(`id="stampede-data">`) : i+j]))
	if err != nil {
		t.Fatalf("embedded JSON: %v", err)
	}
	if back.Run.ID != doc.Run.ID || back.Stats.Total.Requests != 300 {
		t.Errorf("embedded JSON = %+v", back.Run)
	}
	// It names its format, as the --json summary does, though the
	// document given had none.
	if back.Format != output.Format || doc.Format != "" {
		t.Errorf("embedded format %q (document's %q), want %q", back.Format, doc.Format, output.Format)
	}
}

func TestFromJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.json")
	if err := output.WriteJSON(path, fullDocument()); err != nil {
		t.Fatal(err)
	}
	d, err := FromJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "sub", "report.html")
	if err := WriteFile(out, d); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "brave-otter") || !strings.Contains(string(b), "JSON summary "+path) {
		t.Error("report from JSON lacks the run")
	}
	if _, err := FromJSON(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("no error for a missing file")
	}
}

func TestFromCSVErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := FromCSV(filepath.Join(dir, "none")); err == nil || !strings.Contains(err.Error(), "none_stats.csv") {
		t.Errorf("missing stats: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "bad_stats.csv"), []byte("a,b\n1,2\n"), 0o644)
	if _, err := FromCSV(filepath.Join(dir, "bad")); err == nil || !strings.Contains(err.Error(), `no "Type" column`) {
		t.Errorf("bad header: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "num_stats.csv"), []byte("Type,Name,Request Count,Failure Count\nGET,/,x,0\n"), 0o644)
	if _, err := FromCSV(filepath.Join(dir, "num")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad number: %v", err)
	}
	// Only a stats file: everything else is shown as not available.
	os.WriteFile(filepath.Join(dir, "min_stats.csv"), []byte("Type,Name,Request Count,Failure Count\nGET,/,3,0\n"), 0o644)
	d, err := FromCSV(filepath.Join(dir, "min"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Render(&buf, d); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"no failures CSV file", "no exceptions CSV file", "no Aggregated row", "charts over time are not available"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestStampedeCSVRoundTrip(t *testing.T) {
	doc := fullDocument()
	prefix := filepath.Join(t.TempDir(), "run")
	c, err := output.OpenCSV(prefix, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range doc.Stats.History[:3] {
		if err := c.History(p.Time, p.Users, doc.Stats); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Finish(doc.Stats); err != nil {
		t.Fatal(err)
	}
	d, err := FromCSV(prefix)
	if err != nil {
		t.Fatal(err)
	}
	s := d.Doc.Stats
	if len(s.Regions) != 2 || s.Regions[1].Total.Failures != 3 || len(s.Regions[0].Entries) != 1 {
		t.Errorf("regions = %+v", s.Regions)
	}
	for i, v := range s.Total.Percentiles {
		if math.Abs(v-doc.Stats.Total.Percentiles[i]) > 0.0005 {
			t.Errorf("total percentile %d = %v, want %v", i, v, doc.Stats.Total.Percentiles[i])
		}
	}
	if s.Total.Requests != 300 {
		t.Errorf("total = %+v", s.Total)
	}
	if len(s.History) != 3 || !d.FullHistory {
		t.Errorf("history %d points, full %v", len(s.History), d.FullHistory)
	}
}

// TestRenderWithNaN: one NaN in the document (a worker's CPU use) no
// longer stops the HTML report from being written.
func TestRenderWithNaN(t *testing.T) {
	doc := fullDocument()
	doc.Workers[0].CPUPercent = math.NaN()
	doc.Stats.Total.AvgMs = math.Inf(1)
	var buf bytes.Buffer
	if err := Render(&buf, FromDocument(doc, "this run")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `id="stampede-data"`) {
		t.Fatal("no embedded data")
	}
}
