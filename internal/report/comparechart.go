package report

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/stampede-load/stampede/internal/stats"
)

// maxCompareCharts bounds the per-name charts of a comparison page.
const maxCompareCharts = 30

// cdfChart overlays the cumulative distributions of two histograms on a
// logarithmic time axis: where the new run's line runs right of the
// base's, its requests were slower. The vertical distance between the
// lines at its largest is the Kolmogorov–Smirnov statistic D.
func cdfChart(title string, base, next *stats.Histogram) template.HTML {
	if base == nil || next == nil || base.Count() == 0 || next.Count() == 0 {
		return ""
	}
	bb, nb := base.SortedBins(), next.SortedBins()
	lo, hi := math.Inf(1), 0.0
	for _, bins := range [][]stats.Bin{bb, nb} {
		for _, b := range bins {
			if b.Ms > 0 {
				lo = math.Min(lo, b.Ms)
			}
			hi = math.Max(hi, b.Ms)
		}
	}
	if math.IsInf(lo, 1) || hi <= 0 {
		return ""
	}
	l0, l1 := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if l1 <= l0 {
		l1 = l0 + 1
	}
	pw, ph := float64(chartW-padL-padR), float64(chartH-padTop-padBottom)
	x := func(ms float64) float64 {
		if ms < lo {
			ms = lo
		}
		return padL + (math.Log10(ms)-l0)/(l1-l0)*pw
	}
	y := func(share float64) float64 { return padTop + ph - share*ph }
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chart"><svg viewBox="0 0 %d %d" role="img" aria-label="%s">`, chartW, chartH, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<text x="%d" y="16" class="ct">%s</text>`, padL, template.HTMLEscapeString(title))
	for v := 0.0; v <= 1.0001; v += 0.25 {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/>`, padL, chartW-padR, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" class="yl">%.0f%%</text>`, padL-6, y(v)+4, v*100)
	}
	for e := l0; e <= l1; e++ {
		xx := padL + (e-l0)/(l1-l0)*pw
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%.1f" class="grid"/>`, xx, xx, padTop, padTop+ph)
		// The last label ends at its line: centred, it would be cut by
		// the chart's right edge.
		anchor := ""
		if e == l1 {
			anchor = ` style="text-anchor:end"`
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="xl"%s>%s ms</text>`, xx, chartH-padBottom+18, anchor, shortNum(math.Pow(10, e)))
	}
	fmt.Fprintf(&b, `<text x="12" y="%d" class="unit" transform="rotate(-90 12 %d)">share of requests ≤ time</text>`, padTop+int(ph/2), padTop+int(ph/2))
	for i, bins := range [][]stats.Bin{bb, nb} {
		var total float64
		for _, bn := range bins {
			total += bn.Count
		}
		var pts strings.Builder
		fmt.Fprintf(&pts, "%.1f,%.1f", x(lo), y(0))
		var cum float64
		for _, bn := range bins {
			xx := x(bn.Ms)
			fmt.Fprintf(&pts, " %.1f,%.1f", xx, y(cum/total))
			cum += bn.Count
			fmt.Fprintf(&pts, " %.1f,%.1f", xx, y(cum/total))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, colour(i), pts.String())
	}
	b.WriteString(`</svg><figcaption class="legend">`)
	for i, name := range []string{"base", "new"} {
		fmt.Fprintf(&b, `<span><i style="background:%s"></i>%s</span>`, colour(i), name)
	}
	b.WriteString(`</figcaption></figure>`)
	return template.HTML(b.String())
}
