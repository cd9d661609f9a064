// Package gcfloor keeps a small Go heap from being collected over and over.
//
// The Go runtime starts a collection when the heap has grown by GOGC
// percent of what was live after the last one, and at least 4 MB. A load
// generator with a few dozen users has a live heap of a few megabytes and
// allocates a little per request, so at tens of thousands of requests a
// second it collects many times a second: about 4% of its CPU time in the
// generator-bound benchmark (bench/engine, TARGET=return200), for no
// memory worth saving. A heap target of at least Floor removes most of
// that, and changes nothing once twice the live heap is above Floor: the
// memory of many users (bench/engine/memory.sh, bench/scale) stays as it
// was.
package gcfloor

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Floor is the smallest heap target kept.
const Floor = 32 << 20

// maxPercent bounds the GOGC set for a tiny heap.
const maxPercent = 2000

// Percent returns the GOGC that makes the next collection start at
// max(2×live, floor): 100 (the default) when the live heap is half the
// floor or more, more when it is less.
func Percent(live, floor uint64) int {
	if live == 0 || 2*live >= floor {
		return 100
	}
	return min(maxPercent, int((floor-live)*100/live))
}

// Run adjusts GOGC to the live heap every interval until ctx is done, then
// restores the GOGC it found. It does nothing when the user set GOGC or
// GOMEMLIMIT: their setting wins.
func Run(ctx context.Context, interval time.Duration) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	t := time.NewTicker(interval)
	defer t.Stop()
	set := 100
	defer func() { debug.SetGCPercent(100) }()
	for {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			if p := Percent(sample[0].Value.Uint64(), Floor); p != set {
				debug.SetGCPercent(p)
				set = p
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
