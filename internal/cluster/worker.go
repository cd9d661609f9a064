package cluster

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"runtime"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/httpclient"
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
	Log     *slog.Logger
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
	test      *workerTest
	testMu    sync.Mutex // serialises starting and stopping tests
	usage     procUsage
	reportInt time.Duration
	hbInt     time.Duration
	masterID  string // the master that welcomed this worker last
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
	return &Worker{cfg: cfg, incarnation: randomHex(8), hostname: host, outWake: make(chan struct{}, 1),
		reportInt: cfg.ReportInterval, hbInt: cfg.Heartbeat}
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
		cancelSessions()
		<-result
		return nil
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

func (w *Worker) connectLoop(ctx context.Context) error {
	backoff := 500 * time.Millisecond
	for {
		welcomed, err := w.session(ctx)
		var rej *RejectedError
		switch {
		case errors.As(err, &rej), errors.Is(err, errQuit):
			return err
		case ctx.Err() != nil:
			return ctx.Err()
		}
		if welcomed {
			backoff = 500 * time.Millisecond
		}
		wait := backoff/2 + time.Duration(mrand.Int64N(int64(backoff/2)+1))
		w.cfg.Log.Warn("connection to master lost; reconnecting", "master", w.cfg.MasterAddr, "err", err, "retry_in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		backoff = min(2*backoff, w.cfg.MaxBackoff)
	}
}

// session is one connection. It reports whether the master welcomed the
// worker.
func (w *Worker) session(parent context.Context) (bool, error) {
	creds := insecure.NewCredentials()
	if w.cfg.TLS != nil {
		creds = credentials.NewTLS(w.cfg.TLS)
	}
	cc, err := grpc.NewClient(w.cfg.MasterAddr, grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage)))
	if err != nil {
		return false, fmt.Errorf("master address %q: %w", w.cfg.MasterAddr, err)
	}
	defer cc.Close()
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	if w.cfg.Token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, TokenHeader, "Bearer "+w.cfg.Token)
	}
	stream, err := pb.NewClusterClient(cc).Connect(ctx)
	if err != nil {
		return false, classify(err)
	}
	w.mu.Lock()
	testID := uint64(0)
	if w.test != nil && !w.test.stopped {
		testID = w.test.id
	}
	w.mu.Unlock()
	hello := &pb.Hello{WorkerId: w.cfg.ID, Incarnation: w.incarnation, Region: w.cfg.Region,
		Hostname: w.hostname, Version: w.cfg.Version, TestId: testID, CpuCount: int32(runtime.NumCPU())}
	if err := stream.Send(&pb.WorkerMessage{Msg: &pb.WorkerMessage_Hello{Hello: hello}}); err != nil {
		return false, classify(err)
	}
	// The first answer is a welcome or a refusal; wait for it with a
	// deadline so a black-holed connection does not hang.
	first := make(chan *pb.MasterMessage, 1)
	ferr := make(chan error, 1)
	go func() {
		m, err := stream.Recv()
		if err != nil {
			ferr <- err
			return
		}
		first <- m
	}()
	var msg *pb.MasterMessage
	select {
	case msg = <-first:
	case err := <-ferr:
		return false, classify(err)
	case <-time.After(w.cfg.ReconnectAfter + 5*time.Second):
		return false, errors.New("no answer from the master")
	}
	if rj := msg.GetReject(); rj != nil {
		return false, &RejectedError{Reason: rj.Reason}
	}
	wel := msg.GetWelcome()
	if wel == nil {
		return false, errors.New("protocol error: the master's first message is not a welcome")
	}
	w.mu.Lock()
	prevMaster := w.masterID
	w.mu.Unlock()
	if prevMaster != "" && wel.MasterId != prevMaster {
		// The master was restarted: what this worker runs and has not
		// delivered belongs to a test no master holds any more.
		w.stopTest("a new master")
		w.mu.Lock()
		if n := len(w.outbox); n > 0 {
			w.cfg.Log.Warn("a new master: dropping the statistics of the previous master's test", "reports", n)
		}
		w.outbox = nil
		w.mu.Unlock()
	}
	w.mu.Lock()
	w.masterID = wel.MasterId
	w.lastHeard = time.Now()
	w.ackLocked(wel.LastSeq)
	if wel.HeartbeatIntervalMs > 0 {
		w.hbInt = time.Duration(wel.HeartbeatIntervalMs) * time.Millisecond
	}
	if wel.ReportIntervalMs > 0 {
		w.reportInt = time.Duration(wel.ReportIntervalMs) * time.Millisecond
	}
	w.mu.Unlock()
	w.cfg.Log.Info("connected to master", "master", w.cfg.MasterAddr, "worker", w.cfg.ID, "region", w.cfg.Region)

	control := newQueue[*pb.WorkerMessage]()
	sendErr := make(chan error, 1)
	go func() { sendErr <- w.sendLoop(ctx, stream, control) }()
	recvErr := make(chan error, 1)
	go func() { recvErr <- w.recvLoop(ctx, stream, control) }()

	silence := time.NewTicker(250 * time.Millisecond)
	defer silence.Stop()
	for {
		select {
		case err := <-recvErr:
			cancel()
			return true, classify(err)
		case err := <-sendErr:
			cancel()
			<-recvErr
			return true, classify(err)
		case <-silence.C:
			w.mu.Lock()
			quiet := time.Since(w.lastHeard)
			w.mu.Unlock()
			if quiet > w.cfg.ReconnectAfter {
				cancel()
				<-recvErr
				return true, fmt.Errorf("nothing heard from the master for %s", quiet.Round(time.Millisecond))
			}
		}
	}
}

func classify(err error) error {
	if err == nil || errors.Is(err, errQuit) {
		return err
	}
	var rej *RejectedError
	if errors.As(err, &rej) {
		return err
	}
	if s, ok := status.FromError(err); ok && (s.Code() == codes.Unauthenticated || s.Code() == codes.PermissionDenied) {
		return &RejectedError{Reason: s.Message()}
	}
	return err
}

// sendLoop sends reports in order (every unacknowledged one first, after
// a reconnect), then control messages, and a heartbeat every interval.
// Control messages go after the reports queued before them, so a Stopped
// always follows the test's final report.
func (w *Worker) sendLoop(ctx context.Context, stream pb.Cluster_ConnectClient, control *queue[*pb.WorkerMessage]) error {
	var sent uint64
	hb := time.NewTimer(0)
	defer hb.Stop()
	for {
		w.mu.Lock()
		var batch []*pb.Report
		for _, r := range w.outbox {
			if r.Seq > sent {
				batch = append(batch, r)
			}
		}
		w.mu.Unlock()
		for i, r := range batch {
			msg := r
			if i == len(batch)-1 {
				// The last report carries the heartbeat (a shallow copy:
				// the queued report stays as it is for resending).
				msg = &pb.Report{Seq: r.Seq, TestId: r.TestId, Delta: r.Delta, Final: r.Final, Status: w.heartbeat()}
			}
			if err := stream.Send(&pb.WorkerMessage{Msg: &pb.WorkerMessage_Report{Report: msg}}); err != nil {
				return err
			}
			sent = r.Seq
		}
		if len(batch) > 0 {
			w.mu.Lock()
			resetTimer(hb, w.hbInt)
			w.mu.Unlock()
		}
		for _, m := range control.drain() {
			if err := stream.Send(m); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.outWake:
		case <-control.wake:
		case <-hb.C:
			if err := stream.Send(&pb.WorkerMessage{Msg: &pb.WorkerMessage_Heartbeat{Heartbeat: w.heartbeat()}}); err != nil {
				return err
			}
			w.mu.Lock()
			hb.Reset(w.hbInt)
			w.mu.Unlock()
		}
	}
}

// resetTimer restarts t for d, draining a pending fire.
func resetTimer(t *time.Timer, d time.Duration) {
	if !t.Stop() {
		select {
		case <-t.C:
		default:
		}
	}
	t.Reset(d)
}

func (w *Worker) heartbeat() *pb.Heartbeat {
	w.mu.Lock()
	defer w.mu.Unlock()
	cpu, mem := w.usage.sample(time.Now())
	h := &pb.Heartbeat{CpuPercent: cpu, MemoryBytes: mem}
	if t := w.test; t != nil && !t.stopped {
		h.TestId, h.TargetsGeneration = t.id, t.gen
		h.Users, h.Spawning = int32(t.r.Users()), t.r.Spawning()
		if t.om != nil {
			h.Users += int32(t.om.Users())
		}
		byClass := t.r.UsersByClass()
		h.UsersByClass = make(map[string]int32, len(byClass))
		for c, n := range byClass {
			h.UsersByClass[c] = int32(n)
		}
	}
	return h
}

func (w *Worker) recvLoop(ctx context.Context, stream pb.Cluster_ConnectClient, control *queue[*pb.WorkerMessage]) error {
	for {
		msg, err := stream.Recv()
		if err != nil {
			return err
		}
		w.mu.Lock()
		w.lastHeard = time.Now()
		w.mu.Unlock()
		switch x := msg.Msg.(type) {
		case *pb.MasterMessage_MasterHeartbeat:
		case *pb.MasterMessage_Ack:
			w.mu.Lock()
			w.ackLocked(x.Ack.Seq)
			w.mu.Unlock()
		case *pb.MasterMessage_Prepare:
			control.push(&pb.WorkerMessage{Msg: &pb.WorkerMessage_Prepared{Prepared: w.prepare(x.Prepare)}})
		case *pb.MasterMessage_Targets:
			if err := w.applyTargets(x.Targets); err != nil {
				w.cfg.Log.Error("cannot apply the master's targets", "err", err)
				control.push(&pb.WorkerMessage{Msg: &pb.WorkerMessage_Prepared{Prepared: &pb.Prepared{TestId: x.Targets.TestId, Error: err.Error()}}})
			}
		case *pb.MasterMessage_Stop:
			id := x.Stop.TestId
			go func() {
				last := w.stopTest("master asked")
				control.push(&pb.WorkerMessage{Msg: &pb.WorkerMessage_Stopped{Stopped: &pb.Stopped{TestId: id, LastSeq: last}}})
			}()
		case *pb.MasterMessage_Quit:
			w.cfg.Log.Info("the master said quit", "reason", x.Quit.Reason)
			return errQuit
		case *pb.MasterMessage_Reject:
			return &RejectedError{Reason: x.Reject.Reason}
		case *pb.MasterMessage_Welcome:
		default:
			w.cfg.Log.Debug("unknown message from master ignored")
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

func (w *Worker) ackLocked(seq uint64) {
	i := 0
	for i < len(w.outbox) && w.outbox[i].Seq <= seq {
		i++
	}
	w.outbox = w.outbox[i:]
}

// prepare loads the test the master sent, after checking that the files
// are those the master hashed.
func (w *Worker) prepare(p *pb.Prepare) *pb.Prepared {
	w.testMu.Lock()
	defer w.testMu.Unlock()
	reply := &pb.Prepared{TestId: p.TestId, ScriptSha256: p.ScriptSha256}
	w.mu.Lock()
	cur := w.test
	w.mu.Unlock()
	if cur != nil && cur.id == p.TestId && !cur.stopped {
		return reply // already running this test (a reconnect)
	}
	if cur != nil && !cur.stopped {
		w.stopTestLocked("a new test starts")
	}
	if got := script.HashFiles(p.Files); got != p.ScriptSha256 {
		reply.Error = fmt.Sprintf("script hash mismatch: the master announced %s but the files received hash to %s", short(p.ScriptSha256), short(got))
		w.cfg.Log.Error("cannot run the test", "err", reply.Error)
		return reply
	}
	s, err := script.LoadFiles(p.Main, p.Files, script.Options{Vars: p.Vars})
	if err != nil {
		reply.Error = fmt.Sprintf("loading the script %s: %v", p.Main, err)
		w.cfg.Log.Error("cannot run the test", "err", reply.Error)
		return reply
	}
	if s.Hash != p.ScriptSha256 {
		reply.Error = fmt.Sprintf("script hash mismatch: the master ran %s, this worker loaded %s", short(p.ScriptSha256), short(s.Hash))
		return reply
	}
	var h httpclient.Options
	if p.Http != nil {
		h = httpclient.Options{HTTP2: p.Http.Http2, InsecureSkipVerify: p.Http.InsecureSkipVerify,
			UserAgent: p.Http.UserAgent, Timeout: time.Duration(p.Http.TimeoutMs) * time.Millisecond}
	}
	r := runner.New(runner.Config{Script: s, Host: p.Host, HTTP: h, Seed: p.Seed,
		StopTimeout: time.Duration(p.StopTimeoutMs) * time.Millisecond, OpenModel: p.OpenModel,
		Log: w.cfg.Log, IDOffset: int(p.IdOffset)})
	ctx, cancel := context.WithCancel(context.Background())
	r.Start(ctx)
	w.mu.Lock()
	w.test = &workerTest{id: p.TestId, hash: s.Hash, r: r, cancel: cancel, stopTimeout: time.Duration(p.StopTimeoutMs) * time.Millisecond,
		sc: s, ctx: ctx, host: p.Host, http: h, seed: p.Seed, idOffset: int(p.IdOffset)}
	w.mu.Unlock()
	w.cfg.Log.Info("test prepared", "test", p.TestId, "script", p.Main, "sha256", short(s.Hash))
	return reply
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func (w *Worker) applyTargets(t *pb.Targets) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	cur := w.test
	if cur == nil || cur.id != t.TestId || cur.stopped {
		return nil // targets of a test this worker does not run (it failed to load or stopped)
	}
	if open := t.GetOpen(); open != nil {
		if err := w.applyOpenLocked(cur, open); err != nil {
			return err
		}
		cur.gen = t.Generation
		return nil
	}
	closed := t.GetClosed()
	if closed == nil {
		return fmt.Errorf("this worker (stampede %s) does not support the workload model the master asked for; run the same version everywhere", w.cfg.Version)
	}
	users := make(map[string]int, len(closed.Users))
	for c, n := range closed.Users {
		users[c] = int(n)
	}
	cur.r.SetTargets(users, closed.SpawnRate)
	cur.gen = t.Generation
	return nil
}

// stopTest stops the running test, queues its final report and returns
// the last sequence number queued.
func (w *Worker) stopTest(why string) uint64 {
	w.testMu.Lock()
	defer w.testMu.Unlock()
	return w.stopTestLocked(why)
}

func (w *Worker) stopTestLocked(why string) uint64 {
	w.mu.Lock()
	t := w.test
	w.mu.Unlock()
	if t != nil && !t.stopped {
		w.cfg.Log.Info("stopping users", "test", t.id, "why", why)
		ctx, cancel := context.WithTimeout(context.Background(), t.stopTimeout+25*time.Second)
		if t.om != nil {
			t.om.Stop(ctx)
		}
		t.r.Stop(ctx)
		cancel()
		w.mu.Lock()
		t.stopped = true
		w.queueReportLocked(t, true)
		w.mu.Unlock()
		t.cancel()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seq
}

// queueReportLocked flushes the runner's statistics into the outbox.
func (w *Worker) queueReportLocked(t *workerTest, final bool) {
	d := t.r.Flush(time.Now())
	if d.Empty() && !final {
		return
	}
	pd, err := EncodeDelta(d)
	if err != nil {
		w.cfg.Log.Error("encoding statistics", "err", err)
		return
	}
	w.seq++
	w.outbox = append(w.outbox, &pb.Report{Seq: w.seq, TestId: t.id, Delta: pd, Final: final})
	if len(w.outbox) > maxOutbox {
		w.cfg.Log.Error("the master has been unreachable too long: the oldest statistics are dropped", "dropped_seq", w.outbox[0].Seq)
		w.outbox = w.outbox[1:]
	}
	select {
	case w.outWake <- struct{}{}:
	default:
	}
}

func (w *Worker) reportLoop(ctx context.Context) {
	for {
		w.mu.Lock()
		d := w.reportInt
		w.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
		w.mu.Lock()
		if t := w.test; t != nil && !t.stopped {
			w.queueReportLocked(t, false)
		}
		w.mu.Unlock()
	}
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
