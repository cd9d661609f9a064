package cluster

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/logring"
	"github.com/stampede-load/stampede/internal/openmodel"
	"github.com/stampede-load/stampede/internal/runner"
	"github.com/stampede-load/stampede/internal/script"
)

// WorkerConfig configures a Worker.
type WorkerConfig struct {
	// MasterAddr is host:port of the master.
	MasterAddr string
	// ID names the worker (unique in the cluster); Region labels its
	// statistics.
	ID, Region string
	Token      string
	// TLS, when set, dials the master over TLS.
	TLS     *tls.Config
	Version string
	// GoClasses are the user classes written in Go that the worker's
	// program carries; the master checks them against its own, and the
	// worker runs them beside the script the master sends.
	GoClasses []*script.UserClass
	Log       *slog.Logger
	// Logs, when set, is the ring Log writes to: its lines are forwarded
	// to the master (worker_logs.go).
	Logs *logring.Ring
	// Heartbeat and ReportInterval are the worker's defaults until the
	// master's welcome says otherwise.
	Heartbeat      time.Duration
	ReportInterval time.Duration
	// ReconnectAfter is the master's silence after which the worker drops
	// the connection and dials again (3 s); StopLoadAfter the silence
	// after which it stops all load (10 s).
	ReconnectAfter time.Duration
	StopLoadAfter  time.Duration
	// MaxBackoff bounds the wait between reconnection attempts.
	MaxBackoff time.Duration
}

// RejectedError is a refusal by the master that retrying cannot fix: a
// wrong token, another version, a duplicate worker id.
type RejectedError struct{ Reason string }

func (e *RejectedError) Error() string { return "the master refused this worker: " + e.Reason }

// maxOutbox bounds the reports kept for resending while the master is
// unreachable (an hour of 1 s reports).
const maxOutbox = 3600

// Worker runs the users the master places on it.
type Worker struct {
	cfg         WorkerConfig
	incarnation string
	hostname    string

	mu        sync.Mutex
	lastHeard time.Time
	seq       uint64
	outbox    []*pb.Report // sent or not, not yet acknowledged
	outWake   chan struct{}
	// ends are TestEnd (and the last Goodbye) messages for the master,
	// kept across reconnects.
	ends      *queue[*pb.WorkerMessage]
	test      *workerTest
	testMu    sync.Mutex // serialises starting and stopping tests
	usage     procUsage
	reportInt time.Duration
	hbInt     time.Duration
	masterID  string        // the master that welcomed this worker last
	leaving   bool          // a goodbye is queued: a closed stream is the end
	logs      *logForwarder // nil: no forwarding
	// silent, set by tests, makes the worker leave without a goodbye, as
	// a killed process does.
	silent atomic.Bool
}

type workerTest struct {
	id      uint64
	hash    string
	r       *runner.Runner
	cancel  context.CancelFunc
	gen     uint64
	stopped bool
	// stopTimeout is the test's --stop-timeout.
	stopTimeout time.Duration
	// The open model's scheduler (nil in the closed model) and what it is
	// made from (openmodel.go).
	om       *openmodel.Scheduler
	sc       *script.Script
	ctx      context.Context
	host     string
	http     httpclient.Options
	seed     int64
	idOffset int
	env      testEnv
}

// NewWorker returns a worker; Run connects it.
func NewWorker(cfg WorkerConfig) *Worker {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.ReportInterval <= 0 {
		cfg.ReportInterval = DefaultReportInterval
	}
	if cfg.ReconnectAfter <= 0 {
		cfg.ReconnectAfter = DefaultMissingAfter
	}
	if cfg.StopLoadAfter <= 0 {
		cfg.StopLoadAfter = DefaultStopLoadAfter
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	host, _ := os.Hostname()
	if cfg.ID == "" {
		cfg.ID = DefaultWorkerID(host)
	}
	w := &Worker{cfg: cfg, incarnation: randomHex(8), hostname: host, outWake: make(chan struct{}, 1), ends: newQueue[*pb.WorkerMessage](),
		reportInt: cfg.ReportInterval, hbInt: cfg.Heartbeat}
	if cfg.Logs != nil {
		w.logs = &logForwarder{ring: cfg.Logs}
	}
	return w
}

// DefaultWorkerID is the host name and a random suffix, as Locust names
// its workers.
func DefaultWorkerID(host string) string {
	if host == "" {
		host = "worker"
	}
	return host + "_" + randomHex(4)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ID is the worker's id.
func (w *Worker) ID() string { return w.cfg.ID }

var errQuit = errors.New("the master said quit")

// Run connects to the master and runs what it asks until ctx ends, the
// master says quit (nil), or the master refuses the worker
// (*RejectedError). While the master is unreachable it keeps dialling,
// with backoff; load stops after StopLoadAfter without a word from it.
func (w *Worker) Run(ctx context.Context) error {
	bg, stopBg := context.WithCancel(context.Background())
	defer stopBg()
	go w.reportLoop(bg)
	go w.watchdog(bg)

	// Sessions outlive ctx a little, so the last report can go out.
	sctx, cancelSessions := context.WithCancel(context.Background())
	defer cancelSessions()
	result := make(chan error, 1)
	go func() { result <- w.connectLoop(sctx) }()

	select {
	case err := <-result:
		w.stopTest("worker exiting")
		if errors.Is(err, errQuit) {
			w.drainOutbox(3 * time.Second)
			return nil
		}
		return err
	case <-ctx.Done():
		w.cfg.Log.Info("stopping: sending the last statistics to the master")
		w.stopTest("worker interrupted")
		w.drainOutbox(3 * time.Second)
		w.sayGoodbye(result, 2*time.Second)
		cancelSessions()
		<-result
		return nil
	}
}

// sayGoodbye tells the master this worker is shutting down, after its last
// report, so it is listed as stopped rather than missing, and waits up to
// d for the master to end the stream (connectLoop then returns, to result).
func (w *Worker) sayGoodbye(result chan error, d time.Duration) {
	if w.silent.Load() {
		return
	}
	w.mu.Lock()
	w.leaving = true
	w.mu.Unlock()
	w.ends.push(&pb.WorkerMessage{Msg: &pb.WorkerMessage_Goodbye{Goodbye: &pb.Goodbye{Reason: "worker shutting down"}}})
	select {
	case err := <-result:
		result <- err // for the caller
	case <-time.After(d):
		w.cfg.Log.Warn("the master did not answer the goodbye; it will list this worker as missing")
	}
}

// drainOutbox waits until every report is acknowledged, or d.
func (w *Worker) drainOutbox(d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		n := len(w.outbox)
		w.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.cfg.Log.Warn("some statistics were not acknowledged by the master")
}

// watchdog stops the load when the master has been silent too long.
func (w *Worker) watchdog(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.mu.Lock()
		running := w.test != nil && !w.test.stopped
		quiet := time.Since(w.lastHeard)
		w.mu.Unlock()
		if running && quiet > w.cfg.StopLoadAfter {
			w.cfg.Log.Warn("nothing heard from the master: stopping all load until it is back", "silent_for", quiet.Round(time.Second))
			w.stopTest("master silent")
		}
	}
}
