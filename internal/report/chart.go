package report

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// Charts are drawn here twice: as inline SVG, which needs no script and
// is what prints and what a reader with scripts off sees, and as data for
// the uPlot charts the page's inline script draws over it (hover values,
// drag to zoom, legend click to hide a line). Both live in the file.

const (
	chartW, chartH                = 960, 280
	padL, padR, padTop, padBottom = 64, 16, 28, 40
)

// palette holds colours that stay apart for people with the common forms
// of colour blindness (Okabe–Ito).
var palette = [...]string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"}

func colour(i int) string { return palette[i%len(palette)] }

// series is one line of a chart; ok[i] false leaves a gap at point i.
type series struct {
	name   string
	colour string
	values []float64
	ok     []bool
}

// lineChart draws series over the times ts, which must be ascending.
func lineChart(title, unit string, ts []time.Time, ss []series) template.HTML {
	if len(ts) == 0 || len(ss) == 0 {
		return template.HTML(`<p class="na">` + template.HTMLEscapeString(title) + `: no data points.</p>`)
	}
	ts, ss = downsample(ts, ss, maxChartPoints)
	ymax := 0.0
	for _, s := range ss {
		for i, v := range s.values {
			if (s.ok == nil || s.ok[i]) && v > ymax {
				ymax = v
			}
		}
	}
	ymax, step := niceScale(ymax)
	t0, t1 := ts[0], ts[len(ts)-1]
	span := t1.Sub(t0).Seconds()
	if span <= 0 {
		span = 1
	}
	pw, ph := float64(chartW-padL-padR), float64(chartH-padTop-padBottom)
	x := func(t time.Time) float64 { return padL + t.Sub(t0).Seconds()/span*pw }
	y := func(v float64) float64 { return padTop + ph - v/ymax*ph }

	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chart">%s<svg viewBox="0 0 %d %d" role="img" aria-label="%s">`, chartData(title, unit, ts, ss), chartW, chartH, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<text x="%d" y="16" class="ct">%s</text>`, padL, template.HTMLEscapeString(title))
	// Horizontal grid and y labels.
	for v := 0.0; v <= ymax+step/2; v += step {
		yy := y(v)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/>`, padL, chartW-padR, yy, yy)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" class="yl">%s</text>`, padL-6, yy+4, template.HTMLEscapeString(shortNum(v)))
	}
	fmt.Fprintf(&b, `<text x="12" y="%d" class="unit" transform="rotate(-90 12 %d)">%s</text>`, padTop+int(ph/2), padTop+int(ph/2), template.HTMLEscapeString(unit))
	// Time labels: elapsed time from the first point.
	tick := timeStep(span)
	for sec := 0.0; sec <= span+1e-9; sec += tick {
		xx := padL + sec/span*pw
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" class="tick"/>`, xx, xx, chartH-padBottom, chartH-padBottom+4)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="xl">%s</text>`, xx, chartH-padBottom+18, elapsedLabel(time.Duration(sec*float64(time.Second))))
	}
	for _, s := range ss {
		var d strings.Builder
		pen := false
		for i, v := range s.values {
			if i >= len(ts) {
				break
			}
			if s.ok != nil && !s.ok[i] {
				pen = false
				continue
			}
			cmd := "L"
			if !pen {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%.1f %.1f", cmd, x(ts[i]), y(v))
			pen = true
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="1.6"><title>%s</title></path>`, d.String(), s.colour, template.HTMLEscapeString(s.name))
	}
	b.WriteString(`</svg><figcaption class="legend">`)
	for _, s := range ss {
		fmt.Fprintf(&b, `<span><i style="background:%s"></i>%s</span>`, s.colour, template.HTMLEscapeString(s.name))
	}
	fmt.Fprintf(&b, `<span class="muted">time since %s UTC</span></figcaption></figure>`, t0.UTC().Format("2006-01-02 15:04:05"))
	return template.HTML(b.String())
}

// chartJSON is what the page's script hands uPlot: times in Unix seconds
// and one array per line, null where the SVG leaves a gap.
type chartJSON struct {
	Title  string       `json:"title"`
	Unit   string       `json:"unit"`
	X      []float64    `json:"x"`
	Series []seriesJSON `json:"series"`
}

type seriesJSON struct {
	Label  string     `json:"label"`
	Stroke string     `json:"stroke"`
	Values []*float64 `json:"values"`
}

// chartData is the chart's data as an inline JSON script. json.Marshal
// escapes <, > and &, so no value can close the script element.
func chartData(title, unit string, ts []time.Time, ss []series) string {
	c := chartJSON{Title: title, Unit: unit, X: make([]float64, len(ts))}
	for i, t := range ts {
		c.X[i] = float64(t.UnixMilli()) / 1000
	}
	for _, s := range ss {
		sj := seriesJSON{Label: s.name, Stroke: s.colour, Values: make([]*float64, len(ts))}
		for i := range ts {
			if i < len(s.values) && (s.ok == nil || s.ok[i]) && !math.IsNaN(s.values[i]) && !math.IsInf(s.values[i], 0) {
				sj.Values[i] = &s.values[i]
			}
		}
		c.Series = append(c.Series, sj)
	}
	b, err := json.Marshal(c)
	if err != nil {
		return "" // cannot happen with finite numbers; the SVG stays
	}
	return `<script type="application/json" class="chart-data">` + string(b) + `</script>`
}

// maxChartPoints bounds the points of a line: a day of once-a-second
// history would otherwise make megabytes of SVG.
const maxChartPoints = 1500

// downsample merges consecutive points into at most n, keeping each
// bucket's first time and, per series, its largest valid value, so spikes
// stay visible.
func downsample(ts []time.Time, ss []series, n int) ([]time.Time, []series) {
	if len(ts) <= n {
		return ts, ss
	}
	per := (len(ts) + n - 1) / n
	var outT []time.Time
	for i := 0; i < len(ts); i += per {
		outT = append(outT, ts[i])
	}
	out := make([]series, len(ss))
	for k, s := range ss {
		o := series{name: s.name, colour: s.colour, values: make([]float64, len(outT)), ok: make([]bool, len(outT))}
		for b := range outT {
			for i := b * per; i < min((b+1)*per, len(s.values)); i++ {
				if s.ok != nil && !s.ok[i] {
					continue
				}
				if !o.ok[b] || s.values[i] > o.values[b] {
					o.values[b], o.ok[b] = s.values[i], true
				}
			}
		}
		out[k] = o
	}
	return outT, out
}

// bar is one bar of a bar chart.
type bar struct {
	label string
	value float64
	note  string
}

// barChart draws bars with labels under every few of them.
func barChart(title, unit string, bars []bar) template.HTML {
	if len(bars) == 0 {
		return template.HTML(`<p class="na">` + template.HTMLEscapeString(title) + `: no data.</p>`)
	}
	ymax := 0.0
	for _, b := range bars {
		ymax = math.Max(ymax, b.value)
	}
	ymax, step := niceScale(ymax)
	pw, ph := float64(chartW-padL-padR), float64(chartH-padTop-padBottom)
	bw := pw / float64(len(bars))
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chart"><svg viewBox="0 0 %d %d" role="img" aria-label="%s">`, chartW, chartH, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<text x="%d" y="16" class="ct">%s</text>`, padL, template.HTMLEscapeString(title))
	for v := 0.0; v <= ymax+step/2; v += step {
		yy := padTop + ph - v/ymax*ph
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/>`, padL, chartW-padR, yy, yy)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" class="yl">%s</text>`, padL-6, yy+4, template.HTMLEscapeString(shortNum(v)))
	}
	fmt.Fprintf(&b, `<text x="12" y="%d" class="unit" transform="rotate(-90 12 %d)">%s</text>`, padTop+int(ph/2), padTop+int(ph/2), template.HTMLEscapeString(unit))
	every := max(1, len(bars)/12)
	for i, br := range bars {
		h := br.value / ymax * ph
		x0 := padL + float64(i)*bw
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s</title></rect>`,
			x0+bw*0.1, padTop+ph-h, bw*0.8, h, palette[0], template.HTMLEscapeString(br.note))
		if i%every == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="xl">%s</text>`, x0+bw/2, chartH-padBottom+18, template.HTMLEscapeString(br.label))
		}
	}
	b.WriteString(`</svg></figure>`)
	return template.HTML(b.String())
}

// niceScale returns an axis maximum ≥ v and a grid step: 1, 2 or 5 times
// a power of ten, with 4 to 10 steps.
func niceScale(v float64) (top, step float64) {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1, 0.25
	}
	raw := v / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		step = m * mag
		if step >= raw {
			break
		}
	}
	top = math.Ceil(v/step) * step
	if top < v*1.0001 {
		top += step
	}
	return top, step
}

// timeStep is a round tick interval in seconds giving at most 10 ticks.
func timeStep(span float64) float64 {
	for _, s := range []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200} {
		if span/s <= 10 {
			return s
		}
	}
	return math.Ceil(span/10/86400) * 86400
}

func shortNum(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case v >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

func elapsedLabel(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
