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
