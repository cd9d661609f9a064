package stats

import "sort"

// HistoryEntries is how many request names get a point of their own in
// each history point (Point.Entries): the ones with the most requests at
// that moment. A bound, so a run with thousands of names keeps a history
// (and a memory use) of the same size as one with ten.
const HistoryEntries = 10

// window holds the histograms of the last windowSeconds seconds, one per
// second, for percentiles "now" rather than since the start.
type window struct {
	h   [windowSeconds]*Histogram
	sec [windowSeconds]int64
}

func (w *window) add(sec int64, h *Histogram) {
	i := int(uint64(sec) % windowSeconds)
	if w.sec[i] != sec || w.h[i] == nil {
		w.h[i], w.sec[i] = NewHistogram(), sec
	}
	w.h[i].Merge(h)
}

// current merges the histograms of the window before nowSec.
func (w *window) current(nowSec int64) *Histogram {
	h := NewHistogram()
	for i, s := range w.sec {
		if w.h[i] != nil && s >= nowSec-windowSeconds && s <= nowSec {
			h.Merge(w.h[i])
		}
	}
	return h
}

// entryPoints returns the per-name points of the HistoryEntries names
// with the most requests, keyed "METHOD name", and makes those the names
// whose windows are kept from now on (a name that enters the top has
// percentiles from its next requests on; one that leaves it, none).
func (a *Aggregate) entryPoints(t *table, nowSec int64) map[string]Point {
	if t.entries == nil {
		return nil
	}
	keys := make([]Key, 0, len(t.entries))
	for k := range t.entries {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		x, y := t.entries[keys[i]].Requests, t.entries[keys[j]].Requests
		if x != y {
			return x > y
		}
		if keys[i].Name != keys[j].Name {
			return keys[i].Name < keys[j].Name
		}
		return keys[i].Method < keys[j].Method
	})
	keys = keys[:min(len(keys), HistoryEntries)]
	top := make(map[Key]*window, len(keys))
	out := make(map[string]Point, len(keys))
	for _, k := range keys {
		w := t.windows[k]
		if w == nil {
			w = &window{}
		}
		top[k] = w
		e := t.entries[k]
		rps, fps := t.rates[k].rates(nowSec, a.start.Unix())
		p := Point{RPS: rps, FailPerSec: fps, Requests: e.Requests, Failures: e.Failures}
		if cur := w.current(nowSec); cur.Count() > 0 {
			p.P50, p.P95, p.P99 = round3(cur.Quantile(0.50)), round3(cur.Quantile(0.95)), round3(cur.Quantile(0.99))
		}
		out[k.Method+" "+k.Name] = p
	}
	t.windows = top
	return out
}
