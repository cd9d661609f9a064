package stats

import "time"

// Summary is a plain snapshot of an Aggregate: what every output (CSV, JSON,
// console, web UI, report, thresholds) reads. Times are in milliseconds.
type Summary struct {
	// Start is when the statistics start: the test's start, or the last
	// reset (ResetAt).
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// ResetAt is when the statistics were last reset during the test (the
	// web UI's "Reset stats"); nil when they were not.
	ResetAt      *time.Time       `json:"reset_at,omitempty"`
	Entries      []EntryStats     `json:"entries"`
	Total        EntryStats       `json:"total"`
	CurrentP50   float64          `json:"current_p50_ms"`
	CurrentP95   float64          `json:"current_p95_ms"`
	Errors       []ErrorStats     `json:"failures"`
	Exceptions   []ExceptionStats `json:"exceptions"`
	Regions      []RegionStats    `json:"regions,omitempty"`
	WorkerTotals []WorkerTotal    `json:"worker_totals,omitempty"`
	Dropped      int64            `json:"dropped_iterations"`
	// TruncatedBodies counts response bodies longer than --max-body,
	// of which scripts saw only the first --max-body bytes.
	TruncatedBodies int64   `json:"truncated_bodies"`
	History         []Point `json:"history,omitempty"`
	// Distribution is the response-time distribution of all requests,
	// from the total's histogram; filled in by snapshots with history
	// (the end-of-run summary), for reports.
	Distribution []Bucket `json:"distribution,omitempty"`
}

// EntryStats is one row of the statistics table.
type EntryStats struct {
	Method            string      `json:"method"`
	Name              string      `json:"name"`
	Requests          int64       `json:"num_requests"`
	Failures          int64       `json:"num_failures"`
	MedianMs          float64     `json:"median_response_time"`
	AvgMs             float64     `json:"avg_response_time"`
	MinMs             float64     `json:"min_response_time"`
	MaxMs             float64     `json:"max_response_time"`
	AvgContentSize    float64     `json:"avg_content_length"`
	TotalContentBytes int64       `json:"total_content_length"`
	RPS               float64     `json:"total_rps"`
	FailPerSec        float64     `json:"total_fail_per_sec"`
	CurrentRPS        float64     `json:"current_rps"`
	CurrentFailPerSec float64     `json:"current_fail_per_sec"`
	Percentiles       Percentiles `json:"percentiles"`
	// Service is the open model's send-to-response timing; the fields
	// above are then measured from each iteration's intended start.
	Service *TimingStats `json:"service_time,omitempty"`
	// Histogram is the full response-time histogram, in the end-of-run
	// summary only (for `stampede compare`); nil elsewhere.
	Histogram *Histogram `json:"histogram,omitempty"`
}

// TimingStats summarises a Timing.
type TimingStats struct {
	AvgMs       float64     `json:"avg"`
	MinMs       float64     `json:"min"`
	MaxMs       float64     `json:"max"`
	Percentiles Percentiles `json:"percentiles"`
}

// ErrorStats is one row of the failures table.
type ErrorStats struct {
	Method      string `json:"method"`
	Name        string `json:"name"`
	Error       string `json:"error"`
	Occurrences int64  `json:"occurrences"`
}

// ExceptionStats is one row of the exceptions table.
type ExceptionStats struct {
	Count     int64    `json:"count"`
	Message   string   `json:"msg"`
	Traceback string   `json:"traceback"`
	Nodes     []string `json:"nodes"`
}

// RegionStats is the statistics of one region.
type RegionStats struct {
	Region  string       `json:"region"`
	Entries []EntryStats `json:"entries"`
	Total   EntryStats   `json:"total"`
}

// WorkerTotal is the Aggregated row of one worker.
type WorkerTotal struct {
	Worker string     `json:"worker"`
	Total  EntryStats `json:"total"`
}

// ClearCurrent zeroes the figures of the last seconds (current RPS,
// failures/s and percentiles) of every row: a stopped test has none.
func (s *Summary) ClearCurrent() {
	s.CurrentP50, s.CurrentP95 = 0, 0
	zero := func(e *EntryStats) { e.CurrentRPS, e.CurrentFailPerSec = 0, 0 }
	zero(&s.Total)
	for i := range s.Entries {
		zero(&s.Entries[i])
	}
	for i := range s.Regions {
		zero(&s.Regions[i].Total)
		for j := range s.Regions[i].Entries {
			zero(&s.Regions[i].Entries[j])
		}
	}
	for i := range s.WorkerTotals {
		zero(&s.WorkerTotals[i].Total)
	}
}

// FailRatio is failures / requests of the total, 0 when there were none.
func (s *Summary) FailRatio() float64 {
	if s.Total.Requests == 0 {
		return 0
	}
	return float64(s.Total.Failures) / float64(s.Total.Requests)
}

func entryStats(k Key, e *Entry, elapsed, curRPS, curFPS float64) EntryStats {
	r := EntryStats{
		Method: k.Method, Name: k.Name,
		Requests: e.Requests, Failures: e.Failures,
		AvgMs: e.Latency.Mean(), MinMs: e.Latency.MinOrZero(), MaxMs: e.Latency.Max,
		AvgContentSize: e.AvgContentSize(), TotalContentBytes: e.ContentBytes,
		CurrentRPS: curRPS, CurrentFailPerSec: curFPS,
	}
	if e.Requests == 0 {
		r.MaxMs = 0
	}
	// As Locust (stats.py total_rps): over at least one second, so a test
	// stopped or reset milliseconds ago does not report 13 requests as
	// 1,700 a second.
	elapsed = max(elapsed, 1)
	r.RPS = float64(e.Requests) / elapsed
	r.FailPerSec = float64(e.Failures) / elapsed
	r.Percentiles = percentilesOf(e.Latency)
	r.MedianMs = r.Percentiles.At(50)
	r.AvgMs, r.MinMs, r.MaxMs = round3(r.AvgMs), round3(r.MinMs), round3(r.MaxMs)
	if e.Service != nil {
		r.Service = &TimingStats{AvgMs: round3(e.Service.Mean()), MinMs: round3(e.Service.MinOrZero()), MaxMs: round3(e.Service.Max), Percentiles: percentilesOf(e.Service)}
	}
	return r
}
