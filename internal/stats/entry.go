package stats

import (
	"math"
	"time"
)

// Key identifies a stats entry. Like Locust, requests are grouped by method
// and name (the URL path, or the name= a script gave). Where the requests
// were made (region, worker) is not part of the key: an Aggregate keeps one
// table per origin instead, so the same key can be compared across regions.
type Key struct {
	Method string
	Name   string
}

// Timing summarises a set of durations: exact count, sum, min and max, and a
// histogram for the percentiles. Durations are in milliseconds.
type Timing struct {
	Count int64
	Sum   float64
	Min   float64
	Max   float64
	Hist  *Histogram
}

// NewTiming returns an empty Timing.
func NewTiming() *Timing { return &Timing{Min: math.Inf(1), Hist: NewHistogram()} }

// Record adds one duration.
func (t *Timing) Record(d time.Duration) {
	ms := float64(d) / float64(time.Millisecond)
	if ms < 0 {
		ms = 0
	}
	t.Count++
	t.Sum += ms
	t.Min = math.Min(t.Min, ms)
	t.Max = math.Max(t.Max, ms)
	t.Hist.Record(ms)
}

// Merge adds o into t.
func (t *Timing) Merge(o *Timing) {
	if o == nil || o.Count == 0 {
		return
	}
	t.Count = AddCounts(t.Count, o.Count)
	t.Sum = addSum(t.Sum, o.Sum)
	t.Min = math.Min(t.Min, o.Min)
	t.Max = math.Max(t.Max, o.Max)
	t.Hist.Merge(o.Hist)
}

// Mean is the average duration, 0 when empty.
func (t *Timing) Mean() float64 {
	if t.Count == 0 {
		return 0
	}
	return t.Sum / float64(t.Count)
}

// MinOrZero is the minimum, 0 when empty.
func (t *Timing) MinOrZero() float64 {
	if t.Count == 0 {
		return 0
	}
	return t.Min
}

// Percentile returns the p-th percentile (0..100). The histogram's answer is
// clamped to the exact min and max, so p100 is the true maximum and no
// percentile lies outside what was observed.
func (t *Timing) Percentile(p float64) float64 {
	if t.Count == 0 {
		return 0
	}
	if p >= 100 {
		return t.Max
	}
	v := t.Hist.Quantile(p / 100)
	return math.Max(t.Min, math.Min(t.Max, v))
}

// Copy returns an independent copy.
func (t *Timing) Copy() *Timing {
	c := *t
	c.Hist = t.Hist.Copy()
	return &c
}

// Entry is the statistics of one (method, name) over some span of time.
type Entry struct {
	Requests     int64
	Failures     int64
	ContentBytes int64
	// Latency is the response time a user felt. In the open model it is
	// measured from the intended start of the iteration, so queueing and
	// stalls count (no coordinated omission).
	Latency *Timing
	// Service is the time from the actual send to the response. It is only
	// kept in the open model (nil otherwise), where it differs from Latency.
	Service *Timing
}

// NewEntry returns an empty entry.
func NewEntry() *Entry { return &Entry{Latency: NewTiming()} }

// Merge adds o into e.
func (e *Entry) Merge(o *Entry) {
	e.Requests = AddCounts(e.Requests, o.Requests)
	e.Failures = AddCounts(e.Failures, o.Failures)
	e.ContentBytes = AddCounts(e.ContentBytes, o.ContentBytes)
	e.Latency.Merge(o.Latency)
	if o.Service != nil {
		if e.Service == nil {
			e.Service = NewTiming()
		}
		e.Service.Merge(o.Service)
	}
}

// Copy returns an independent copy.
func (e *Entry) Copy() *Entry {
	c := *e
	c.Latency = e.Latency.Copy()
	if e.Service != nil {
		c.Service = e.Service.Copy()
	}
	return &c
}

// AvgContentSize is the mean response body size in bytes.
func (e *Entry) AvgContentSize() float64 {
	if e.Requests == 0 {
		return 0
	}
	return float64(e.ContentBytes) / float64(e.Requests)
}
