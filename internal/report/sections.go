package report

import (
	"fmt"
	"html/template"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/stats"
)

// The report's chart sections: requests and response times over time,
// the response-time distribution, one chart set per region and per
// request name. Each fills the view from the document alone.

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
	// Each of them gets its own p50/p95/p99 chart, after one chart that
	// compares their p95 side by side.
	var compare []series
	var each []template.HTML
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
			each = append(each, lineChart("Response time of "+k, "ms", ts, []series{p50, p95, p99}))
			c := p95
			c.name, c.colour = k, colour(len(compare))
			compare = append(compare, c)
		}
	}
	if len(compare) > 1 {
		v.EntryCharts = append(v.EntryCharts, lineChart("p95 response time by request", "ms", ts, compare))
	}
	v.EntryCharts = append(v.EntryCharts, each...)
}
