// Package cluster is distributed mode: a master that places users on
// workers and merges their statistics, and the workers that run them. A
// worker dials the master and holds one gRPC stream (pb.Cluster.Connect);
// the master sends absolute per-class targets, the script and start/stop;
// the worker sends heartbeats and numbered interval deltas, which the
// master acknowledges and applies exactly once.
package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/guard"
	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/logring"
	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/runner"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
)

// Timing defaults of the protocol.
const (
	DefaultHeartbeat      = time.Second
	DefaultMissingAfter   = 3 * time.Second
	DefaultReportInterval = time.Second
	DefaultStopLoadAfter  = 10 * time.Second
	// maxMessage bounds one gRPC message (scripts and deltas with many
	// names can be large).
	maxMessage = 64 << 20
	// idStride separates the user ids of workers.
	idStride = 1_000_000
)

// MasterConfig configures a Master.
type MasterConfig struct {
	Script      *script.Script
	Vars        map[string]string
	Seed        int64
	HTTP        httpclient.Options
	StopTimeout time.Duration
	// Token, when set, is required of every worker connection.
	Token string
	// TokenLimit slows down token guessing per client address (zero: the
	// defaults of package guard).
	TokenLimit guard.Config
	// TLS, when set, serves the worker port over TLS.
	TLS     *tls.Config
	Version string
	// GoClasses are the user classes written in Go that the master's
	// program carries: a worker must carry the same (goclasses.go).
	GoClasses []*script.UserClass
	Log       *slog.Logger
	// Logs, when set, is the ring the web UI reads: the workers' log
	// lines go into it, tagged with worker and region (worker_logs.go).
	// They are printed with Log either way.
	Logs *logring.Ring
	// Heartbeat is how often heartbeats go both ways; MissingAfter is the
	// silence after which a worker is marked missing and its users are
	// placed elsewhere; ReportInterval is how often workers send deltas.
	Heartbeat      time.Duration
	MissingAfter   time.Duration
	ReportInterval time.Duration
	// Open, when set, runs the open model: the workers share its arrival
	// rate instead of running users (openmodel.go).
	Open *OpenModel
	// MaxWorkers bounds the workers connected at once (DefaultMaxWorkers
	// when 0); ForgetAfter is how long a missing worker stays listed
	// (DefaultForgetAfter when 0); MaxNames is the master's --max-names,
	// which workers record by and a report may hold (DefaultMaxNames when
	// 0, none when negative).
	MaxWorkers  int
	ForgetAfter time.Duration
	MaxNames    int
	// OnTestEnd is called (on its own goroutine, once per test) when the
	// test should end by itself: a script called u.stop_test, or every
	// worker finished its part of the iterations (master_shares.go).
	OnTestEnd func(reason string)
}

// Master is the master's side of the cluster. It is an engine.Driver (and
// engine.WorkerLister), so engine.Engine runs a distributed test the way
// it runs a local one.
type Master struct {
	pb.UnimplementedClusterServer
	cfg    MasterConfig
	srv    *grpc.Server
	id     string         // random per master process
	tokens *guard.Limiter // wrong tokens per client address
	// awaitingHello holds a slot per stream waiting for its hello
	// (maxAwaitingHello; hostile tests make it smaller).
	awaitingHello chan struct{}

	mu        sync.Mutex
	workers   map[string]*workerState
	nextIndex int
	test      testState
	pending   []originDelta
	// pendingCost is about the bytes held in pending; over pendingLimit
	// (maxPendingCost), reports wait.
	pendingCost, pendingLimit int
	lost                      []output.LostWorker
	lostOmitted               int // lost workers beyond maxLost
	// refusedAt is when a refusal was last logged; refusedQuiet counts
	// those not logged since.
	refusedAt    time.Time
	refusedQuiet int
	changed      chan struct{} // closed and replaced whenever worker state changes
	gen          uint64
	closed       bool
	monitor      context.CancelFunc
	monDone      chan struct{}

	// open is the workload of the next test (SetOpen): the open model,
	// or nil for the closed one.
	open *OpenModel
}

type testState struct {
	id       uint64
	active   bool // between the first Apply and the end of Stop
	stopping bool
	params   engine.Params
	classes  []runner.Class
	// script and vars are what the workers load for this test (the
	// config's, or the web form's custom parameters: engine.Params.Script);
	// open is its open model (nil: closed). All fixed at its start.
	script *script.Script
	vars   map[string]string
	open   *OpenModel
	// tags and excludeTags are the test's task selection, fixed at its
	// start (an edit does not change them) and sent to every worker.
	tags, excludeTags []string
	// origin is time zero of an open-model schedule; openPlaced is set
	// once its first shares went out.
	origin     time.Time
	openPlaced bool
	// What the test's statistics keep apart, bounded (limits.go): the
	// regions and workers with their own tables, the distinct failures
	// and exceptions.
	regions, workers map[string]bool
	errors           map[stats.ErrorKey]bool
	exceptions       map[stats.ExceptionKey]bool
	// shareCount is the number of workers given a share at the start;
	// ending is set once OnTestEnd was called.
	shareCount int
	ending     bool
}

type originDelta struct {
	o stats.Origin
	d *stats.Delta
}

type workerState struct {
	id, incarnation, region, hostname, version string
	cpus                                       int32
	index                                      int
	conn                                       *masterConn
	firstSeen, lastSeen                        time.Time
	missing                                    bool
	lostAt                                     time.Time
	// left marks a missing worker that said goodbye (a clean shutdown):
	// shown as stopped, never counted as lost.
	left        bool
	lastErr     string
	lastSeq     uint64
	hb          *pb.Heartbeat
	assigned    map[string]int
	assignedGen uint64
	stoppedTest uint64
	failedTest  uint64
	failure     string
	share       share
}

type masterConn struct {
	out    *queue[*pb.MasterMessage]
	cancel context.CancelFunc
}

func (c *masterConn) send(m *pb.MasterMessage) { c.out.push(m) }

// NewMaster returns a master; call Serve to accept workers.
func NewMaster(cfg MasterConfig) *Master {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.MissingAfter <= 0 {
		cfg.MissingAfter = DefaultMissingAfter
	}
	if cfg.ReportInterval <= 0 {
		cfg.ReportInterval = DefaultReportInterval
	}
	if cfg.MaxWorkers <= 0 {
		cfg.MaxWorkers = DefaultMaxWorkers
	}
	if cfg.ForgetAfter <= 0 {
		cfg.ForgetAfter = DefaultForgetAfter
	}
	if cfg.MaxNames == 0 {
		cfg.MaxNames = DefaultMaxNames
	}
	tl := cfg.TokenLimit
	tl.What, tl.Log = "worker port: wrong cluster tokens", cfg.Log
	m := &Master{cfg: cfg, open: cfg.Open, pendingLimit: maxPendingCost, id: randomHex(8), workers: map[string]*workerState{}, changed: make(chan struct{}), tokens: guard.New(tl),
		awaitingHello: make(chan struct{}, maxAwaitingHello)}
	ctx, cancel := context.WithCancel(context.Background())
	m.monitor, m.monDone = cancel, make(chan struct{})
	go m.watch(ctx)
	return m
}

// Serve accepts workers on lis until Close.
func (m *Master) Serve(lis net.Listener) error {
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(maxRecvMessage),
		grpc.MaxSendMsgSize(maxMessage),
		grpc.StreamInterceptor(m.authenticate),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			return nil, status.Error(codes.Unimplemented, "no unary methods")
		}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		// a connection that never finishes its TLS and HTTP/2 handshake
		// is closed after this, not gRPC's default two minutes
		grpc.ConnectionTimeout(helloTimeout),
		grpc.StaticStreamWindowSize(flowWindow),
		grpc.StaticConnWindowSize(flowWindow),
	}
	if m.cfg.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(m.cfg.TLS)))
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return errors.New("master closed")
	}
	m.srv = grpc.NewServer(opts...)
	pb.RegisterClusterServer(m.srv, m)
	srv := m.srv
	m.mu.Unlock()
	return srv.Serve(lis)
}

func (m *Master) notifyLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// WaitWorkers waits until n workers are connected.
func (m *Master) WaitWorkers(ctx context.Context, n int) error {
	for {
		m.mu.Lock()
		c := m.connectedLocked()
		ch := m.changed
		m.mu.Unlock()
		if c >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d expected workers connected: %w", c, n, ctx.Err())
		case <-ch:
		}
	}
}

// Connected is the number of connected workers.
func (m *Master) Connected() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.connectedLocked()
}

func (m *Master) connectedLocked() int {
	n := 0
	for _, w := range m.workers {
		if w.conn != nil && !w.missing {
			n++
		}
	}
	return n
}

// Workers lists every worker the master knows, by id.
func (m *Master) Workers() []output.WorkerInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]output.WorkerInfo, 0, len(m.workers))
	for _, w := range m.workers {
		wi := output.WorkerInfo{ID: w.id, Region: w.region, Host: w.hostname, LastHeartbeat: w.lastSeen}
		if w.hb != nil {
			wi.Users, wi.CPUPercent, wi.MemoryBytes = int(w.hb.Users), w.hb.CpuPercent, w.hb.MemoryBytes
		}
		switch {
		case w.left:
			wi.State = output.WorkerStopped
			at := w.lostAt
			wi.LeftAt = &at
			wi.Users = 0
		case w.missing:
			wi.State = output.WorkerMissing
			at := w.lostAt
			wi.LostAt = &at
			wi.Users = 0
		case m.test.id != 0 && w.stoppedTest >= m.test.id && !(m.test.active && !m.test.stopping):
			wi.State = output.WorkerStopped
		case m.test.active && w.hb != nil && w.hb.TestId == m.test.id && (w.hb.Spawning || w.hb.TargetsGeneration < w.assignedGen):
			wi.State = output.WorkerSpawning
		case m.test.active && w.hb != nil && w.hb.TestId == m.test.id:
			wi.State = output.WorkerRunning
		default:
			wi.State = output.WorkerReady
		}
		out = append(out, wi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Lost lists the workers that went missing during the current or last
// test, in the order they were lost.
func (m *Master) Lost() []output.LostWorker {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]output.LostWorker(nil), m.lost...)
}

// Close tells every worker to quit (reason is shown to them), waits
// briefly for the messages to go out, and stops serving.
func (m *Master) Close(reason string) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	var conns []*masterConn
	for _, w := range m.workers {
		if w.conn != nil {
			w.conn.send(&pb.MasterMessage{Msg: &pb.MasterMessage_Quit{Quit: &pb.Quit{Reason: reason}}})
			conns = append(conns, w.conn)
		}
	}
	srv := m.srv
	m.mu.Unlock()
	deadline := time.Now().Add(2 * time.Second)
	for _, c := range conns {
		for c.out.len() > 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	m.monitor()
	<-m.monDone
	m.tokens.Close()
	if srv != nil {
		done := make(chan struct{})
		go func() { srv.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			srv.Stop()
		}
	}
}
