package engine

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/runner"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
)

// A panic in the once-a-second collection (an output hook, a driver)
// stops the test with the panic as its reason instead of killing the
// process: the statistics collected so far are there for the outputs.
func TestPanicInCollectionStopsTheTest(t *testing.T) {
	s, err := script.LoadFiles("test.star", map[string][]byte{"test.star": []byte(src)}, script.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var ticks atomic.Int64
	e := New(Config{
		Driver: &LocalDriver{NewRunner: func(p Params) (*runner.Runner, error) {
			return runner.New(runner.Config{Script: s, Host: p.Host, Log: log}), nil
		}},
		Log: log, Interval: 40 * time.Millisecond,
		OnTick: []TickFunc{func(_ time.Time, p stats.Point, _ *Engine) {
			if ticks.Add(1) == 10 {
				panic("output bug")
			}
		}},
	})
	if err := e.Start(context.Background(), Params{Users: 2, SpawnRate: 100, Host: srv.URL, Classes: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-e.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the test did not stop after the panic")
	}
	_, _, reason := e.Times()
	if !strings.HasPrefix(reason, ReasonInternal+": panic: output bug") {
		t.Errorf("stop reason %q", reason)
	}
	if sum := e.Snapshot(true); sum.Total.Requests == 0 || sum.Total.Requests != srv.n.Load() {
		t.Errorf("%d requests in the statistics, the server counted %d", sum.Total.Requests, srv.n.Load())
	}
	if ticks.Load() <= 10 {
		t.Errorf("the collection stopped at the panic (%d ticks)", ticks.Load())
	}
}
