// Package cluster is distributed mode: a master that places users on
// workers and merges their statistics, and the workers that run them. A
// worker dials the master and holds one gRPC stream (pb.Cluster.Connect);
// the master sends absolute per-class targets, the script and start/stop;
// the worker sends heartbeats and numbered interval deltas, which the
// master acknowledges and applies exactly once.
package cluster

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/httpclient"
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
	// TLS, when set, serves the worker port over TLS.
	TLS     *tls.Config
	Version string
	Log     *slog.Logger
	// Heartbeat is how often heartbeats go both ways; MissingAfter is the
	// silence after which a worker is marked missing and its users are
	// placed elsewhere; ReportInterval is how often workers send deltas.
	Heartbeat      time.Duration
	MissingAfter   time.Duration
	ReportInterval time.Duration
	// Open, when set, runs the open model: the workers share its arrival
	// rate instead of running users (openmodel.go).
	Open *OpenModel
}

// Master is the master's side of the cluster. It is an engine.Driver (and
// engine.WorkerLister), so engine.Engine runs a distributed test the way
// it runs a local one.
type Master struct {
	pb.UnimplementedClusterServer
	cfg MasterConfig
	srv *grpc.Server
	id  string // random per master process

	mu        sync.Mutex
	workers   map[string]*workerState
	nextIndex int
	test      testState
	pending   []originDelta
	lost      []output.LostWorker
	changed   chan struct{} // closed and replaced whenever worker state changes
	gen       uint64
	closed    bool
	monitor   context.CancelFunc
	monDone   chan struct{}
}

type testState struct {
	id       uint64
	active   bool // between the first Apply and the end of Stop
	stopping bool
	params   engine.Params
	classes  []runner.Class
	// origin is time zero of an open-model schedule; openPlaced is set
	// once its first shares went out.
	origin     time.Time
	openPlaced bool
}

type originDelta struct {
	o stats.Origin
	d *stats.Delta
}

type workerState struct {
	id, incarnation, region, hostname, version string
	index                                      int
	conn                                       *masterConn
	firstSeen, lastSeen                        time.Time
	missing                                    bool
	lostAt                                     time.Time
	lastErr                                    string
	lastSeq                                    uint64
	hb                                         *pb.Heartbeat
	assigned                                   map[string]int
	assignedGen                                uint64
	stoppedTest                                uint64
	failedTest                                 uint64
	failure                                    string
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
	m := &Master{cfg: cfg, id: randomHex(8), workers: map[string]*workerState{}, changed: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	m.monitor, m.monDone = cancel, make(chan struct{})
	go m.watch(ctx)
	return m
}

// Serve accepts workers on lis until Close.
func (m *Master) Serve(lis net.Listener) error {
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(maxMessage),
		grpc.MaxSendMsgSize(maxMessage),
		grpc.StreamInterceptor(m.authenticate),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			return nil, status.Error(codes.Unimplemented, "no unary methods")
		}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
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

// TokenHeader is the metadata key of the cluster token.
const TokenHeader = "authorization"

func (m *Master) authenticate(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if m.cfg.Token == "" {
		return h(srv, ss)
	}
	var got string
	if md, ok := metadata.FromIncomingContext(ss.Context()); ok {
		if v := md.Get(TokenHeader); len(v) > 0 {
			got = strings.TrimPrefix(v[0], "Bearer ")
		}
	}
	// Compare digests so neither the content nor the length of the token
	// leaks through timing.
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(m.cfg.Token))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		addr := "unknown"
		if p, ok := peer.FromContext(ss.Context()); ok {
			addr = p.Addr.String()
		}
		reason := "wrong cluster token"
		if got == "" {
			reason = "no cluster token"
		}
		m.cfg.Log.Warn("worker connection rejected", "peer", addr, "reason", reason)
		return status.Error(codes.Unauthenticated, "the master requires a cluster token and the one given ("+reason+") does not match: check --cluster-token / STAMPEDE_CLUSTER_TOKEN / --cluster-token-file")
	}
	return h(srv, ss)
}

// Connect is one worker's session.
func (m *Master) Connect(stream pb.Cluster_ConnectServer) error {
	first := make(chan *pb.WorkerMessage, 1)
	errc := make(chan error, 1)
	go func() {
		msg, err := stream.Recv()
		if err != nil {
			errc <- err
			return
		}
		first <- msg
	}()
	var hello *pb.Hello
	select {
	case msg := <-first:
		hello = msg.GetHello()
	case err := <-errc:
		return err
	case <-time.After(10 * time.Second):
		return status.Error(codes.DeadlineExceeded, "no hello within 10s")
	}
	if hello == nil || hello.WorkerId == "" {
		return status.Error(codes.InvalidArgument, "the first message must be a hello with a worker id")
	}
	if hello.Version != m.cfg.Version {
		reason := fmt.Sprintf("version mismatch: worker %s runs stampede %s, the master runs %s; run the same version everywhere", hello.WorkerId, hello.Version, m.cfg.Version)
		m.cfg.Log.Error("worker refused", "worker", hello.WorkerId, "region", hello.Region, "reason", reason)
		_ = stream.Send(&pb.MasterMessage{Msg: &pb.MasterMessage_Reject{Reject: &pb.Reject{Reason: reason}}})
		return nil
	}

	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	c := &masterConn{out: newQueue[*pb.MasterMessage](), cancel: cancel}
	w, err := m.join(hello, c)
	if err != nil {
		m.cfg.Log.Error("worker refused", "worker", hello.WorkerId, "region", hello.Region, "reason", err)
		_ = stream.Send(&pb.MasterMessage{Msg: &pb.MasterMessage_Reject{Reject: &pb.Reject{Reason: err.Error()}}})
		return nil
	}
	sendDone := make(chan struct{})
	go func() {
		defer close(sendDone)
		m.sendLoop(ctx, stream, c)
	}()
	var recvErr error
	for {
		msg, err := stream.Recv()
		if err != nil {
			recvErr = err
			break
		}
		m.handle(w, c, msg)
	}
	cancel()
	<-sendDone
	m.leave(w, c, recvErr)
	return nil
}

// sendLoop sends the queued messages; a heartbeat goes out when nothing
// else was sent for an interval (an ack every second usually stands for
// it, which halves the master's writes).
func (m *Master) sendLoop(ctx context.Context, stream pb.Cluster_ConnectServer, c *masterConn) {
	hb := time.NewTimer(m.cfg.Heartbeat)
	defer hb.Stop()
	for {
		if msgs := c.out.drain(); len(msgs) > 0 {
			for _, msg := range msgs {
				if err := stream.Send(msg); err != nil {
					c.cancel()
					return
				}
			}
			resetTimer(hb, m.cfg.Heartbeat)
		}
		select {
		case <-ctx.Done():
			return
		case <-c.out.wake:
		case <-hb.C:
			c.send(&pb.MasterMessage{Msg: &pb.MasterMessage_MasterHeartbeat{MasterHeartbeat: &pb.Heartbeat{}}})
		}
	}
}

// join registers a (re)connecting worker and brings it up to date.
func (m *Master) join(h *pb.Hello, c *masterConn) (*workerState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errors.New("the master is shutting down")
	}
	now := time.Now()
	w := m.workers[h.WorkerId]
	switch {
	case w == nil:
		w = &workerState{id: h.WorkerId, index: m.nextIndex, firstSeen: now}
		m.nextIndex++
		m.workers[h.WorkerId] = w
	case w.incarnation != h.Incarnation && w.conn != nil && !w.missing:
		return nil, fmt.Errorf("a worker with id %q is already connected (from host %s); give each worker its own --name", h.WorkerId, w.hostname)
	case w.incarnation != h.Incarnation:
		w.lastSeq = 0 // a restarted worker numbers its reports from 1 again
	}
	if w.conn != nil && w.conn != c {
		w.conn.cancel() // a stale stream of the same worker
	}
	rejoined := w.missing
	w.incarnation, w.region, w.hostname, w.version = h.Incarnation, h.Region, h.Hostname, h.Version
	w.conn, w.lastSeen, w.missing, w.lastErr = c, now, false, ""
	w.hb = &pb.Heartbeat{TestId: h.TestId}
	c.send(&pb.MasterMessage{Msg: &pb.MasterMessage_Welcome{Welcome: &pb.Welcome{
		MasterVersion: m.cfg.Version, LastSeq: w.lastSeq, MasterId: m.id,
		HeartbeatIntervalMs: m.cfg.Heartbeat.Milliseconds(), ReportIntervalMs: m.cfg.ReportInterval.Milliseconds(),
	}}})
	m.cfg.Log.Info("worker connected", "worker", w.id, "region", w.region, "host", w.hostname, "rejoined", rejoined)
	switch {
	case m.test.active && m.test.stopping:
		c.send(stopMsg(m.test.id))
	case m.test.active:
		c.send(m.prepareMsg(w))
		w.assigned, w.assignedGen = nil, 0
		m.rebalanceLocked("worker joined: " + w.id)
	}
	m.notifyLocked()
	return w, nil
}

// leave records that a worker's stream ended. The worker is not missing
// yet: it has MissingAfter to come back before its users move.
func (m *Master) leave(w *workerState, c *masterConn, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if w.conn != c {
		return
	}
	w.conn = nil
	if err != nil && status.Code(err) != codes.Canceled {
		w.lastErr = err.Error()
	} else {
		w.lastErr = "connection closed"
	}
	m.cfg.Log.Info("worker disconnected", "worker", w.id, "region", w.region, "err", w.lastErr)
	m.notifyLocked()
}

func (m *Master) handle(w *workerState, c *masterConn, msg *pb.WorkerMessage) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if w.conn != c {
		return // a stale stream
	}
	w.lastSeen = time.Now()
	switch x := msg.Msg.(type) {
	case *pb.WorkerMessage_Heartbeat:
		w.hb = x.Heartbeat
	case *pb.WorkerMessage_Report:
		if x.Report.Status != nil {
			w.hb = x.Report.Status
		}
		m.reportLocked(w, c, x.Report)
	case *pb.WorkerMessage_Prepared:
		p := x.Prepared
		if p.Error != "" && p.TestId == m.test.id {
			w.failedTest, w.failure = p.TestId, p.Error
			m.cfg.Log.Error("worker cannot run the test; its users go to other workers", "worker", w.id, "region", w.region, "err", p.Error)
			if m.test.active && !m.test.stopping {
				m.rebalanceLocked("worker failed: " + w.id)
			}
		}
	case *pb.WorkerMessage_Stopped:
		if x.Stopped.TestId > w.stoppedTest {
			w.stoppedTest = x.Stopped.TestId
		}
		m.notifyLocked()
	case *pb.WorkerMessage_Hello:
		m.cfg.Log.Warn("second hello on one stream ignored", "worker", w.id)
	}
}

func (m *Master) reportLocked(w *workerState, c *masterConn, r *pb.Report) {
	ack := func() { c.send(&pb.MasterMessage{Msg: &pb.MasterMessage_Ack{Ack: &pb.Ack{Seq: w.lastSeq}}}) }
	if r.Seq <= w.lastSeq {
		ack() // a report sent again after a reconnect: already applied
		return
	}
	if r.Seq != w.lastSeq+1 && w.lastSeq != 0 {
		m.cfg.Log.Warn("reports missing from a worker", "worker", w.id, "expected_seq", w.lastSeq+1, "got_seq", r.Seq)
	}
	w.lastSeq = r.Seq
	ack()
	if r.TestId != m.test.id || !m.test.active || r.Delta == nil {
		if r.Delta != nil && len(r.Delta.Entries) > 0 {
			m.cfg.Log.Warn("statistics of a test that is over were dropped", "worker", w.id, "test", r.TestId)
		}
		return
	}
	d, err := DecodeDelta(r.Delta)
	if err != nil {
		m.cfg.Log.Error("bad report from worker", "worker", w.id, "seq", r.Seq, "err", err)
		return
	}
	m.pending = append(m.pending, originDelta{stats.Origin{Region: w.region, Worker: w.id}, d})
}

func stopMsg(id uint64) *pb.MasterMessage {
	return &pb.MasterMessage{Msg: &pb.MasterMessage_Stop{Stop: &pb.Stop{TestId: id}}}
}

func (m *Master) prepareMsg(w *workerState) *pb.MasterMessage {
	s := m.cfg.Script
	h := m.cfg.HTTP
	return &pb.MasterMessage{Msg: &pb.MasterMessage_Prepare{Prepare: &pb.Prepare{
		TestId: m.test.id, Main: mainName(s), Files: s.Files, ScriptSha256: s.Hash,
		Vars: m.cfg.Vars, Seed: m.cfg.Seed, StopTimeoutMs: m.cfg.StopTimeout.Milliseconds(),
		IdOffset: int64(w.index) * idStride, Host: m.test.params.Host, OpenModel: m.cfg.Open != nil,
		Http: &pb.HTTPOptions{Http2: h.HTTP2, InsecureSkipVerify: h.InsecureSkipVerify, UserAgent: h.UserAgent, TimeoutMs: h.Timeout.Milliseconds()},
	}}}
}

// mainName is the main file's key in Script.Files (its base name).
func mainName(s *script.Script) string {
	name := s.Main
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	if _, ok := s.Files[name]; ok {
		return name
	}
	for k := range s.Files { // a script with one file
		if len(s.Files) == 1 {
			return k
		}
	}
	return name
}

// eligibleLocked lists the workers that can take users now.
func (m *Master) eligibleLocked() []*workerState {
	var out []*workerState
	for _, w := range m.workers {
		if w.missing || w.failedTest == m.test.id && m.test.id != 0 {
			continue
		}
		if w.conn == nil && w.assigned == nil {
			continue // gone before it was given users
		}
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// rebalanceLocked computes placement and sends every worker whose share
// changed its new absolute targets.
func (m *Master) rebalanceLocked(why string) {
	ws := m.eligibleLocked()
	if m.cfg.Open != nil {
		m.rebalanceOpenLocked(ws, why)
		return
	}
	pws := make([]placeWorker, len(ws))
	for i, w := range ws {
		pws[i] = placeWorker{ID: w.id, Host: w.hostname}
	}
	p := m.test.params
	plan := place(m.test.classes, p.Users, pws)
	if len(p.ClassUsers) > 0 {
		plan = placeTotals(m.test.classes, p.ClassUsers, pws)
	}
	rate := p.SpawnRate
	if len(ws) > 0 {
		rate /= float64(len(ws))
	}
	m.gen++
	for _, w := range ws {
		users := plan[w.id]
		if w.conn == nil {
			w.assigned = users // sent when it reconnects
			continue
		}
		w.assigned, w.assignedGen = users, m.gen
		w.conn.send(m.targetsMsg(users, rate))
	}
	m.cfg.Log.Debug("placement", "why", why, "workers", len(ws), "users", p.Users)
}

func (m *Master) targetsMsg(users map[string]int, rate float64) *pb.MasterMessage {
	u := make(map[string]int32, len(users))
	for k, v := range users {
		u[k] = int32(v)
	}
	return &pb.MasterMessage{Msg: &pb.MasterMessage_Targets{Targets: &pb.Targets{
		TestId: m.test.id, Generation: m.gen, Host: m.test.params.Host,
		Model: &pb.Targets_Closed{Closed: &pb.ClosedModel{Users: u, SpawnRate: rate}},
	}}}
}

func (m *Master) notifyLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// watch marks silent workers missing and moves their users.
func (m *Master) watch(ctx context.Context) {
	defer close(m.monDone)
	t := time.NewTicker(m.cfg.MissingAfter / 6)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			m.checkMissing(now)
		}
	}
}

func (m *Master) checkMissing(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	moved := false
	for _, w := range m.workers {
		if w.missing || now.Sub(w.lastSeen) <= m.cfg.MissingAfter {
			continue
		}
		w.missing, w.lostAt = true, now
		reason := fmt.Sprintf("no message for %s", m.cfg.MissingAfter)
		if w.lastErr != "" {
			reason += " (" + w.lastErr + ")"
		}
		if w.conn != nil {
			w.conn.cancel()
			w.conn = nil
		}
		users := 0
		if w.hb != nil {
			users = int(w.hb.Users)
		}
		m.cfg.Log.Warn("worker missing", "worker", w.id, "region", w.region, "host", w.hostname, "last_seen", w.lastSeen.Format(time.RFC3339Nano), "reason", reason)
		if m.test.active {
			m.lost = append(m.lost, output.LostWorker{ID: w.id, Region: w.region, Host: w.hostname, Users: users,
				LastHeartbeat: w.lastSeen, LostAt: now, Reason: reason})
			if !m.test.stopping && w.assigned != nil {
				moved = true
			}
		}
		w.assigned = nil
		m.notifyLocked()
	}
	if moved {
		m.rebalanceLocked("worker missing")
	}
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

// Apply starts a test on the workers or changes its targets.
func (m *Master) Apply(_ context.Context, p engine.Params) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	classes := runner.Classes(m.cfg.Script)
	if len(p.Classes) > 0 {
		classes = runner.FilterClasses(classes, p.Classes)
		if len(classes) == 0 {
			return &engine.FieldError{Field: "user_classes", Msg: fmt.Sprintf("none of %v is a user class of the script", p.Classes)}
		}
	}
	if !m.test.active {
		if m.connectedLocked() == 0 {
			return errors.New("no workers are connected")
		}
		m.test = testState{id: m.test.id + 1, active: true, params: p, classes: classes, origin: time.Now()}
		m.pending, m.lost = nil, nil
		for _, w := range m.workers {
			w.assigned, w.assignedGen = nil, 0
			if w.conn != nil && !w.missing {
				w.conn.send(m.prepareMsg(w))
			}
		}
	}
	m.test.params, m.test.classes = p, classes
	m.rebalanceLocked("apply")
	return nil
}

// Stop stops the test on every worker and waits (until ctx ends) for each
// connected worker to confirm that its final report was sent. Workers
// that go missing meanwhile are not waited for.
func (m *Master) Stop(ctx context.Context) {
	m.mu.Lock()
	if !m.test.active {
		m.mu.Unlock()
		return
	}
	m.test.stopping = true
	id := m.test.id
	for _, w := range m.workers {
		if w.conn != nil && !w.missing {
			w.conn.send(stopMsg(id))
		}
	}
	m.mu.Unlock()
	for {
		m.mu.Lock()
		var waiting []string
		for _, w := range m.workers {
			if !w.missing && w.stoppedTest < id && (w.conn != nil || w.assigned != nil) && w.failedTest != id {
				waiting = append(waiting, w.id)
			}
		}
		ch := m.changed
		m.mu.Unlock()
		if len(waiting) == 0 {
			break
		}
		select {
		case <-ch:
			continue
		case <-time.After(m.cfg.MissingAfter / 6): // re-check: workers go missing by time
			continue
		case <-ctx.Done():
			sort.Strings(waiting)
			m.cfg.Log.Warn("workers did not confirm their final statistics in time", "workers", strings.Join(waiting, ","))
		}
		break
	}
	m.mu.Lock()
	m.test.active, m.test.stopping = false, false
	for _, w := range m.workers {
		w.assigned = nil
	}
	m.mu.Unlock()
}

// Users is the number of users the workers run.
func (m *Master) Users() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, w := range m.workers {
		if !w.missing && w.hb != nil && w.hb.TestId == m.test.id {
			n += int(w.hb.Users)
		}
	}
	return n
}

// UsersByClass is the number of users per class over every worker, as
// their last heartbeats said.
func (m *Master) UsersByClass() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for _, w := range m.workers {
		if !w.missing && w.hb != nil && w.hb.TestId == m.test.id {
			for c, n := range w.hb.UsersByClass {
				out[c] += int(n)
			}
		}
	}
	return out
}

// Spawning reports whether some worker has not reached its targets yet.
func (m *Master) Spawning() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.test.active {
		return false
	}
	for _, w := range m.workers {
		if w.missing || w.conn == nil || w.assignedGen == 0 {
			continue
		}
		if w.hb == nil || w.hb.TargetsGeneration < w.assignedGen || w.hb.Spawning {
			return true
		}
	}
	return false
}

// Collect hands over the deltas received since the last call.
func (m *Master) Collect(_ time.Time, add func(stats.Origin, *stats.Delta)) {
	m.mu.Lock()
	p := m.pending
	m.pending = nil
	m.mu.Unlock()
	for _, x := range p {
		add(x.o, x.d)
	}
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
