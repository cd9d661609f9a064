package report

import (
	"bytes"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/compare"
	"github.com/stampede-load/stampede/internal/stats"
)

// compareHTML is the comparison page; it shares the report's style and,
// like it, references nothing outside itself.
const compareHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="{{.Generator}}">
<title>Stampede comparison</title>
<style>{{.Style}}</style>
</head>
<body>
<header>
<h1>Stampede comparison</h1>
<div class="muted">made by {{.Generator}} on {{.Generated}}</div>
</header>
<main>
<h2>Runs</h2>
<table class="kv"><tr><td>base</td><td>{{.R.Base.Label}}{{if not .R.Base.Histograms}} <span class="na">(no histograms)</span>{{end}}</td></tr>
<tr><td>new</td><td>{{.R.New.Label}}{{if not .R.New.Histograms}} <span class="na">(no histograms)</span>{{end}}</td></tr>
<tr><td>significant</td><td>Kolmogorov–Smirnov p &lt; {{.Alpha}} and p50, p95 or p99 changed by at least {{.MinEffect}} and {{.R.MinEffectMs}} ms, beyond its 99% confidence interval</td></tr></table>
<p>{{if .Slower}}<span class="verdict fail">significantly slower</span>{{else}}<span class="verdict pass">not significantly slower</span>{{end}}</p>
{{if .R.Notes}}<ul class="notes">{{range .R.Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
<h2>Requests</h2>
<div class="wide"><table>
<tr><th class="l">Type</th><th class="l">Name</th><th># requests</th><th>failures %</th><th>req/s</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>p (KS)</th><th class="l">verdict</th></tr>
{{range .Rows}}<tr{{if .Total}} class="total"{{end}}><td class="l">{{.Method}}</td><td class="l">{{.Name}}</td>{{range .Cells}}<td>{{.}}</td>{{end}}<td>{{.P}}</td><td class="l{{if eq .Verdict "slower"}} bad{{else if eq .Verdict "faster"}} good{{end}}">{{.VerdictText}}</td></tr>
{{end}}</table></div>
<p class="muted">Each cell is base → new (change): relative for rates and times, in percentage points for the failure rate.</p>
<h2>Distributions</h2>
{{if .Charts}}<p class="muted">Share of requests answered within a time (log scale), base and new overlaid: a line further right is slower; the largest vertical gap is the test's D.</p>
{{range .Charts}}{{.}}{{end}}{{else}}<p class="na">Not available: one side has no histograms (CSV files).</p>{{end}}
</main>
</body>
</html>
`

type compareRow struct {
	Method, Name, P, Verdict, VerdictText string
	Cells                                 []string
	Total                                 bool
}

// WriteComparison writes the comparison as a self-contained HTML page.
func WriteComparison(path string, r *compare.Result, generator string) error {
	style := pageHTML[strings.Index(pageHTML, "<style>")+len("<style>") : strings.Index(pageHTML, "</style>")]
	v := struct {
		R                                      *compare.Result
		Style                                  template.CSS
		Generator, Generated, Alpha, MinEffect string
		Slower                                 bool
		Rows                                   []compareRow
		Charts                                 []template.HTML
	}{R: r, Style: template.CSS(style), Generator: generator, Generated: time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		Alpha: strconv.FormatFloat(r.Alpha, 'g', -1, 64), MinEffect: strconv.FormatFloat(r.MinEffect*100, 'f', -1, 64) + "%", Slower: r.AnySlower()}
	rows := append(append([]compare.Row(nil), r.Rows...), r.Total)
	for i, row := range rows {
		v.Rows = append(v.Rows, compareRow{Method: row.Method, Name: row.Name, P: row.Test.PText(), Verdict: row.Verdict,
			VerdictText: row.Label(), Cells: compareCells(row), Total: i == len(rows)-1})
	}
	v.Charts = compareCharts(r)
	t, err := template.New("compare").Parse(compareHTML)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return writeAtomic(path, buf.Bytes())
}

func compareCells(r compare.Row) []string {
	c := r.Changes
	f := func(get func(*compare.Side) float64, digits int, change *float64, points bool) string {
		side := func(s *compare.Side) string {
			if s == nil {
				return "–"
			}
			return strconv.FormatFloat(get(s), 'f', digits, 64)
		}
		out := side(r.Base) + " → " + side(r.New)
		switch {
		case change == nil:
		case points:
			out += fmt.Sprintf(" (%+.2f pts)", *change*100)
		default:
			out += fmt.Sprintf(" (%+.1f%%)", *change*100)
		}
		return out
	}
	return []string{
		f(func(s *compare.Side) float64 { return float64(s.Requests) }, 0, nil, false),
		f(func(s *compare.Side) float64 { return s.ErrorRate * 100 }, 2, c.ErrorRate, true),
		f(func(s *compare.Side) float64 { return s.RPS }, 1, c.RPS, false),
		f(func(s *compare.Side) float64 { return s.P50 }, 1, c.P50, false),
		f(func(s *compare.Side) float64 { return s.P95 }, 1, c.P95, false),
		f(func(s *compare.Side) float64 { return s.P99 }, 1, c.P99, false),
	}
}

// compareCharts overlays the two runs' distributions: the aggregate's,
// then each name's that both runs requested.
func compareCharts(r *compare.Result) []template.HTML {
	if !r.Base.Histograms || !r.New.Histograms || r.Base.Summary == nil || r.New.Summary == nil {
		return nil
	}
	out := []template.HTML{cdfChart("All requests", r.Base.Summary.Total.Histogram, r.New.Summary.Total.Histogram)}
	type key struct{ method, name string }
	base := map[key]*stats.Histogram{}
	for _, e := range r.Base.Summary.Entries {
		base[key{e.Method, e.Name}] = e.Histogram
	}
	for _, e := range r.New.Summary.Entries {
		if len(out) > maxCompareCharts {
			break
		}
		if h := base[key{e.Method, e.Name}]; h != nil {
			out = append(out, cdfChart(strings.TrimSpace(e.Method+" "+e.Name), h, e.Histogram))
		}
	}
	return out
}
