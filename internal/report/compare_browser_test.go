package report

import (
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stampede-load/stampede/internal/compare"
	"github.com/stampede-load/stampede/internal/stats"
)

// compareRun builds one side of a comparison: per name, n samples of
// ms·U[0.5,1.5)·scale, with histograms as JSON summaries carry them.
func compareRun(scale float64, seed uint64, names map[string]float64) *compare.Run {
	rng := rand.New(rand.NewPCG(seed, 3))
	s := &stats.Summary{}
	tot := stats.NewTiming()
	for name, ms := range names {
		tm := stats.NewTiming()
		for range 3000 {
			d := time.Duration((0.5 + rng.Float64()) * ms * scale * float64(time.Millisecond))
			tm.Record(d)
			tot.Record(d)
		}
		e := stats.EntryStats{Method: "GET", Name: name, Requests: 3000, RPS: 300, Histogram: tm.Hist}
		for i, p := range stats.PercentileSet {
			e.Percentiles[i] = tm.Percentile(p)
		}
		s.Entries = append(s.Entries, e)
	}
	s.Total = stats.EntryStats{Name: "Aggregated", Requests: int64(3000 * len(names)), Histogram: tot.Hist}
	for i, p := range stats.PercentileSet {
		s.Total.Percentiles[i] = tot.Percentile(p)
	}
	return &compare.Run{Label: "run", Summary: s, Histograms: true}
}

// TestCompareReportOffline opens a comparison page in Chromium with
// networking off: one chart per name and the aggregate, each with the base
// and new lines drawn, every label inside its chart, the slower name
// marked, nothing requested and nothing thrown.
func TestCompareReportOffline(t *testing.T) {
	names := map[string]float64{"/api/products": 5, "/health": 0.2}
	base := compareRun(1, 1, names)
	next := compareRun(1, 2, names)
	next.Summary = compareRun(1.5, 2, map[string]float64{"/api/products": 5}).Summary
	next.Summary.Entries = append(next.Summary.Entries, compareRun(1, 3, map[string]float64{"/health": 0.2}).Summary.Entries...)
	file := filepath.Join(t.TempDir(), "compare.html")
	if err := WriteComparison(file, compare.Compare(base, next, compare.Options{}), "stampede test"); err != nil {
		t.Fatal(err)
	}
	o := openOffline(t, file)
	if err := chromedp.Do(o.ctx, chromedp.Navigate("file://"+file), chromedp.WaitVisible(chromedp.CSS(`figure.chart svg`))); err != nil {
		t.Fatalf("opening the page: %v", err)
	}
	eval := func(js string) any {
		t.Helper()
		v, err := chromedp.Run(o.ctx, chromedp.Evaluate[any](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	if n := eval(`document.querySelectorAll("figure.chart svg").length`); n != 3.0 {
		t.Errorf("%v charts, want 3 (the aggregate and two names)", n)
	}
	// Each chart: two lines that are drawn (not empty), and no text
	// sticking out of the chart (a cut "1000 ms" tick label).
	bad := eval(`(() => { const out = [];
		for (const svg of document.querySelectorAll("figure.chart svg")) {
			const name = svg.getAttribute("aria-label"), box = svg.getBoundingClientRect();
			const lines = [...svg.querySelectorAll("polyline")];
			if (lines.length !== 2) out.push(name + ": " + lines.length + " lines");
			for (const l of lines) { const r = l.getBoundingClientRect(); if (r.width < 50 || r.height < 50) out.push(name + ": a line of " + r.width + "×" + r.height); }
			for (const tx of svg.querySelectorAll("text")) {
				const r = tx.getBoundingClientRect();
				if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5) out.push(name + ": label " + JSON.stringify(tx.textContent) + " outside the chart");
			}
		}
		return out; })()`).([]any)
	for _, b := range bad {
		t.Error(b)
	}
	if v := eval(`[...document.querySelectorAll("td.bad")].map(td => td.parentElement.children[1].textContent + " " + td.textContent).join("; ")`); v != "/api/products slower (p50, p95, p99); Aggregated slower (p50, p95, p99)" {
		t.Errorf("slower rows: %q", v)
	}
	o.check()
}
