package stats

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Sample is one finished request.
type Sample struct {
	Method string
	Name   string
	// Latency is the response time as the user felt it.
	Latency time.Duration
	// Service, when non-zero, is the send-to-response time of an open-model
	// request whose Latency was measured from the intended start.
	Service time.Duration
	Bytes   int64
	// Error is empty for a success; otherwise the failure's message.
	Error string
	// Truncated: the body was longer than --max-body and cut.
	Truncated bool
}

// Recorder collects samples from many goroutines and hands them out as
// interval deltas.
//
// The hot path takes no global lock: the recorder is split into shards, each
// with its own mutex and delta, and every virtual user records into the
// shard it was given. With more shards than cores a shard's lock is almost
// never contended, and a flush only holds each shard for a pointer swap.
type Recorder struct {
	shards []*Shard
	mu     sync.Mutex // serialises Flush
	last   time.Time
	open   bool // keep Service timings (open model)
	caps   *keyCaps
	// cutWarned: the first body cut at --max-body was logged
	cutWarned atomic.Bool
}

// Shard is one lock domain of a Recorder.
type Shard struct {
	mu   sync.Mutex
	d    *Delta
	open bool
	r    *Recorder
	_    [32]byte // keep neighbouring shards' locks off one cache line
}

// NewRecorder returns a recorder with n shards, starting its first interval
// at start. When openModel is set, entries keep a separate service-time
// timing beside the (corrected) latency.
func NewRecorder(n int, start time.Time, openModel bool) *Recorder {
	if n < 1 {
		n = 1
	}
	r := &Recorder{shards: make([]*Shard, n), last: start, open: openModel, caps: newKeyCaps(DefaultMaxNames, nil, "recorded")}
	for i := range r.shards {
		r.shards[i] = &Shard{d: NewDelta(start), open: openModel, r: r}
	}
	return r
}

// LimitNames sets the most distinct (method, name) entries this recorder
// keeps over its life (DefaultMaxNames by default; max <= 0: no limit);
// requests with further names are counted under OtherName, and log
// warns once. Call it before anything is recorded.
func (r *Recorder) LimitNames(max int, log *slog.Logger) {
	r.caps = newKeyCaps(max, log, "recorded")
}

// Shard returns the shard for user i.
func (r *Recorder) Shard(i int) *Shard { return r.shards[i%len(r.shards)] }

// Record adds one sample.
func (s *Shard) Record(x Sample) {
	k := Key{x.Method, x.Name}
	s.mu.Lock()
	e := s.d.Entries[k]
	if e == nil { // new to this interval: within the run's name cap?
		k = s.r.caps.name(k)
		e = s.d.entry(k)
	}
	e.Requests++
	e.ContentBytes += x.Bytes
	e.Latency.Record(x.Latency)
	if s.open {
		if e.Service == nil {
			e.Service = NewTiming()
		}
		svc := x.Service
		if svc == 0 {
			svc = x.Latency
		}
		e.Service.Record(svc)
	}
	if x.Truncated {
		s.d.Truncated++
		if s.r.cutWarned.CompareAndSwap(false, true) {
			s.r.caps.log.Warn("a response body was longer than --max-body: scripts see its first --max-body bytes, the rest is read and dropped (and counted in truncated_bodies); raise --max-body if checks need more",
				"request", x.Method+" "+Cut(x.Name, 200))
		}
	}
	if x.Error != "" {
		e.Failures++
		ek := ErrorKey{k.Method, k.Name, x.Error}
		if _, ok := s.d.Errors[ek]; !ok { // new to this interval: within the cap?
			ek = s.r.caps.error(ek)
		}
		s.d.Errors[ek]++
	}
	s.mu.Unlock()
}

// Exception counts one script error.
func (s *Shard) Exception(message, traceback string) {
	k := ExceptionKey{message, traceback}
	s.mu.Lock()
	if _, ok := s.d.Exceptions[k]; !ok {
		k = s.r.caps.exception(k)
	}
	s.d.Exceptions[k]++
	s.mu.Unlock()
}

// Dropped counts open-model iterations that were dropped.
func (s *Shard) Dropped(n int64) {
	s.mu.Lock()
	s.d.Dropped += n
	s.mu.Unlock()
}

// OpenModel reports whether the recorder keeps service timings.
func (r *Recorder) OpenModel() bool { return r.open }

// Flush returns everything recorded since the previous flush as one delta
// covering [previous flush, now).
func (r *Recorder) Flush(now time.Time) *Delta {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := NewDelta(r.last)
	for _, s := range r.shards {
		fresh := NewDelta(now)
		s.mu.Lock()
		d := s.d
		s.d = fresh
		s.mu.Unlock()
		if !d.Empty() {
			out.Merge(d)
		}
	}
	out.Start, out.End = r.last, now
	r.last = now
	return out
}
