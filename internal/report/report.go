// Package report renders a run as one self-contained HTML file: the run's
// parameters, the summary, every request's statistics and percentiles,
// charts over time and of the response-time distribution, per-region
// tables and charts, failures, script errors and threshold verdicts.
//
// Every input goes through the same path: a run hands its output.Document
// to Render, `stampede report --json` reads one back, and `stampede report
// --csv` builds one from CSV files (Stampede's or Locust's). Whatever the
// input did not record is shown as not available, never made up.
//
// The file makes no request to any other host: styles, charts (inline SVG,
// and the vendored uPlot library with a small script that makes them
// interactive) are part of it, and the document itself is embedded as
// JSON for tools.
package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/stats"
)

// Data is what a report shows: a document and what is known about where it
// came from.
type Data struct {
	Doc *output.Document
	// Source says where the data came from, e.g. "CSV files out/run_*.csv".
	Source string
	// FromCSV marks data read from CSV files, which do not record the run's
	// configuration or the histogram.
	FromCSV bool
	// NoTotal, NoFailures and NoExceptions mark CSV inputs that lacked the
	// Aggregated row or the failures / exceptions file.
	NoTotal, NoFailures, NoExceptions bool
	// HistoryNA[i] is set when the percentiles of history point i were
	// "N/A" in the CSV (no requests yet); the chart leaves a gap there.
	HistoryNA []bool
	// FullHistory is set when the history CSV had per-entry rows
	// (--csv-full-history); EntryHistory holds them by "METHOD name".
	FullHistory  bool
	EntryHistory map[string][]EntryPoint
	// UsersFromHistory marks Doc.Run.Users as the peak of the history's
	// user counts rather than the configured number.
	UsersFromHistory bool
	// Notes are remarks about the input shown at the top.
	Notes []string
	// Generator names the program that made the report ("stampede v1.2.3").
	Generator string
	// Generated is when the report was made (default: now).
	Generated time.Time
}

// EntryPoint is one second of one entry's history. HasPct is false when
// the percentiles are not known there (N/A in a CSV file, no request in
// the window).
type EntryPoint struct {
	Time          time.Time
	RPS           float64
	FailPerSec    float64
	P50, P95, P99 float64
	HasPct        bool
	Requests      int64
}

// FromDocument wraps a run's document.
func FromDocument(doc *output.Document, source string) *Data {
	return &Data{Doc: doc, Source: source}
}

// FromJSON reads a JSON summary written by --json.
func FromJSON(path string) (*Data, error) {
	doc, err := output.ReadJSON(path)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if doc.Stats == nil {
		return nil, fmt.Errorf("report: %s has no stats", path)
	}
	return &Data{Doc: doc, Source: "JSON summary " + path}, nil
}

// WriteFile renders the report to path atomically.
func WriteFile(path string, d *Data) error {
	var buf bytes.Buffer
	if err := Render(&buf, d); err != nil {
		return err
	}
	return writeAtomic(path, buf.Bytes())
}

// writeAtomic writes b to path through a temporary file renamed over it.
func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	_, werr := f.Write(b)
	cerr := f.Close()
	if werr != nil || cerr != nil {
		os.Remove(f.Name())
		return fmt.Errorf("report: writing %s: %v", path, firstErr(werr, cerr))
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("report: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// Render writes the HTML report.
func Render(w io.Writer, d *Data) error {
	if d == nil || d.Doc == nil || d.Doc.Stats == nil {
		return fmt.Errorf("report: no statistics to render")
	}
	v, err := d.view()
	if err != nil {
		return err
	}
	if err := page().Execute(w, v); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// view is what the template reads: every cell already formatted.
type view struct {
	Title, Source, Generator, Generated string
	Notes                               []string
	Params                              []kv
	Cards                               []kv
	Thresholds                          []output.ThresholdResult
	HasThresholds, Passed               bool
	PctHeads                            []string
	Rows                                []row
	Total                               row
	HasTotal                            bool
	Charts                              []template.HTML
	HistoryNote                         string
	Distribution                        template.HTML
	DistRows                            []kv
	DistNA                              string
	Regions                             []regionView
	RegionCharts                        []template.HTML
	Workers                             []output.WorkerInfo
	Lost                                []output.LostWorker
	WorkerTotals                        []row
	Failures                            []stats.ErrorStats
	FailuresNA                          bool
	Exceptions                          []stats.ExceptionStats
	ExceptionsNA                        bool
	EntryCharts                         []template.HTML
	JSON                                template.JS
	Ratios                              *output.TaskRatios
	FromCSV                             bool
	UPlotJS, InitJS                     template.JS
	UPlotCSS                            template.CSS
}

type kv struct {
	K, V string
	NA   bool
	Bad  bool
}

type row struct {
	Method, Name             string
	Requests, Failures       string
	FailPct                  string
	Avg, Min, Max, Med       string
	RPS, FailRPS, Size       string
	Pcts                     []string
	Service                  bool
	SvcAvg, SvcMax           string
	SvcPcts                  []string
	HasFailures              bool
	RawRequests, RawFailures int64
}

type regionView struct {
	Name  string
	Rows  []row
	Total row
}

const na = "n/a"

func (d *Data) view() (*view, error) {
	doc, s := d.Doc, d.Doc.Stats
	v := &view{Source: d.Source, Generator: d.Generator, Notes: append([]string(nil), d.Notes...)}
	if at := s.ResetAt; at != nil {
		v.Notes = append(v.Notes, "Statistics reset at "+at.UTC().Format("15:04:05")+" UTC (Reset stats): the tables, rates, percentiles and distribution cover only the time since; the charts over time keep the earlier points.")
	}
	gen := d.Generated
	if gen.IsZero() {
		gen = time.Now()
	}
	v.Generated = gen.UTC().Format("2006-01-02 15:04:05 UTC")
	if v.Generator == "" {
		v.Generator = "stampede"
	}
	title := "Load test report"
	if doc.Run.Script != "" {
		title += ": " + filepath.Base(doc.Run.Script)
	}
	if !doc.Run.Start.IsZero() {
		title += " — " + doc.Run.Start.UTC().Format("2006-01-02 15:04 UTC")
	}
	v.Title = title
	v.Params = d.params()
	v.Cards = d.cards()
	v.Thresholds, v.HasThresholds, v.Passed = doc.Thresholds, len(doc.Thresholds) > 0, doc.ThresholdsPassed
	for _, p := range stats.PercentileSet {
		v.PctHeads = append(v.PctHeads, stats.PercentileLabel(p))
	}
	for _, e := range sorted(s.Entries) {
		v.Rows = append(v.Rows, makeRow(e))
	}
	v.Total, v.HasTotal = makeRow(s.Total), !d.NoTotal
	v.Total.Name = "Aggregated"
	d.charts(v)
	d.distribution(v)
	for _, r := range s.Regions {
		rv := regionView{Name: r.Region, Total: makeRow(r.Total)}
		rv.Total.Name = "Aggregated"
		for _, e := range sorted(r.Entries) {
			rv.Rows = append(rv.Rows, makeRow(e))
		}
		v.Regions = append(v.Regions, rv)
	}
	d.regionCharts(v)
	v.Workers, v.Lost = doc.Workers, doc.Lost
	v.Ratios, v.FromCSV = doc.Ratios, d.FromCSV
	for _, w := range s.WorkerTotals {
		r := makeRow(w.Total)
		r.Name = w.Worker
		v.WorkerTotals = append(v.WorkerTotals, r)
	}
	v.Failures, v.FailuresNA = s.Errors, d.NoFailures
	v.Exceptions, v.ExceptionsNA = s.Exceptions, d.NoExceptions
	d.entryCharts(v)
	// The embedded data is a JSON summary like --json's, format included
	// (a copy: the caller's document is left as it is).
	embedded := *doc
	if embedded.Format == "" {
		embedded.Format = output.Format
	}
	js, _, err := output.MarshalJSON(&embedded, "", true) // escapes <, > and &: safe inside <script>
	if err != nil {
		return nil, fmt.Errorf("report: encoding data: %w", err)
	}
	v.JSON = template.JS(js)
	v.UPlotJS, v.InitJS, v.UPlotCSS = scripts()
	return v, nil
}

func sorted(in []stats.EntryStats) []stats.EntryStats {
	out := append([]stats.EntryStats(nil), in...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Method < out[j].Method
	})
	return out
}

func makeRow(e stats.EntryStats) row {
	r := row{
		Method: e.Method, Name: e.Name,
		Requests: strconv.FormatInt(e.Requests, 10), Failures: strconv.FormatInt(e.Failures, 10),
		RawRequests: e.Requests, RawFailures: e.Failures, HasFailures: e.Failures > 0,
		RPS: fixed(e.RPS, 2), FailRPS: fixed(e.FailPerSec, 2),
	}
	if e.Requests == 0 {
		r.FailPct, r.Avg, r.Min, r.Max, r.Med, r.Size = na, na, na, na, na, na
		for range stats.PercentileSet {
			r.Pcts = append(r.Pcts, na)
		}
		return r
	}
	r.FailPct = fixed(100*float64(e.Failures)/float64(e.Requests), 2) + "%"
	r.Avg, r.Min, r.Max, r.Med = output.FormatMs(e.AvgMs), output.FormatMs(e.MinMs), output.FormatMs(e.MaxMs), output.FormatMs(e.MedianMs)
	r.Size = fixed(e.AvgContentSize, 0)
	for _, p := range e.Percentiles {
		r.Pcts = append(r.Pcts, output.FormatMs(p))
	}
	if e.Service != nil {
		r.Service = true
		r.SvcAvg, r.SvcMax = output.FormatMs(e.Service.AvgMs), output.FormatMs(e.Service.MaxMs)
		for _, p := range e.Service.Percentiles {
			r.SvcPcts = append(r.SvcPcts, output.FormatMs(p))
		}
	}
	return r
}

func fixed(v float64, digits int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return na
	}
	return strconv.FormatFloat(v, 'f', digits, 64)
}

func (d *Data) params() []kv {
	r := d.Doc.Run
	notRecorded := "not recorded"
	if d.FromCSV {
		notRecorded = "not recorded in CSV files"
	}
	str := func(k, v string) kv {
		if v == "" {
			return kv{K: k, V: notRecorded, NA: true}
		}
		return kv{K: k, V: v}
	}
	var out []kv
	out = append(out, str("Run id", r.ID))
	out = append(out, str("Script", r.Script))
	out = append(out, str("Script SHA-256", r.ScriptSHA256))
	out = append(out, str("Host", r.Host))
	out = append(out, str("Workload model", r.Model))
	switch {
	case d.UsersFromHistory:
		out = append(out, kv{K: "Peak users", V: strconv.Itoa(r.Users) + " (highest user count in the history CSV)"})
	case d.FromCSV:
		out = append(out, str("Users", ""))
	default:
		out = append(out, kv{K: "Users", V: strconv.Itoa(r.Users)})
	}
	if d.FromCSV {
		out = append(out, str("Spawn rate", ""))
	} else {
		out = append(out, kv{K: "Spawn rate", V: strconv.FormatFloat(r.SpawnRate, 'f', -1, 64) + " users/s"})
	}
	if r.Stages != "" {
		out = append(out, kv{K: "Stages", V: r.Stages})
	}
	if r.ArrivalRate != "" {
		out = append(out, kv{K: "Arrival rate", V: r.ArrivalRate})
	}
	switch {
	case d.FromCSV:
		out = append(out, str("Configured run time", ""))
	case r.RunTimeSeconds > 0:
		out = append(out, kv{K: "Configured run time", V: (time.Duration(r.RunTimeSeconds * float64(time.Second))).String()})
	default:
		out = append(out, kv{K: "Configured run time", V: "until stopped"})
	}
	when := func(k string, t time.Time) kv {
		if t.IsZero() {
			return str(k, "")
		}
		v := t.UTC().Format("2006-01-02 15:04:05 UTC")
		if d.FromCSV {
			v += " (from the history CSV)"
		}
		return kv{K: k, V: v}
	}
	out = append(out, when("Start", r.Start), when("End", r.End))
	if !r.Start.IsZero() && r.End.After(r.Start) {
		out = append(out, kv{K: "Duration", V: r.End.Sub(r.Start).Round(time.Second).String()})
	}
	if at := d.Doc.Stats.ResetAt; at != nil {
		v := "statistics reset at " + at.UTC().Format("15:04:05") + " UTC"
		if r.End.After(*at) {
			v += ": the tables, rates and percentiles cover the last " + r.End.Sub(*at).Round(time.Second).String() + " of the run"
		}
		out = append(out, kv{K: "Statistics reset", V: v})
	}
	if d.FromCSV {
		out = append(out, str("Workers", ""))
	} else if r.WorkerCount > 0 {
		out = append(out, kv{K: "Workers", V: strconv.Itoa(r.WorkerCount)})
	} else {
		out = append(out, kv{K: "Workers", V: "none (local run)"})
	}
	if len(r.Regions) > 0 {
		out = append(out, kv{K: "Regions", V: strings.Join(r.Regions, ", ")})
	} else if !d.FromCSV {
		out = append(out, kv{K: "Regions", V: "none"})
	}
	if !d.FromCSV && r.Seed != 0 {
		out = append(out, kv{K: "Seed", V: strconv.FormatInt(r.Seed, 10)})
	}
	if r.StopReason != "" {
		out = append(out, kv{K: "Stop reason", V: r.StopReason, Bad: r.Interrupted})
	}
	out = append(out, str("Stampede version", r.Version))
	return out
}

func (d *Data) cards() []kv {
	s := d.Doc.Stats
	t := s.Total
	if d.NoTotal {
		return []kv{{K: "Totals", V: "not available", NA: true}}
	}
	out := []kv{
		{K: "Requests", V: strconv.FormatInt(t.Requests, 10)},
		{K: "Failures", V: strconv.FormatInt(t.Failures, 10), Bad: t.Failures > 0},
	}
	if t.Requests > 0 {
		out = append(out,
			kv{K: "Error rate", V: fixed(100*float64(t.Failures)/float64(t.Requests), 2) + "%", Bad: t.Failures > 0},
			kv{K: "Requests/s", V: fixed(t.RPS, 2)},
			kv{K: "Average", V: output.FormatMs(t.AvgMs) + " ms"},
			kv{K: "Median", V: output.FormatMs(t.MedianMs) + " ms"},
			kv{K: "p95", V: output.FormatMs(t.Percentiles.At(95)) + " ms"},
			kv{K: "p99", V: output.FormatMs(t.Percentiles.At(99)) + " ms"},
			kv{K: "Max", V: output.FormatMs(t.MaxMs) + " ms"},
		)
	}
	if s.Dropped > 0 {
		out = append(out, kv{K: "Dropped iterations", V: strconv.FormatInt(s.Dropped, 10), Bad: true})
	}
	return out
}

func (d *Data) charts(v *view) {
	h := d.Doc.Stats.History
	if len(h) == 0 {
		v.HistoryNote = "No history was recorded, so there are no charts over time."
		return
	}
	ts := make([]time.Time, len(h))
	rps, fps, p50, p95, p99, users := make([]float64, len(h)), make([]float64, len(h)), make([]float64, len(h)), make([]float64, len(h)), make([]float64, len(h)), make([]float64, len(h))
	ok := make([]bool, len(h))
	for i, p := range h {
		ts[i] = p.Time
		rps[i], fps[i], p50[i], p95[i], p99[i], users[i] = p.RPS, p.FailPerSec, p.P50, p.P95, p.P99, float64(p.Users)
		// No requests in the window: no percentile, not a 0 ms one.
		ok[i] = !(i < len(d.HistoryNA) && d.HistoryNA[i])
		if !d.FromCSV && p.P50 == 0 && p.P99 == 0 && p.RPS == 0 {
			ok[i] = false
		}
	}
	v.Charts = append(v.Charts,
		lineChart("Requests and failures per second", "per second", ts, []series{
			{name: "requests/s", colour: colour(0), values: rps},
			{name: "failures/s", colour: colour(1), values: fps},
		}),
		lineChart("Response time percentiles", "ms", ts, []series{
			{name: "p50", colour: colour(2), values: p50, ok: ok},
			{name: "p95", colour: colour(0), values: p95, ok: ok},
			{name: "p99", colour: colour(1), values: p99, ok: ok},
		}),
		lineChart("Users", "users", ts, []series{{name: "users", colour: colour(3), values: users}}),
	)
	if d.FromCSV {
		v.HistoryNote = "Percentiles over time are as the history CSV holds them: Locust writes cumulative percentiles in the Aggregated rows, or those of its last 10 seconds with --csv-full-history; Stampede writes cumulative ones. Gaps mark N/A cells."
	} else {
		v.HistoryNote = "Rates and percentiles over time are those of the last 10 seconds at each point."
	}
}

func (d *Data) distribution(v *view) {
	dist := d.Doc.Stats.Distribution
	if len(dist) == 0 {
		if d.FromCSV {
			v.DistNA = "Not available: CSV files hold percentiles, not the histogram the distribution is drawn from."
		} else {
			v.DistNA = "Not available: this summary holds no histogram buckets."
		}
		return
	}
	var total int64
	for _, b := range dist {
		total += b.Count
	}
	// Fill the empty buckets between the first and the last, so the
	// x axis is evenly logarithmic.
	var bars []bar
	lower := 0.0
	var cum int64
	for i, b := range dist {
		if i > 0 {
			for k := bucketIdx(dist[i-1].UpperMs) + 1; k < bucketIdx(b.UpperMs); k++ {
				up := bucketUp(k)
				bars = append(bars, bar{label: output.FormatMs(up), note: fmt.Sprintf("%s–%s ms: 0", output.FormatMs(lower), output.FormatMs(up))})
				lower = up
			}
		}
		cum += b.Count
		pct := 100 * float64(b.Count) / float64(total)
		bars = append(bars, bar{label: output.FormatMs(b.UpperMs), value: float64(b.Count),
			note: fmt.Sprintf("%s–%s ms: %d requests (%.2f%%)", output.FormatMs(lower), output.FormatMs(b.UpperMs), b.Count, pct)})
		v.DistRows = append(v.DistRows, kv{K: "≤ " + output.FormatMs(b.UpperMs) + " ms",
			V: fmt.Sprintf("%d (%.2f%%, cumulative %.2f%%)", b.Count, pct, 100*float64(cum)/float64(total))})
		lower = b.UpperMs
	}
	v.Distribution = barChart("Response time distribution (upper bound of each bucket, ms)", "requests", bars)
}

// bucketIdx and bucketUp mirror the stats package's bucket bounds
// (10 per decade) to fill gaps between non-empty buckets.
func bucketIdx(upper float64) int { return int(math.Round(math.Log10(upper) * 10)) }

func bucketUp(k int) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(math.Pow(10, float64(k)/10), 'g', 3, 64), 64)
	return r
}

func (d *Data) regionCharts(v *view) {
	h := d.Doc.Stats.History
	names := map[string]bool{}
	for _, p := range h {
		for r := range p.Regions {
			names[r] = true
		}
	}
	if len(names) == 0 {
		return
	}
	var regions []string
	for r := range names {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	ts := make([]time.Time, len(h))
	for i, p := range h {
		ts[i] = p.Time
	}
	var rps, p95 []series
	for i, r := range regions {
		s1 := series{name: r, colour: colour(i), values: make([]float64, len(h)), ok: make([]bool, len(h))}
		s2 := series{name: r, colour: colour(i), values: make([]float64, len(h)), ok: make([]bool, len(h))}
		for j, p := range h {
			if rp, ok := p.Regions[r]; ok {
				s1.values[j], s1.ok[j] = rp.RPS, true
				s2.values[j], s2.ok[j] = rp.P95, rp.P95 > 0 || rp.RPS > 0
			}
		}
		rps, p95 = append(rps, s1), append(p95, s2)
	}
	v.RegionCharts = append(v.RegionCharts,
		lineChart("Requests per second by region", "per second", ts, rps),
		lineChart("p95 response time by region", "ms", ts, p95))
}

// entryHistory is the per-name history: the CSV's full-history rows, or
// the per-name points of the run's history (stats.HistoryEntries names).
func (d *Data) entryHistory() map[string][]EntryPoint {
	if len(d.EntryHistory) > 0 {
		return d.EntryHistory
	}
	var out map[string][]EntryPoint
	for _, p := range d.Doc.Stats.History {
		for k, e := range p.Entries {
			if out == nil {
				out = map[string][]EntryPoint{}
			}
			out[k] = append(out[k], EntryPoint{Time: p.Time, RPS: e.RPS, FailPerSec: e.FailPerSec,
				P50: e.P50, P95: e.P95, P99: e.P99, HasPct: e.P50 > 0 || e.P95 > 0 || e.P99 > 0, Requests: e.Requests})
		}
	}
	return out
}

// maxEntryCharts bounds the per-name response-time charts to the names
// with the most requests.
const maxEntryCharts = stats.HistoryEntries

func (d *Data) entryCharts(v *view) {
	hist := d.entryHistory()
	if len(hist) == 0 {
		return
	}
	var keys []string
	for k := range hist {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// One time axis: the union of every entry's timestamps.
	seen := map[int64]bool{}
	var ts []time.Time
	for _, k := range keys {
		for _, p := range hist[k] {
			if !seen[p.Time.Unix()] {
				seen[p.Time.Unix()] = true
				ts = append(ts, p.Time)
			}
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	pos := map[int64]int{}
	for i, t := range ts {
		pos[t.Unix()] = i
	}
	newSeries := func(name string, c int) series {
		return series{name: name, colour: colour(c), values: make([]float64, len(ts)), ok: make([]bool, len(ts))}
	}
	var ss []series
	for i, k := range keys {
		s := newSeries(k, i)
		for _, p := range hist[k] {
			j := pos[p.Time.Unix()]
			s.values[j], s.ok[j] = p.RPS, true
		}
		ss = append(ss, s)
	}
	title := "Requests per second by request"
	if d.FullHistory {
		title += " (from --csv-full-history)"
	}
	v.EntryCharts = append(v.EntryCharts, lineChart(title, "per second", ts, ss))

	// Response times of the names with the most requests at their last point.
	last := func(k string) int64 { h := hist[k]; return h[len(h)-1].Requests }
	byCount := append([]string(nil), keys...)
	sort.SliceStable(byCount, func(i, j int) bool { return last(byCount[i]) > last(byCount[j]) })
	for _, k := range byCount[:min(len(byCount), maxEntryCharts)] {
		p50, p95, p99 := newSeries("p50", 2), newSeries("p95", 0), newSeries("p99", 1)
		has := false
		for _, p := range hist[k] {
			if !p.HasPct {
				continue
			}
			j := pos[p.Time.Unix()]
			p50.values[j], p95.values[j], p99.values[j] = p.P50, p.P95, p.P99
			p50.ok[j], p95.ok[j], p99.ok[j] = true, true, true
			has = true
		}
		if has {
			v.EntryCharts = append(v.EntryCharts, lineChart("Response time of "+k, "ms", ts, []series{p50, p95, p99}))
		}
	}
}

// thresholdValue formats a threshold's measured value in its metric's
// unit, from the metric's leading word ("p95", "error_rate of /x", …).
func thresholdValue(metric string, v float64) string {
	m, _, _ := strings.Cut(metric, " ")
	switch {
	case m == "error_rate":
		return strconv.FormatFloat(math.Round(v*1e6)/1e4, 'f', -1, 64) + "%"
	case m == "rps" || m == "fail_rps":
		return fixed(v, 2) + "/s"
	case m == "requests" || m == "failures":
		return strconv.FormatFloat(v, 'f', -1, 64)
	case m == "avg" || m == "min" || m == "max" || m == "median" || strings.HasPrefix(m, "p"):
		return output.FormatMs(v) + " ms"
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// page parses the template on first use, not at start-up: every command
// (even `stampede version`) would otherwise pay for it.
var page = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(template.FuncMap{
		"tvalue": thresholdValue,
		"mib":    func(b int64) float64 { return float64(b) / (1 << 20) },
		"ratio":  func(r float64) string { return fixed(100*r, 1) + "%" },
	}).Parse(pageHTML))
})
