package cluster

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/stats"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The master's memory may grow by at most this much while hostile
// workers attack it (docs/distributed.md, "Limits"); without the limits a
// single report of 100k names took it from 43 MB to 2.4 GB.
const hostileMemoryBound = 256 << 20

// heapPeak samples the heap until stop is called and returns the largest
// growth over the heap at the start.
func heapPeak() (stop func() uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > base && ms.HeapAlloc-base > peak.Load() {
				peak.Store(ms.HeapAlloc - base)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); <-finished; return peak.Load() }
}

func heartbeatMsg(h *pb.Heartbeat) *pb.WorkerMessage {
	return &pb.WorkerMessage{Msg: &pb.WorkerMessage_Heartbeat{Heartbeat: h}}
}

func reportMsg(seq, test uint64, d *pb.Delta) *pb.WorkerMessage {
	return &pb.WorkerMessage{Msg: &pb.WorkerMessage_Report{Report: &pb.Report{Seq: seq, TestId: test, Delta: d}}}
}

func entries(n int, name func(i int) string, f func(e *pb.Entry)) *pb.Delta {
	d := &pb.Delta{}
	for i := range n {
		e := &pb.Entry{Method: "GET", Name: name(i), Requests: 1, Latency: &pb.Timing{Count: 1, Sum: 5, Min: 5, Max: 5}}
		if f != nil {
			f(e)
		}
		d.Entries = append(d.Entries, e)
	}
	return d
}

func one(string) func(int) string { return func(int) string { return "/x" } }

// TestHostileWorkers: a worker holding a valid token sends what no honest
// worker sends. Each is refused and disconnected with a reason; the
// master keeps serving; the honest worker beside them is counted exactly
// and every output is written.
func TestHostileWorkers(t *testing.T) {
	const token = "s3cret"
	tg := newCountingTarget(t, 0)
	// Messages of megabytes take a while under -race: the hostile workers,
	// which send no heartbeats, must not go missing before they are read.
	c := newTestCluster(t, MasterConfig{Script: loadScript(t, inProcessScript), Token: token, MissingAfter: 10 * time.Second})
	c.startWorker("honest", "eu", token)
	waitUntil(t, 5*time.Second, "the honest worker", func() bool { return c.m.Connected() == 1 })
	if err := c.eng.Start(t.Context(), engine.Params{Users: 2, SpawnRate: 100, Host: tg.URL}); err != nil {
		t.Fatal(err)
	}
	cc := dialMaster(t, c.addr)
	hello := func(id string) *pb.Hello {
		return &pb.Hello{WorkerId: id, Incarnation: "i", Region: "evil", Version: "v1", CpuCount: 2}
	}
	stop := heapPeak()

	refusedAtHello := []struct {
		name  string
		hello *pb.Hello
		want  string
	}{
		{"8 MB worker id", &pb.Hello{WorkerId: strings.Repeat("w", 8<<20), Version: "v1"}, "worker id is 8388608 bytes"},
		{"control characters in the region", &pb.Hello{WorkerId: "x", Region: "eu\x1b[31m", Version: "v1"}, "region"},
		{"no worker id", &pb.Hello{Version: "v1"}, "worker id"},
		{"absurd cpu count", &pb.Hello{WorkerId: "x", Version: "v1", CpuCount: -5}, "cpu count"},
	}
	for _, tc := range refusedAtHello {
		t.Run(tc.name, func(t *testing.T) {
			f := connectFake(t, cc, token, tc.hello)
			if got := f.rejection(5 * time.Second); !strings.Contains(got, tc.want) {
				t.Fatalf("refusal %q, want one containing %q", got, tc.want)
			}
		})
	}

	refused := []struct {
		name string
		msg  func(test uint64) *pb.WorkerMessage
		want string
	}{
		{"NaN cpu", func(uint64) *pb.WorkerMessage { return heartbeatMsg(&pb.Heartbeat{CpuPercent: math.NaN()}) }, "cpu_percent NaN"},
		{"infinite cpu", func(uint64) *pb.WorkerMessage { return heartbeatMsg(&pb.Heartbeat{CpuPercent: math.Inf(1)}) }, "cpu_percent"},
		{"negative cpu", func(uint64) *pb.WorkerMessage { return heartbeatMsg(&pb.Heartbeat{CpuPercent: -1}) }, "cpu_percent"},
		{"huge cpu", func(uint64) *pb.WorkerMessage { return heartbeatMsg(&pb.Heartbeat{CpuPercent: 1e300}) }, "cpu_percent"},
		{"negative users", func(uint64) *pb.WorkerMessage { return heartbeatMsg(&pb.Heartbeat{Users: -1_000_000}) }, "users -1000000"},
		{"absurd users", func(uint64) *pb.WorkerMessage { return heartbeatMsg(&pb.Heartbeat{Users: math.MaxInt32}) }, "users"},
		{"negative users of a class", func(uint64) *pb.WorkerMessage {
			return heartbeatMsg(&pb.Heartbeat{Users: 1, UsersByClass: map[string]int32{"visitor": -5}})
		}, "users_by_class: -5 users"},
		{"a class the script lacks", func(uint64) *pb.WorkerMessage {
			return heartbeatMsg(&pb.Heartbeat{Users: 1, UsersByClass: map[string]int32{strings.Repeat("c", 4000): 1}})
		}, "not a user class of the script"},
		{"NaN in a report's status", func(test uint64) *pb.WorkerMessage {
			m := reportMsg(1, test, &pb.Delta{})
			m.GetReport().Status = &pb.Heartbeat{CpuPercent: math.NaN()}
			return m
		}, "cpu_percent"},
		{"NaN latency sum", func(test uint64) *pb.WorkerMessage {
			return reportMsg(1, test, entries(1, one(""), func(e *pb.Entry) { e.Latency.Sum = math.NaN() }))
		}, "timing out of range"},
		{"fail ratio 1000", func(test uint64) *pb.WorkerMessage {
			return reportMsg(1, test, entries(1, one(""), func(e *pb.Entry) { e.Failures = 1000 }))
		}, "1000 failures of 1 requests"},
		{"negative count", func(test uint64) *pb.WorkerMessage {
			return reportMsg(1, test, entries(1, one(""), func(e *pb.Entry) { e.Requests, e.Failures, e.Latency.Count = -4, -5, 0 }))
		}, "negative"},
		{"100k names", func(test uint64) *pb.WorkerMessage {
			return reportMsg(1, test, entries(100_000, func(i int) string { return fmt.Sprint("/n", i) }, nil))
		}, "a report with 100000 request names"},
	}
	for i, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			f := connectFake(t, cc, token, hello(fmt.Sprint("evil-", i)))
			test := f.prepared(5 * time.Second)
			if test == 0 {
				t.Fatal("no test prepared")
			}
			if err := f.send(tc.msg(test)); err != nil {
				t.Fatal(err)
			}
			if got := f.rejection(5 * time.Second); !strings.Contains(got, tc.want) {
				t.Fatalf("refusal %q, want one containing %q", got, tc.want)
			}
		})
	}

	// Accepted but bounded: counts near 2^63 saturate instead of wrapping,
	// and megabyte strings are cut.
	big := connectFake(t, cc, token, hello("big"))
	test := big.prepared(5 * time.Second)
	for seq := uint64(1); seq <= 3; seq++ {
		d := entries(1, func(int) string { return "/big" + strings.Repeat("x", 1<<20) }, func(e *pb.Entry) {
			e.Requests, e.Latency.Count = math.MaxInt64-1, math.MaxInt64-1
		})
		d.Errors = []*pb.ErrorCount{{Method: "GET", Name: "/big", Error: strings.Repeat("e", 1<<20), Count: math.MaxInt64 - 1}}
		d.Exceptions = []*pb.ExceptionCount{{Message: "boom", Traceback: strings.Repeat("t", 4<<20), Count: 1}}
		if err := big.send(reportMsg(seq, test, d)); err != nil {
			t.Fatal(err)
		}
	}
	// 10,000 distinct failures and 5,000 exceptions: counted, in bounded
	// rows (an honest worker can have many when errors carry ids).
	many := &pb.Delta{}
	for i := range 10_000 {
		many.Errors = append(many.Errors, &pb.ErrorCount{Method: "GET", Name: "/x", Error: fmt.Sprint("e", i), Count: 1})
	}
	for i := range 5_000 {
		many.Exceptions = append(many.Exceptions, &pb.ExceptionCount{Message: fmt.Sprint("x", i), Count: 1})
	}
	if err := big.send(reportMsg(4, test, many)); err != nil {
		t.Fatal(err)
	}
	if _, ok := next(big, 5*time.Second, (*pb.MasterMessage).GetAck, func(a *pb.Ack) bool { return a.GetSeq() == 4 }); !ok {
		t.Fatal("the big reports were not acknowledged")
	}
	time.Sleep(300 * time.Millisecond) // a collection
	big.cancel()
	peak := stop()

	if c.m.Connected() < 1 {
		t.Fatal("the honest worker is no longer connected")
	}
	if err := c.eng.Stop(); err != nil {
		t.Fatal(err)
	}
	sum := c.eng.Snapshot(true)
	if got, want := workerRequests(sum, "honest"), tg.total.Load(); got != want || want == 0 {
		t.Errorf("honest worker: master counted %d, target saw %d", got, want)
	}
	if sum.Total.Requests != math.MaxInt64 {
		t.Errorf("total requests %d, want saturated at 2^63-1", sum.Total.Requests)
	}
	for _, e := range sum.Entries {
		if len(e.Name) > maxNameLen+len("…") {
			t.Errorf("a name of %d bytes was kept", len(e.Name))
		}
	}
	var evilFailures int64
	for _, e := range sum.Errors {
		if e.Occurrences < 0 || len(e.Error) > maxErrorLen+len("…") {
			t.Errorf("failure row: %d occurrences, error of %d bytes", e.Occurrences, len(e.Error))
		}
		if e.Name == "/x" || e.Error == otherErrorKey.Error {
			evilFailures += e.Occurrences
		}
	}
	if len(sum.Errors) > maxErrorsPerReport+2 || evilFailures != 10_000 {
		t.Errorf("%d failure rows counting %d of the 10,000 failures", len(sum.Errors), evilFailures)
	}
	var exceptions int64
	for _, x := range sum.Exceptions {
		if len(x.Traceback) > maxTracebackLen+len("…") {
			t.Errorf("a traceback of %d bytes was kept", len(x.Traceback))
		}
		exceptions += x.Count
	}
	if len(sum.Exceptions) > maxExceptionsPerReport+1 || exceptions != 5_000+3 {
		t.Errorf("%d exception rows counting %d exceptions, want 5,003", len(sum.Exceptions), exceptions)
	}
	for _, w := range c.m.Workers() {
		if math.IsNaN(w.CPUPercent) || w.Users < 0 {
			t.Errorf("worker %s kept cpu %v, users %d", w.ID, w.CPUPercent, w.Users)
		}
	}
	var buf bytes.Buffer
	if err := output.EncodeJSON(&buf, &output.Document{Stats: sum, Workers: c.m.Workers(), Lost: c.m.Lost()}); err != nil {
		t.Fatalf("the JSON summary cannot be written: %v", err)
	}
	if buf.Len() > 16<<20 {
		t.Errorf("JSON summary of %d bytes", buf.Len())
	}
	t.Logf("heap growth during the attack: %d MB", peak>>20)
	if peak > hostileMemoryBound {
		t.Errorf("the master's heap grew by %d MB, over the %d MB bound", peak>>20, hostileMemoryBound>>20)
	}
}

// TestHostileWorkerFlood: 10,000 fake workers connect (2,000 under -race). At most
// --max-workers are taken, at most twice as many are remembered, the
// master's memory stays bounded, and an honest worker is still counted
// exactly.
func TestHostileWorkerFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 connections")
	}
	tg := newCountingTarget(t, 0)
	const maxWorkers = 200
	c := newTestCluster(t, MasterConfig{Script: loadScript(t, inProcessScript), MaxWorkers: maxWorkers})
	c.startWorker("honest", "eu", "")
	waitUntil(t, 5*time.Second, "the honest worker", func() bool { return c.m.Connected() == 1 })
	if err := c.eng.Start(t.Context(), engine.Params{Users: 2, SpawnRate: 100, Host: tg.URL}); err != nil {
		t.Fatal(err)
	}
	cc := dialMaster(t, c.addr)
	stop := heapPeak()
	var refused, welcomed atomic.Int64
	var wg sync.WaitGroup
	ids := make(chan int)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ids {
				f := connectFake(t, cc, "", &pb.Hello{WorkerId: fmt.Sprint("fake-", i), Incarnation: "i", Region: fmt.Sprint("r", i), Version: "v1"})
				m, _ := next(f, 5*time.Second, func(m *pb.MasterMessage) *pb.MasterMessage { return m },
					func(m *pb.MasterMessage) bool { return m.GetWelcome() != nil || m.GetReject() != nil })
				if m.GetReject() != nil {
					refused.Add(1)
				} else if m.GetWelcome() != nil {
					welcomed.Add(1)
					// Regions and per-worker tables are bounded too.
					_ = f.send(reportMsg(1, 1, entries(1, one(""), nil)))
				}
				f.cancel()
			}
		}()
	}
	n := 10_000
	if RaceEnabled {
		n = 2_000 // the detector makes each connection about ten times slower
	}
	for i := range n {
		ids <- i
	}
	close(ids)
	wg.Wait()
	peak := stop()
	if known := len(c.m.Workers()); known > 2*maxWorkers {
		t.Errorf("the master remembers %d workers, more than twice --max-workers %d", known, maxWorkers)
	}
	if refused.Load() == 0 || welcomed.Load() < maxWorkers-1 {
		t.Errorf("%d welcomed, %d refused", welcomed.Load(), refused.Load())
	}
	if c.m.Connected() < 1 {
		t.Fatal("the honest worker is gone")
	}
	if err := c.eng.Stop(); err != nil {
		t.Fatal(err)
	}
	sum := c.eng.Snapshot(true)
	if got, want := workerRequests(sum, "honest"), tg.total.Load(); got != want || want == 0 {
		t.Errorf("honest worker: master counted %d, target saw %d", got, want)
	}
	if len(sum.Regions) > maxRegions+1 || len(sum.WorkerTotals) > 2*maxWorkers+1 {
		t.Errorf("%d regions, %d worker tables", len(sum.Regions), len(sum.WorkerTotals))
	}
	t.Logf("%d welcomed, %d refused; heap growth %d MB", welcomed.Load(), refused.Load(), peak>>20)
	if peak > hostileMemoryBound {
		t.Errorf("the master's heap grew by %d MB, over the %d MB bound", peak>>20, hostileMemoryBound>>20)
	}
}

// TestReportsWaitWhenTooMuchIsPending: over the pending budget, a worker's
// next report is held back (not acknowledged, not decoded) until the
// engine collects; nothing is dropped.
func TestReportsWaitWhenTooMuchIsPending(t *testing.T) {
	m, addr := startMaster(t, MasterConfig{Script: loadScript(t, inProcessScript), MissingAfter: 10 * time.Second})
	m.mu.Lock()
	m.pendingLimit = 1
	m.mu.Unlock()
	f := connectFake(t, dialMaster(t, addr), "", &pb.Hello{WorkerId: "w", Incarnation: "i", Version: "v1", CpuCount: 1})
	waitUntil(t, 5*time.Second, "the worker", func() bool { return m.Connected() == 1 })
	if err := m.Apply(t.Context(), engine.Params{Users: 1, SpawnRate: 1, Host: "http://127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	test := f.prepared(5 * time.Second)
	acked := func(seq uint64, d time.Duration) bool {
		_, ok := next(f, d, (*pb.MasterMessage).GetAck, func(a *pb.Ack) bool { return a.GetSeq() == seq })
		return ok
	}
	for seq := uint64(1); seq <= 2; seq++ {
		if err := f.send(reportMsg(seq, test, entries(1, one(""), nil))); err != nil {
			t.Fatal(err)
		}
	}
	if !acked(1, 5*time.Second) {
		t.Fatal("the first report was not acknowledged")
	}
	if acked(2, 500*time.Millisecond) {
		t.Fatal("the second report was taken while the first waits for collection")
	}
	var got int64
	collect := func() {
		m.Collect(time.Now(), func(_ stats.Origin, d *stats.Delta) { got += d.Requests() })
	}
	collect()
	if !acked(2, 5*time.Second) {
		t.Fatal("the second report was not taken after a collection")
	}
	collect()
	if got != 2 {
		t.Fatalf("collected %d requests, want 2", got)
	}
}

// TestSilentStreamsAreBounded: streams that never say hello hold at most
// maxAwaitingHello slots; one more is refused at once (not after the hello
// timeout), and an honest worker joins as soon as the silent ones go.
func TestSilentStreamsAreBounded(t *testing.T) {
	m, addr := startMaster(t, MasterConfig{Script: loadScript(t, inProcessScript)})
	m.awaitingHello = make(chan struct{}, 3)
	cc := dialMaster(t, addr)
	ctx, cancel := context.WithCancel(t.Context())
	for range 3 {
		if _, err := pb.NewClusterClient(cc).Connect(ctx); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, 5*time.Second, "three silent streams", func() bool { return len(m.awaitingHello) == 3 })
	began := time.Now()
	s, err := pb.NewClusterClient(cc).Connect(t.Context())
	if err == nil {
		_, err = s.Recv()
	}
	if status.Code(err) != codes.ResourceExhausted || time.Since(began) > helloTimeout/2 {
		t.Fatalf("a fourth silent stream: %v after %v; want ResourceExhausted at once", err, time.Since(began))
	}
	cancel()
	waitUntil(t, 5*time.Second, "the silent streams to go", func() bool { return len(m.awaitingHello) == 0 })
	connectFake(t, cc, "", &pb.Hello{WorkerId: "w", Incarnation: "i", Version: "v1", CpuCount: 1})
	waitUntil(t, 5*time.Second, "the honest worker", func() bool { return m.Connected() == 1 })
}
