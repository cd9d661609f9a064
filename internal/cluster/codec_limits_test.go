package cluster

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/DataDog/sketches-go/ddsketch/encoding"

	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/stats"
)

// TestDecodeDeltaBoundsHistogramMemory: a worker holding a valid token can
// still send hostile reports; decoding one must not make the master
// allocate more than maxDeltaBins dense bins, nor accept a histogram Record
// could not have produced.
func TestDecodeDeltaBoundsHistogramMemory(t *testing.T) {
	// The widest histogram Record can make: the smallest and largest
	// indexable values, about 142k dense bins from a few bytes.
	wide := stats.NewHistogram()
	wide.Record(1e-300)
	wide.Record(1e300)
	wideBytes, _ := wide.MarshalBinary()
	per := wide.Bins()
	if per < 100_000 {
		t.Fatalf("widest histogram spans %d bins, expected >100k", per)
	}
	delta := func(entries int) *pb.Delta {
		p := &pb.Delta{}
		for i := range entries {
			p.Entries = append(p.Entries, &pb.Entry{Method: "GET", Name: fmt.Sprint("/", i), Requests: 2,
				Latency: &pb.Timing{Count: 2, Sum: 1e300, Min: 1e-300, Max: 1e300, Hist: wideBytes}})
		}
		return p
	}
	fits := maxDeltaBins / per
	tests := []struct {
		name    string
		delta   *pb.Delta
		wantErr string
	}{
		{"within the budget", delta(fits), ""},
		{"over the budget", delta(fits + 1), "bins"},
		{"over the budget through service times", func() *pb.Delta {
			p := delta(fits)
			p.Entries[0].Service = &pb.Timing{Count: 2, Hist: wideBytes}
			return p
		}(), "bins"},
		{"hostile histogram bytes", &pb.Delta{Entries: []*pb.Entry{{Method: "GET", Name: "/", Requests: 1,
			// Bins at indexes 0 and 2^40: 16 bytes that once made the
			// master allocate 8 TB.
			Latency: &pb.Timing{Count: 2, Hist: farBins()}}}}, "outside the mapping's range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := DecodeDelta(tt.delta)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("DecodeDelta: %v", err)
				}
				if got := d.Entries[stats.Key{Method: "GET", Name: "/0"}].Latency.Hist.Quantile(1); math.Abs(got-1e300)/1e300 > 0.01 {
					t.Errorf("max = %g after decoding, want 1e300", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("DecodeDelta: err = %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}

// farBins encodes a positive store with one value at index 0 and one at
// index 2^40.
func farBins() []byte {
	var b []byte
	encoding.EncodeFlag(&b, encoding.NewFlag(encoding.FlagTypePositiveStore, encoding.BinEncodingIndexDeltasAndCounts))
	encoding.EncodeUvarint64(&b, 2)
	encoding.EncodeVarint64(&b, 0)
	encoding.EncodeVarfloat64(&b, 1)
	encoding.EncodeVarint64(&b, 1<<40)
	encoding.EncodeVarfloat64(&b, 1)
	return b
}

// TestDecodeDeltaRejectsImpossibleValues: counts and timings no Record can
// produce are refused; a NaN alone would make every later JSON answer of
// the web UI and the JSON summary fail to encode.
func TestDecodeDeltaRejectsImpossibleValues(t *testing.T) {
	entry := func(f func(e *pb.Entry)) *pb.Delta {
		e := &pb.Entry{Method: "GET", Name: "/", Requests: 1, Latency: &pb.Timing{Count: 1, Sum: 5, Min: 5, Max: 5}}
		f(e)
		return &pb.Delta{Entries: []*pb.Entry{e}}
	}
	tests := []struct {
		name  string
		delta *pb.Delta
		ok    bool
	}{
		{"legit", entry(func(*pb.Entry) {}), true},
		{"legit empty timing", entry(func(e *pb.Entry) { e.Service = &pb.Timing{} }), true},
		{"NaN sum", entry(func(e *pb.Entry) { e.Latency.Sum = math.NaN() }), false},
		{"infinite max", entry(func(e *pb.Entry) { e.Latency.Max = math.Inf(1) }), false},
		{"negative min", entry(func(e *pb.Entry) { e.Latency.Min = -1 }), false},
		{"negative timing count", entry(func(e *pb.Entry) { e.Latency.Count = -1 }), false},
		{"NaN service sum", entry(func(e *pb.Entry) { e.Service = &pb.Timing{Count: 1, Sum: math.NaN()} }), false},
		{"negative content bytes", entry(func(e *pb.Entry) { e.ContentBytes = -10 }), false},
		{"negative dropped", &pb.Delta{Dropped: -1}, false},
		{"negative error count", &pb.Delta{Errors: []*pb.ErrorCount{{Method: "GET", Name: "/", Error: "x", Count: -1}}}, false},
		{"negative exception count", &pb.Delta{Exceptions: []*pb.ExceptionCount{{Message: "x", Count: -1}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeDelta(tt.delta)
			if (err == nil) != tt.ok {
				t.Fatalf("DecodeDelta: err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
