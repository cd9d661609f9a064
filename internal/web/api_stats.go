package web

import (
	"bytes"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/stats"
)

// maxErrorRows bounds the failures of /stats/requests, as Locust does.
const maxErrorRows = 500

// locustEntry is one row of /stats/requests, with Locust's field names
// (StatsEntry.to_dict). Method is null for the Aggregated row, as in
// Locust.
type locustEntry map[string]any

// percentileKey is Locust's response_time_percentile_<fraction> key, the
// fraction printed as Python prints a float (0.5, 0.95, 0.999, 1.0).
func percentileKey(p float64) string {
	s := strconv.FormatFloat(math.Round(p*1e4)/1e6, 'f', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return "response_time_percentile_" + s
}

func toLocustEntry(e *stats.EntryStats, total bool) locustEntry {
	m := locustEntry{
		"name":                 e.Name,
		"safe_name":            htmlEscape(e.Name),
		"num_requests":         e.Requests,
		"num_failures":         e.Failures,
		"min_response_time":    e.MinMs,
		"max_response_time":    e.MaxMs,
		"current_rps":          e.CurrentRPS,
		"current_fail_per_sec": e.CurrentFailPerSec,
		"avg_response_time":    e.AvgMs,
		"median_response_time": e.MedianMs,
		"total_rps":            e.RPS,
		"total_fail_per_sec":   e.FailPerSec,
		"avg_content_length":   e.AvgContentSize,
	}
	if total {
		m["method"] = nil
		m["name"] = "Aggregated"
		m["safe_name"] = "Aggregated"
	} else {
		m["method"] = e.Method
	}
	for i, p := range stats.PercentileSet {
		m[percentileKey(p)] = e.Percentiles[i]
	}
	return m
}

func htmlEscape(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

type workerJSON struct {
	ID            string    `json:"id"`
	Region        string    `json:"region"`
	Host          string    `json:"host,omitempty"`
	State         string    `json:"state"`
	UserCount     int       `json:"user_count"`
	CPUUsage      float64   `json:"cpu_usage"`
	MemoryUsage   int64     `json:"memory_usage"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
	// Left is set for a worker that shut down cleanly (state "stopped").
	Left bool `json:"left,omitempty"`
}

// gone is a worker that no longer runs anything: missing, or shut down.
func gone(w *output.WorkerInfo) bool {
	return w.State == output.WorkerMissing || w.LostAt != nil || w.LeftAt != nil
}

func workersJSON(ws []output.WorkerInfo) (out []workerJSON, active int) {
	out = make([]workerJSON, 0, len(ws))
	for _, w := range ws {
		out = append(out, workerJSON{ID: w.ID, Region: w.Region, Host: w.Host, State: w.State, UserCount: w.Users,
			CPUUsage: w.CPUPercent, MemoryUsage: w.MemoryBytes, LastHeartbeat: w.LastHeartbeat, Left: w.LeftAt != nil})
		if !gone(&w) {
			active++
		}
	}
	return out, active
}

func (s *Server) handleRequests(w http.ResponseWriter, r *http.Request) {
	sum := s.snapshot()
	e := s.cfg.Engine
	rows := make([]locustEntry, 0, len(sum.Entries)+1)
	for i := range sum.Entries {
		rows = append(rows, toLocustEntry(&sum.Entries[i], false))
	}
	rows = append(rows, toLocustEntry(&sum.Total, true))
	errs := make([]map[string]any, 0, min(len(sum.Errors), maxErrorRows))
	for i, x := range sum.Errors {
		if i == maxErrorRows {
			break
		}
		errs = append(errs, map[string]any{"method": x.Method, "name": x.Name, "error": x.Error, "occurrences": x.Occurrences})
	}
	workers, active := workersJSON(e.Workers())
	regions := make([]map[string]any, 0, len(sum.Regions))
	for i := range sum.Regions {
		rg := &sum.Regions[i]
		rs := make([]locustEntry, 0, len(rg.Entries)+1)
		for j := range rg.Entries {
			rs = append(rs, toLocustEntry(&rg.Entries[j], false))
		}
		rs = append(rs, toLocustEntry(&rg.Total, true))
		regions = append(regions, map[string]any{"region": rg.Region, "stats": rs,
			"total_rps": rg.Total.CurrentRPS, "fail_ratio": failRatio(&rg.Total)})
	}
	report := map[string]any{
		"stats":              rows,
		"errors":             errs,
		"total_rps":          sum.Total.CurrentRPS,
		"total_fail_per_sec": sum.Total.CurrentFailPerSec,
		"fail_ratio":         sum.FailRatio(),
		"current_response_time_percentiles": map[string]any{
			percentileKey(50): sum.CurrentP50,
			percentileKey(95): sum.CurrentP95,
		},
		"state":        e.State(),
		"user_count":   e.Users(),
		"workers":      workers,
		"worker_count": active,
		"regions":      regions,
	}
	writeJSON(w, http.StatusOK, report)
}

func failRatio(e *stats.EntryStats) float64 {
	if e.Requests == 0 {
		return 0
	}
	return float64(e.Failures) / float64(e.Requests)
}

func (s *Server) handleExceptions(w http.ResponseWriter, r *http.Request) {
	sum := s.snapshot()
	rows := make([]map[string]any, 0, len(sum.Exceptions))
	for _, x := range sum.Exceptions {
		rows = append(rows, map[string]any{"count": x.Count, "msg": x.Message, "traceback": x.Traceback, "nodes": strings.Join(x.Nodes, ", ")})
	}
	writeJSON(w, http.StatusOK, map[string]any{"exceptions": rows})
}
