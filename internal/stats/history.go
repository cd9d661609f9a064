package stats

// The per-second history of a test is bounded: a master that runs for
// weeks would otherwise keep (and send every web client) a point per
// second forever. The last HistoryRecent points keep their one-second
// resolution; when the history reaches twice that, the points before
// them are merged in pairs, so older parts get coarser (2 s, 4 s, ...)
// and the whole never exceeds 2·HistoryRecent points. Nothing is
// dropped: a chart of a long run still starts at its start. The
// _stats_history.csv files are written as the run goes and keep every
// second.
const HistoryRecent = 3600

type history struct {
	points []Point
	// epoch changes whenever points already handed out change (a
	// compaction), so a reader that keeps an index starts over.
	epoch uint64
}

func (h *history) add(p Point) {
	h.points = append(h.points, p)
	if len(h.points) > 2*HistoryRecent {
		h.compact()
	}
}

// compact halves the resolution of every point but the last
// HistoryRecent.
func (h *history) compact() {
	n := len(h.points) - HistoryRecent
	old, recent := h.points[:n], h.points[n:]
	out := make([]Point, 0, (n+1)/2+HistoryRecent+HistoryRecent/2)
	for i := 0; i < n; i += 2 {
		if i+1 < n {
			out = append(out, mergePoints(old[i], old[i+1]))
		} else {
			out = append(out, old[i])
		}
	}
	h.points = append(out, recent...)
	h.epoch++
}

// since returns the points from index from on when epoch is current, or
// all of them with reset set.
func (h *history) since(epoch uint64, from int) (pts []Point, reset bool) {
	if epoch != h.epoch || from > len(h.points) || from < 0 {
		return append([]Point(nil), h.points...), true
	}
	return append([]Point(nil), h.points[from:]...), false
}

// mergePoints is one point standing for a and the later b: rates are
// averaged, percentiles and users are the higher (a chart of a long run
// keeps its peaks), cumulative counts are b's.
func mergePoints(a, b Point) Point {
	m := b
	m.Users = max(a.Users, b.Users)
	m.RPS, m.FailPerSec = (a.RPS+b.RPS)/2, (a.FailPerSec+b.FailPerSec)/2
	m.P50, m.P95, m.P99 = max(a.P50, b.P50), max(a.P95, b.P95), max(a.P99, b.P99)
	m.Regions = mergePointMaps(a.Regions, b.Regions)
	m.Entries = mergePointMaps(a.Entries, b.Entries)
	return m
}

// mergePointMaps merges the points of a and the later b by name.
func mergePointMaps(a, b map[string]Point) map[string]Point {
	if len(a) == 0 && len(b) == 0 {
		return b
	}
	m := make(map[string]Point, len(b))
	for name, q := range b {
		if p, ok := a[name]; ok {
			q = mergePoints(p, q)
		}
		m[name] = q
	}
	for name, p := range a {
		if _, ok := b[name]; !ok {
			m[name] = p
		}
	}
	return m
}

// HistorySince returns the history points after the first from, when
// epoch is the one HistorySince last returned (0 at first); otherwise
// (the older points were merged since) every point, with reset set. It
// also returns the epoch and length to pass next time. A reader polling
// each second so copies only what is new.
func (a *Aggregate) HistorySince(epoch uint64, from int) (pts []Point, reset bool, next uint64, n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	pts, reset = a.history.since(epoch, from)
	return pts, reset, a.history.epoch, len(a.history.points)
}
