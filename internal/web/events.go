package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/redact"
	"github.com/stampede-load/stampede/internal/stats"
)

// maxEventErrors and maxEventExceptions bound what one event carries; the
// CSV downloads have every row.
const (
	maxEventErrors     = 500
	maxEventExceptions = 100
)

// event is the compact snapshot pushed every second. Rows are arrays, in
// the order of rowColumns, to keep 2,000 request names small on the wire.
type event struct {
	Time        int64          `json:"t"`
	State       string         `json:"state"`
	Users       int            `json:"users"`
	Target      int            `json:"target"`
	SpawnRate   float64        `json:"spawn_rate"`
	Host        string         `json:"host"`
	RunTime     float64        `json:"run_time"`
	Remaining   float64        `json:"remaining"`
	Started     int64          `json:"started"`
	Ended       int64          `json:"ended"`
	Reason      string         `json:"reason"`
	Classes     []string       `json:"classes"`
	Tags        []string       `json:"tags"`
	ExcludeTags []string       `json:"exclude_tags"`
	RPS         float64        `json:"rps"`
	FailPerSec  float64        `json:"fail_per_sec"`
	FailRatio   float64        `json:"fail_ratio"`
	P50         float64        `json:"p50"`
	P95         float64        `json:"p95"`
	Dropped     int64          `json:"dropped"`
	Entries     [][]any        `json:"entries"`
	Total       []any          `json:"total"`
	Errors      [][]any        `json:"errors"`
	ErrorCount  int            `json:"error_count"`
	Exceptions  []exceptionRow `json:"exceptions"`
	ExcCount    int            `json:"exception_count"`
	Workers     []workerJSON   `json:"workers"`
	// Distributed is set when the engine's driver has workers (a master),
	// even before any has connected.
	Distributed bool        `json:"distributed"`
	WorkerCount int         `json:"worker_count"`
	Regions     []regionRow `json:"regions"`
	// WorkerRequests is each worker's request count.
	WorkerRequests map[string]int64 `json:"worker_requests"`
	// History holds the points after the ones already sent; Reset says
	// the client must drop what it has (first event, or a new test).
	History [][]any `json:"history"`
	Reset   bool    `json:"reset"`
	// Logs are the log lines after the ones already sent (logRow).
	Logs [][]any `json:"logs"`
	// Arrival is the open model's arrival rate (or stages) of the
	// current or last test, "" for the closed model.
	Arrival string `json:"arrival"`
}

type exceptionRow struct {
	Count     int64  `json:"count"`
	Msg       string `json:"msg"`
	Traceback string `json:"traceback"`
	Nodes     string `json:"nodes"`
}

type regionRow struct {
	Region  string `json:"region"`
	Total   []any  `json:"total"`
	Workers int    `json:"workers"`
	Users   int    `json:"users"`
}

// row is one statistics row: method, name, requests, failures, median,
// average, min, max, average size, total RPS, total failures/s, current
// RPS, current failures/s, then the percentiles of stats.PercentileSet.
func row(e *stats.EntryStats) []any {
	r := make([]any, 0, 13+stats.NumPercentiles)
	r = append(r, e.Method, e.Name, e.Requests, e.Failures, num(e.MedianMs), num(e.AvgMs), num(e.MinMs), num(e.MaxMs),
		num(e.AvgContentSize), num(e.RPS), num(e.FailPerSec), num(e.CurrentRPS), num(e.CurrentFailPerSec))
	for _, p := range e.Percentiles {
		r = append(r, num(p))
	}
	return r
}

// num rounds to 3 decimals, enough for milliseconds and rates.
func num(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return math.Round(v*1000) / 1000
}

// point is one history second: unix ms, users, rps, failures/s, p50, p95,
// p99, and per region {name: [rps, failures/s, p50, p95, p99]}.
func point(p *stats.Point) []any {
	r := []any{p.Time.UnixMilli(), p.Users, num(p.RPS), num(p.FailPerSec), num(p.P50), num(p.P95), num(p.P99)}
	if len(p.Regions) > 0 {
		m := make(map[string][]float64, len(p.Regions))
		for name, q := range p.Regions {
			m[name] = []float64{num(q.RPS), num(q.FailPerSec), num(q.P50), num(q.P95), num(q.P99)}
		}
		r = append(r, m)
	}
	return r
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// eventStream is one client's view: what history it already has.
type eventStream struct {
	started time.Time
	sent    int
	epoch   uint64
	first   bool
	logSeq  uint64
}

// Bounds of the log lines of one event: the first sends the most recent
// ones, later ones what is new.
const (
	firstEventLogs = 200
	maxEventLogs   = 500
)

func (s *Server) buildEvent(st *eventStream) *event {
	e := s.cfg.Engine
	sum := s.snapshot()
	start, end, reason := e.Times()
	p := e.Params()
	ev := &event{
		Time: time.Now().UnixMilli(), State: string(e.State()), Users: e.Users(), Target: p.Users,
		SpawnRate: p.SpawnRate, Host: redact.Host(p.Host), RunTime: p.RunTime.Seconds(), Classes: p.Classes,
		Tags: p.Tags, ExcludeTags: p.ExcludeTags,
		Started: unixMilli(start), Ended: unixMilli(end), Reason: reason,
		RPS: num(sum.Total.CurrentRPS), FailPerSec: num(sum.Total.CurrentFailPerSec), FailRatio: sum.FailRatio(),
		P50: sum.CurrentP50, P95: sum.CurrentP95, Dropped: sum.Dropped,
		Total: row(&sum.Total), ErrorCount: len(sum.Errors), ExcCount: len(sum.Exceptions),
	}
	if wl := p.Workload; wl.Open() {
		ev.Arrival = wl.ArrivalRate
		if wl.ArrivalStages != "" {
			ev.Arrival = strings.TrimPrefix(wl.ArrivalRate+" then "+wl.ArrivalStages, " then ")
		}
	}
	if isActive(e.State()) {
		ev.Remaining = math.Max(0, s.remaining().Seconds())
	}
	ev.Entries = make([][]any, len(sum.Entries))
	for i := range sum.Entries {
		ev.Entries[i] = row(&sum.Entries[i])
	}
	ev.Errors = make([][]any, 0, min(len(sum.Errors), maxEventErrors))
	for i, x := range sum.Errors {
		if i == maxEventErrors {
			break
		}
		ev.Errors = append(ev.Errors, []any{x.Method, x.Name, x.Error, x.Occurrences})
	}
	ev.Exceptions = make([]exceptionRow, 0, min(len(sum.Exceptions), maxEventExceptions))
	for i, x := range sum.Exceptions {
		if i == maxEventExceptions {
			break
		}
		ev.Exceptions = append(ev.Exceptions, exceptionRow{x.Count, x.Message, x.Traceback, strings.Join(x.Nodes, ", ")})
	}
	workers := e.Workers()
	ev.Distributed = workers != nil
	ev.Workers, ev.WorkerCount = workersJSON(workers)
	perRegion := map[string][2]int{}
	for i, w := range ev.Workers {
		c := perRegion[w.Region]
		if !gone(&workers[i]) {
			c[0]++
			c[1] += w.UserCount
		}
		perRegion[w.Region] = c
	}
	ev.WorkerRequests = make(map[string]int64, len(sum.WorkerTotals))
	for _, wt := range sum.WorkerTotals {
		ev.WorkerRequests[wt.Worker] = wt.Total.Requests
	}
	ev.Regions = make([]regionRow, 0, len(sum.Regions))
	for i := range sum.Regions {
		rg := &sum.Regions[i]
		c := perRegion[rg.Region]
		ev.Regions = append(ev.Regions, regionRow{Region: rg.Region, Total: row(&rg.Total), Workers: c[0], Users: c[1]})
	}

	if st.first || !start.Equal(st.started) {
		ev.Reset = true
		st.sent, st.epoch, st.started, st.first = 0, 0, start, false
	}
	// Only the points the client lacks are copied: the history of a
	// long-running master is thousands of points (stats/history.go).
	hist, reset, epoch, n := e.Aggregate().HistorySince(st.epoch, st.sent)
	if reset {
		ev.Reset = true
	}
	st.epoch, st.sent = epoch, n
	ev.Logs = [][]any{}
	if ring := s.cfg.Logs; ring != nil {
		limit := maxEventLogs
		if st.logSeq == 0 {
			limit = firstEventLogs
		}
		lines, next := ring.Since(st.logSeq, limit)
		own := "local"
		if ev.Distributed {
			own = "master"
		}
		for i := range lines {
			ev.Logs = append(ev.Logs, logRow(&lines[i], own))
		}
		st.logSeq = next
	}
	ev.History = make([][]any, 0, len(hist))
	for i := range hist {
		ev.History = append(ev.History, point(&hist[i]))
	}
	return ev
}

// handleEvents streams an event every interval. It flushes after every
// event and pads the start, so proxies that buffer pass events on at once
// (nginx also honours X-Accel-Buffering); a comment line every 15 s keeps
// idle connections open. With Accept-Encoding: gzip the stream is
// compressed, each event flushed through.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache, no-transform")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	var out io.Writer = w
	flush := func() error { return rc.Flush() }
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
		gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		defer gz.Close()
		out = gz
		flush = func() error {
			if err := gz.Flush(); err != nil {
				return err
			}
			return rc.Flush()
		}
	}
	w.WriteHeader(http.StatusOK)
	// 2 KB of comment defeats proxies that wait for a first buffer to fill.
	if _, err := io.WriteString(out, ":"+strings.Repeat(" ", 2048)+"\nretry: 2000\n\n"); err != nil {
		return
	}
	st := &eventStream{first: true}
	var buf bytes.Buffer
	send := func() error {
		buf.Reset()
		buf.WriteString("event: stats\ndata: ")
		b, _, err := output.MarshalJSON(s.buildEvent(st), "", true)
		if err != nil {
			return err
		}
		buf.Write(b)
		// Encode ended the data line with \n; a blank line ends the event.
		buf.WriteString("\n")
		if _, err := out.Write(buf.Bytes()); err != nil {
			return err
		}
		return flush()
	}
	if send() != nil {
		return
	}
	tick := time.NewTicker(s.cfg.Interval)
	defer tick.Stop()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if send() != nil {
				return
			}
		case <-ping.C:
			if _, err := io.WriteString(out, ": keep-alive\n\n"); err != nil {
				return
			}
			if flush() != nil {
				return
			}
		}
	}
}
