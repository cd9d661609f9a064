package cluster

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/script"
)

// The in-process tests run a master, its engine and real workers in the
// test's own process, so `go test -race` sees Apply, Stop, rebalances,
// reports and the missing-worker checks at work together.

// countingTarget is a loopback HTTP server that counts requests per
// worker: scripts send their user id in X-User, and user ids are offset
// by idStride per worker (its join order).
type countingTarget struct {
	URL   string
	total atomic.Int64
	delay time.Duration
	mu    sync.Mutex
	byW   map[int64]int64
}

func newCountingTarget(t *testing.T, delay time.Duration) *countingTarget {
	t.Helper()
	tg := &countingTarget{byW: map[int64]int64{}, delay: delay}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tg.delay > 0 {
			time.Sleep(tg.delay)
		}
		tg.total.Add(1)
		if id, err := strconv.ParseInt(r.Header.Get("X-User"), 10, 64); err == nil {
			tg.mu.Lock()
			tg.byW[id/idStride]++
			tg.mu.Unlock()
		}
	}))
	t.Cleanup(srv.Close)
	tg.URL = srv.URL
	return tg
}

func (tg *countingTarget) worker(index int64) int64 {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.byW[index]
}

const testMissingAfter = 2 * time.Second

const inProcessScript = `
def hit(u):
    u.http.get("/hit", headers={"X-User": str(u.id)})

visitor = user(tasks=[hit], wait_time=constant(0.02))
`

func loadScript(t *testing.T, src string) *script.Script {
	t.Helper()
	s, err := script.LoadFiles("t.star", map[string][]byte{"t.star": []byte(src)}, script.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// cluster is a master with an engine and the workers started so far.
type testCluster struct {
	t    *testing.T
	m    *Master
	addr string
	eng  *engine.Engine
	mu   sync.Mutex
	stop map[string]context.CancelFunc
	done map[string]chan error
	ws   map[string]*Worker
	// goClasses are the master's Go user classes; workers carry them too.
	goClasses []*script.UserClass
}

func newTestCluster(t *testing.T, cfg MasterConfig) *testCluster {
	t.Helper()
	if cfg.MissingAfter == 0 {
		// Short, to keep the tests short; long enough for a race-enabled
		// test binary sharing two cores with other packages' tests.
		cfg.MissingAfter = testMissingAfter
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 150 * time.Millisecond
	}
	if cfg.ReportInterval == 0 {
		cfg.ReportInterval = 200 * time.Millisecond
	}
	m, addr := startMaster(t, cfg)
	c := &testCluster{t: t, m: m, addr: addr, stop: map[string]context.CancelFunc{}, done: map[string]chan error{}, ws: map[string]*Worker{},
		goClasses: cfg.GoClasses}
	c.eng = engine.New(engine.Config{Driver: m, Log: quietLog(), Interval: 200 * time.Millisecond, StopGrace: 20 * time.Second})
	t.Cleanup(func() {
		_ = c.eng.Stop()
		c.mu.Lock()
		defer c.mu.Unlock()
		for id, cancel := range c.stop {
			cancel()
			<-c.done[id]
		}
	})
	return c
}

// startWorker runs a real worker until stopWorker or the test's end.
func (c *testCluster) startWorker(id, region, token string) {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := NewWorker(WorkerConfig{MasterAddr: c.addr, ID: id, Region: region, Version: "v1", Token: token, Log: quietLog(),
		Heartbeat: 150 * time.Millisecond, ReportInterval: 200 * time.Millisecond, ReconnectAfter: testMissingAfter, GoClasses: c.goClasses})
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	c.mu.Lock()
	c.stop[id], c.done[id], c.ws[id] = cancel, done, w
	c.mu.Unlock()
}

// loseWorker ends a worker without a goodbye, as when its process is
// killed: the master finds it missing after MissingAfter.
func (c *testCluster) loseWorker(id string) {
	c.t.Helper()
	c.mu.Lock()
	c.ws[id].silent.Store(true)
	c.mu.Unlock()
	c.stopWorker(id)
}

// stopWorker ends a worker as Ctrl-C or SIGTERM does: its users stop, its
// last report goes out, it says goodbye and disconnects.
func (c *testCluster) stopWorker(id string) {
	c.t.Helper()
	c.mu.Lock()
	cancel, done := c.stop[id], c.done[id]
	delete(c.stop, id)
	delete(c.done, id)
	c.mu.Unlock()
	cancel()
	if err := <-done; err != nil {
		c.t.Errorf("worker %s: %v", id, err)
	}
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fakeWorker speaks the worker protocol by hand, as a hostile worker
// holding the token would.
type fakeWorker struct {
	stream pb.Cluster_ConnectClient
	cancel context.CancelFunc
	msgs   chan *pb.MasterMessage
	err    chan error
}

func dialMaster(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// connectFake opens a stream and sends hello; messages from the master
// arrive on msgs.
func connectFake(t *testing.T, cc *grpc.ClientConn, token string, hello *pb.Hello) *fakeWorker {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, TokenHeader, "Bearer "+token)
	}
	stream, err := pb.NewClusterClient(cc).Connect(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	f := &fakeWorker{stream: stream, cancel: cancel, msgs: make(chan *pb.MasterMessage, 64), err: make(chan error, 1)}
	t.Cleanup(cancel)
	// A stream the master already ended fails Send with io.EOF; Recv
	// below then returns the master's status.
	if err := stream.Send(&pb.WorkerMessage{Msg: &pb.WorkerMessage_Hello{Hello: hello}}); err != nil && !errors.Is(err, io.EOF) {
		f.err <- err
		close(f.msgs)
		return f
	}
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				f.err <- err
				close(f.msgs)
				return
			}
			select {
			case f.msgs <- m:
			default: // nobody reads: a hostile worker ignores the master
			}
		}
	}()
	return f
}

func (f *fakeWorker) send(m *pb.WorkerMessage) error { return f.stream.Send(m) }

// next returns the next message of type T, or nil when the stream ended
// or d passed first.
func next[T any](f *fakeWorker, d time.Duration, get func(*pb.MasterMessage) T, ok func(T) bool) (T, bool) {
	timeout := time.After(d)
	for {
		select {
		case m, open := <-f.msgs:
			if !open {
				var zero T
				return zero, false
			}
			if v := get(m); ok(v) {
				return v, true
			}
		case <-timeout:
			var zero T
			return zero, false
		}
	}
}

// rejection waits for the master's refusal and returns its reason.
func (f *fakeWorker) rejection(d time.Duration) string {
	r, _ := next(f, d, (*pb.MasterMessage).GetReject, func(r *pb.Reject) bool { return r != nil })
	return r.GetReason()
}

// prepared waits for the test the master sends and returns its id.
func (f *fakeWorker) prepared(d time.Duration) uint64 {
	p, _ := next(f, d, (*pb.MasterMessage).GetPrepare, func(p *pb.Prepare) bool { return p != nil })
	return p.GetTestId()
}
