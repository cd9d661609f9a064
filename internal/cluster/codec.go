package cluster

import (
	"fmt"
	"math"
	"time"

	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/stats"
)

// EncodeDelta turns a delta into its wire form. Every field survives the
// round trip exactly: counts, sums, min/max and the histograms' bins.
func EncodeDelta(d *stats.Delta) (*pb.Delta, error) {
	out := &pb.Delta{Dropped: d.Dropped, Truncated: d.Truncated}
	if !d.Start.IsZero() {
		out.StartUnixNano = d.Start.UnixNano()
	}
	if !d.End.IsZero() {
		out.EndUnixNano = d.End.UnixNano()
	}
	for k, e := range d.Entries {
		lat, err := encodeTiming(e.Latency)
		if err != nil {
			return nil, fmt.Errorf("entry %s %s: %w", k.Method, k.Name, err)
		}
		pe := &pb.Entry{Method: k.Method, Name: k.Name, Requests: e.Requests, Failures: e.Failures,
			ContentBytes: e.ContentBytes, Latency: lat}
		if e.Service != nil {
			if pe.Service, err = encodeTiming(e.Service); err != nil {
				return nil, fmt.Errorf("entry %s %s: %w", k.Method, k.Name, err)
			}
		}
		out.Entries = append(out.Entries, pe)
	}
	for k, n := range d.Errors {
		out.Errors = append(out.Errors, &pb.ErrorCount{Method: k.Method, Name: k.Name, Error: k.Error, Count: n})
	}
	for k, n := range d.Exceptions {
		out.Exceptions = append(out.Exceptions, &pb.ExceptionCount{Message: k.Message, Traceback: k.Traceback, Count: n})
	}
	return out, nil
}

func encodeTiming(t *stats.Timing) (*pb.Timing, error) {
	if t == nil {
		return nil, nil
	}
	h, err := t.Hist.MarshalBinary()
	if err != nil {
		return nil, err
	}
	pt := &pb.Timing{Count: t.Count, Sum: t.Sum, Max: t.Max, Hist: h}
	if t.Count > 0 {
		pt.Min = t.Min // an empty timing's +Inf stays implicit
	}
	return pt, nil
}

// maxDeltaBins bounds the histogram bins one decoded report may span (8
// bytes each in the dense tables it is merged into: 64 MB, as much as the
// largest message). A report is at most maxMessage on the wire, but a
// histogram of a few bytes can span 142k dense bins (1.1 MB), so without a
// total a worker could make the master allocate terabytes with one
// message. A real report stays far below: 1,000 names whose latencies run
// from 1 µs to a day span 2.5M bins.
const maxDeltaBins = 8 << 20

// DecodeDelta is the inverse of EncodeDelta. Strings longer than the
// master keeps are cut, and failures and exceptions beyond the rows one
// report may hold are counted in one overflow row each (limits.go); keys
// that become equal are merged.
func DecodeDelta(p *pb.Delta) (*stats.Delta, error) {
	d, _, err := decodeDelta(p)
	return d, err
}

// decodeDelta also returns the delta's cost: about the bytes it holds.
func decodeDelta(p *pb.Delta) (*stats.Delta, int, error) {
	d := stats.NewDelta(time.Time{})
	bins, cost := 0, 0
	decode := func(pt *pb.Timing) (*stats.Timing, error) {
		t, err := decodeTiming(pt)
		if t != nil {
			if bins += t.Hist.Bins(); bins > maxDeltaBins {
				return nil, fmt.Errorf("the histograms span more than %d bins", maxDeltaBins)
			}
			cost += t.Hist.Size()
		}
		return t, err
	}
	if p.StartUnixNano != 0 {
		d.Start = time.Unix(0, p.StartUnixNano)
	}
	if p.EndUnixNano != 0 {
		d.End = time.Unix(0, p.EndUnixNano)
	}
	if p.Dropped < 0 || p.Truncated < 0 {
		return nil, 0, fmt.Errorf("negative dropped or truncated count")
	}
	d.Dropped, d.Truncated = p.Dropped, p.Truncated
	for _, pe := range p.Entries {
		if pe.Requests < 0 || pe.Failures < 0 || pe.ContentBytes < 0 {
			return nil, 0, fmt.Errorf("entry %s %s: negative count", stats.Cut(pe.Method, maxMethodLen), stats.Cut(pe.Name, 64))
		}
		lat, err := decode(pe.Latency)
		if err != nil {
			return nil, 0, fmt.Errorf("entry %s %s: %w", stats.Cut(pe.Method, maxMethodLen), stats.Cut(pe.Name, 64), err)
		}
		if lat == nil {
			lat = stats.NewTiming()
		}
		e := &stats.Entry{Requests: pe.Requests, Failures: pe.Failures, ContentBytes: pe.ContentBytes, Latency: lat}
		if pe.Service != nil {
			if e.Service, err = decode(pe.Service); err != nil {
				return nil, 0, fmt.Errorf("entry %s %s: %w", stats.Cut(pe.Method, maxMethodLen), stats.Cut(pe.Name, 64), err)
			}
		}
		k := stats.Key{Method: stats.Cut(pe.Method, maxMethodLen), Name: stats.Cut(pe.Name, maxNameLen)}
		if old := d.Entries[k]; old != nil {
			old.Merge(e)
		} else {
			d.Entries[k] = e
			cost += rowCost + len(k.Method) + len(k.Name)
		}
	}
	for _, pe := range p.Errors {
		if pe.Count < 0 {
			return nil, 0, fmt.Errorf("error %s %s: negative count", stats.Cut(pe.Method, maxMethodLen), stats.Cut(pe.Name, 64))
		}
		k := stats.ErrorKey{Method: stats.Cut(pe.Method, maxMethodLen), Name: stats.Cut(pe.Name, maxNameLen), Error: stats.Cut(pe.Error, maxErrorLen)}
		if _, ok := d.Errors[k]; !ok && len(d.Errors) >= maxErrorsPerReport {
			k = otherErrorKey
		}
		if _, ok := d.Errors[k]; !ok {
			cost += rowCost + len(k.Method) + len(k.Name) + len(k.Error)
		}
		d.Errors[k] = stats.AddCounts(d.Errors[k], pe.Count)
	}
	for _, px := range p.Exceptions {
		if px.Count < 0 {
			return nil, 0, fmt.Errorf("exception: negative count")
		}
		k := stats.ExceptionKey{Message: stats.Cut(px.Message, maxMessageLen), Traceback: stats.Cut(px.Traceback, maxTracebackLen)}
		if _, ok := d.Exceptions[k]; !ok && len(d.Exceptions) >= maxExceptionsPerReport {
			k = otherExceptionKey
		}
		if _, ok := d.Exceptions[k]; !ok {
			cost += rowCost + len(k.Message) + len(k.Traceback)
		}
		d.Exceptions[k] = stats.AddCounts(d.Exceptions[k], px.Count)
	}
	return d, cost, nil
}

// rowCost is about what a map entry of a delta costs beside its strings.
const rowCost = 256

func decodeTiming(p *pb.Timing) (*stats.Timing, error) {
	if p == nil {
		return nil, nil
	}
	// Record never makes a negative or non-finite count, sum or extreme; a
	// NaN would make every later JSON answer and the summary fail to
	// encode, for the whole run.
	if p.Count < 0 || !nonNegative(p.Sum) || !nonNegative(p.Max) || (p.Count > 0 && !nonNegative(p.Min)) {
		return nil, fmt.Errorf("timing out of range (count %d, sum %v, min %v, max %v)", p.Count, p.Sum, p.Min, p.Max)
	}
	h, err := stats.DecodeHistogram(p.Hist)
	if err != nil {
		return nil, err
	}
	t := &stats.Timing{Count: p.Count, Sum: p.Sum, Min: math.Inf(1), Max: p.Max, Hist: h}
	if p.Count > 0 {
		t.Min = p.Min
	}
	return t, nil
}

// nonNegative reports whether x is finite and >= 0.
func nonNegative(x float64) bool { return x >= 0 && !math.IsInf(x, 1) }
