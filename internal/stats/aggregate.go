package stats

import (
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Origin says where a delta was measured. The zero Origin is the local
// process of `stampede run`.
type Origin struct {
	Region string
	Worker string
}

// table is the cumulative statistics of one scope: everything, one region or
// one worker.
type table struct {
	entries    map[Key]*Entry // nil for per-worker tables, which keep totals only
	total      *Entry
	rates      map[Key]*rateWindow
	totalRate  rateWindow
	errors     map[ErrorKey]int64
	exceptions map[ExceptionKey]*exception
	dropped    int64
	truncated  int64
	// recent holds the total's histograms of the last seconds, for the
	// "current" percentiles of charts and of Locust's current_response_time_percentiles.
	// A worker's table keeps none: nothing shows a worker's current
	// percentiles, and with 1,000 workers their windows were most of the
	// master's memory and a tenth of its work.
	recent window
	// windows are those of the names with the most requests at the last
	// history point (entryPoints), for their percentiles over time.
	windows map[Key]*window
}

type exception struct {
	count int64
	nodes map[string]bool
}

func newTable(perKey bool) *table {
	t := &table{
		total:      NewEntry(),
		errors:     make(map[ErrorKey]int64),
		exceptions: make(map[ExceptionKey]*exception),
	}
	if perKey {
		t.entries = make(map[Key]*Entry)
		t.rates = make(map[Key]*rateWindow)
	}
	return t
}

func (t *table) add(d *Delta, node string) {
	sec := midSecond(d)
	var req, fail int64
	for k, e := range d.Entries {
		req = AddCounts(req, e.Requests)
		fail = AddCounts(fail, e.Failures)
		t.total.Merge(e)
		if t.entries == nil {
			continue
		}
		dst := t.entries[k]
		if dst == nil {
			dst = NewEntry()
			t.entries[k] = dst
			t.rates[k] = &rateWindow{}
		}
		dst.Merge(e)
		t.rates[k].add(sec, e.Requests, e.Failures)
		if w := t.windows[k]; w != nil {
			w.add(sec, e.Latency.Hist)
		}
	}
	t.totalRate.add(sec, req, fail)
	if t.entries != nil {
		for _, e := range d.Entries {
			t.recent.add(sec, e.Latency.Hist)
		}
	}
	for k, n := range d.Errors {
		t.errors[k] = AddCounts(t.errors[k], n)
	}
	for k, n := range d.Exceptions {
		x := t.exceptions[k]
		if x == nil {
			x = &exception{nodes: make(map[string]bool)}
			t.exceptions[k] = x
		}
		x.count = AddCounts(x.count, n)
		x.nodes[node] = true
	}
	t.dropped = AddCounts(t.dropped, d.Dropped)
	t.truncated = AddCounts(t.truncated, d.Truncated)
}

// currentHistogram merges the total's histograms of the window before now.
func (t *table) currentHistogram(nowSec int64) *Histogram { return t.recent.current(nowSec) }

// midSecond is the wall-clock second a delta's counts are attributed to.
func midSecond(d *Delta) int64 {
	if d.Start.IsZero() || d.End.IsZero() {
		return d.End.Unix()
	}
	return d.Start.Add(d.End.Sub(d.Start) / 2).Unix()
}

// Aggregate is the cumulative view of a test: the total, each region and
// each worker, and a per-second history. It is safe for concurrent use: the
// runner or the cluster adds deltas while the UI and outputs read summaries.
type Aggregate struct {
	mu      sync.Mutex
	start   time.Time
	all     *table
	regions map[string]*table
	workers map[string]*table
	history history
	caps    *keyCaps
	reset   time.Time // the last Reset, zero when none
}

// NewAggregate returns an empty aggregate whose run starts at start.
func NewAggregate(start time.Time) *Aggregate {
	return &Aggregate{
		start:   start,
		all:     newTable(true),
		regions: make(map[string]*table),
		workers: make(map[string]*table),
		caps:    newKeyCaps(DefaultMaxNames, nil, "aggregated"),
	}
}

// LimitNames sets the most distinct (method, name) entries of the run
// (DefaultMaxNames by default; max <= 0: no limit). Each process that
// records caps its own names, and the aggregate caps again, so names
// from many workers cannot add up past it either. Requests with further
// names are counted under OtherName; log warns once.
func (a *Aggregate) LimitNames(max int, log *slog.Logger) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.caps = newKeyCaps(max, log, "aggregated")
}

// Add merges one delta measured at origin o.
func (a *Aggregate) Add(o Origin, d *Delta) {
	a.mu.Lock()
	defer a.mu.Unlock()
	node := o.Worker
	if node == "" {
		node = "local"
	}
	d = a.capNames(d)
	a.all.add(d, node)
	if o.Region != "" {
		r := a.regions[o.Region]
		if r == nil {
			r = newTable(true)
			a.regions[o.Region] = r
		}
		r.add(d, node)
	}
	if o.Worker != "" {
		w := a.workers[o.Worker]
		if w == nil {
			w = newTable(false)
			a.workers[o.Worker] = w
		}
		w.add(d, node)
	}
}

// Reset forgets every statistic (the UI's "reset stats"); the history of
// past points is kept so charts do not jump.
func (a *Aggregate) Reset(now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.start, a.reset = now, now
	a.all = newTable(true)
	a.regions = make(map[string]*table)
	a.workers = make(map[string]*table)
	a.caps = newKeyCaps(a.caps.maxNames, a.caps.log, a.caps.where)
}

// capNames returns d, or a copy with the names, failures and exceptions
// over the run's caps folded into their overflow rows (d may be shared,
// so it is not changed).
func (a *Aggregate) capNames(d *Delta) *Delta {
	if !a.mustFold(d) {
		return d
	}
	out := NewDelta(d.Start)
	out.End, out.Dropped, out.Truncated = d.End, d.Dropped, d.Truncated
	for k, e := range d.Entries {
		out.entry(a.caps.name(k)).Merge(e)
	}
	for k, n := range d.Errors {
		m := a.caps.name(Key{k.Method, k.Name})
		out.Errors[a.caps.error(ErrorKey{m.Method, m.Name, k.Error})] += n
	}
	for k, n := range d.Exceptions {
		out.Exceptions[a.caps.exception(k)] += n
	}
	return out
}

// mustFold reports whether a key of d is over a cap.
func (a *Aggregate) mustFold(d *Delta) bool {
	for k := range d.Entries {
		if a.caps.name(k) != k {
			return true
		}
	}
	for k := range d.Errors {
		if a.caps.name(Key{k.Method, k.Name}).Name != k.Name || a.caps.error(k) != k {
			return true
		}
	}
	for k := range d.Exceptions {
		if a.caps.exception(k) != k {
			return true
		}
	}
	return false
}

// Start is when the statistics began (the run's start, or the last reset).
func (a *Aggregate) Start() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.start
}

// Point is one second of the test's history, for charts and the
// _stats_history.csv total rows.
type Point struct {
	Time       time.Time        `json:"time"`
	Users      int              `json:"users"`
	RPS        float64          `json:"rps"`
	FailPerSec float64          `json:"fail_per_sec"`
	P50        float64          `json:"p50_ms"`
	P95        float64          `json:"p95_ms"`
	P99        float64          `json:"p99_ms"`
	Requests   int64            `json:"requests"`
	Failures   int64            `json:"failures"`
	Regions    map[string]Point `json:"regions,omitempty"`
	// Entries are the points of the HistoryEntries request names with the
	// most requests at that moment, keyed "METHOD name"; their
	// percentiles are those of the last 10 seconds, like the total's.
	Entries map[string]Point `json:"entries,omitempty"`
}

// Tick appends a history point for now with the current user count and
// returns it.
func (a *Aggregate) Tick(now time.Time, users int) Point {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.point(a.all, now, users)
	if e := a.entryPoints(a.all, now.Unix()); len(e) > 0 {
		p.Entries = e
	}
	if len(a.regions) > 0 {
		p.Regions = make(map[string]Point, len(a.regions))
		for name, r := range a.regions {
			p.Regions[name] = a.point(r, now, 0)
		}
	}
	a.history.add(p)
	return p
}

func (a *Aggregate) point(t *table, now time.Time, users int) Point {
	nowSec := now.Unix()
	rps, fps := t.totalRate.rates(nowSec, a.start.Unix())
	cur := t.currentHistogram(nowSec)
	p := Point{Time: now, Users: users, RPS: rps, FailPerSec: fps,
		Requests: t.total.Requests, Failures: t.total.Failures}
	if cur.Count() > 0 {
		p.P50, p.P95, p.P99 = round3(cur.Quantile(0.50)), round3(cur.Quantile(0.95)), round3(cur.Quantile(0.99))
	}
	return p
}

// History returns a copy of the history points so far (history.go).
func (a *Aggregate) History() []Point {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Point(nil), a.history.points...)
}

// Snapshot summarises the aggregate as of now. With history set, the
// per-second points are included.
func (a *Aggregate) Snapshot(now time.Time, history bool) *Summary {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := &Summary{Start: a.start, End: now}
	if !a.reset.IsZero() {
		r := a.reset
		s.ResetAt = &r
	}
	elapsed := now.Sub(a.start).Seconds()
	nowSec := now.Unix()
	s.Entries, s.Total = a.tableStats(a.all, elapsed, nowSec)
	cur := a.all.currentHistogram(nowSec)
	if cur.Count() > 0 {
		s.CurrentP50, s.CurrentP95 = round3(cur.Quantile(0.5)), round3(cur.Quantile(0.95))
	}
	for k, n := range a.all.errors {
		s.Errors = append(s.Errors, ErrorStats{Method: k.Method, Name: k.Name, Error: k.Error, Occurrences: n})
	}
	sort.Slice(s.Errors, func(i, j int) bool {
		x, y := s.Errors[i], s.Errors[j]
		if x.Occurrences != y.Occurrences {
			return x.Occurrences > y.Occurrences
		}
		return x.Name+x.Method+x.Error < y.Name+y.Method+y.Error
	})
	for k, x := range a.all.exceptions {
		nodes := make([]string, 0, len(x.nodes))
		for n := range x.nodes {
			nodes = append(nodes, n)
		}
		sort.Strings(nodes)
		s.Exceptions = append(s.Exceptions, ExceptionStats{Count: x.count, Message: k.Message, Traceback: k.Traceback, Nodes: nodes})
	}
	sort.Slice(s.Exceptions, func(i, j int) bool {
		x, y := s.Exceptions[i], s.Exceptions[j]
		if x.Count != y.Count {
			return x.Count > y.Count
		}
		return x.Message < y.Message
	})
	s.Dropped = a.all.dropped
	s.TruncatedBodies = a.all.truncated
	for name, r := range a.regions {
		entries, total := a.tableStats(r, elapsed, nowSec)
		s.Regions = append(s.Regions, RegionStats{Region: name, Entries: entries, Total: total})
	}
	sort.Slice(s.Regions, func(i, j int) bool { return s.Regions[i].Region < s.Regions[j].Region })
	for id, w := range a.workers {
		_, total := a.tableStats(w, elapsed, nowSec)
		s.WorkerTotals = append(s.WorkerTotals, WorkerTotal{Worker: id, Total: total})
	}
	sort.Slice(s.WorkerTotals, func(i, j int) bool { return s.WorkerTotals[i].Worker < s.WorkerTotals[j].Worker })
	if history {
		s.History = append([]Point(nil), a.history.points...)
		s.Distribution = a.all.total.Latency.Hist.Distribution()
		for i := range s.Entries {
			e := &s.Entries[i]
			e.Histogram = a.all.entries[Key{Method: e.Method, Name: e.Name}].Latency.Hist.Copy()
		}
		s.Total.Histogram = a.all.total.Latency.Hist.Copy()
	}
	return s
}

// tableStats turns a table into sorted entry rows and its Aggregated row.
func (a *Aggregate) tableStats(t *table, elapsed float64, nowSec int64) ([]EntryStats, EntryStats) {
	startSec := a.start.Unix()
	var rows []EntryStats
	for k, e := range t.entries {
		rps, fps := t.rates[k].rates(nowSec, startSec)
		rows = append(rows, entryStats(k, e, elapsed, rps, fps))
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Name != rows[j].Name {
			return rows[i].Name < rows[j].Name
		}
		return rows[i].Method < rows[j].Method
	})
	rps, fps := t.totalRate.rates(nowSec, startSec)
	total := entryStats(Key{Name: "Aggregated"}, t.total, elapsed, rps, fps)
	return rows, total
}

// TotalEntry returns a copy of the cumulative total entry, with its
// histogram, for callers that need more than the summary (thresholds on
// arbitrary percentiles, reports' distributions).
func (a *Aggregate) TotalEntry() *Entry {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.all.total.Copy()
}
