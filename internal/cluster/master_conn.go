package cluster

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/guard"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
)

// TokenHeader is the metadata key of the cluster token.
const TokenHeader = "authorization"

// authenticate checks the cluster token of a worker connection. Wrong
// tokens count against the client's address: past a few, the address
// waits, doubling, and its connections are refused unchecked
// (ResourceExhausted, which a worker retries; Unauthenticated makes it
// exit). The rejections are logged per address and interval, with counts.
func (m *Master) authenticate(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if m.cfg.Token == "" {
		return h(srv, ss)
	}
	client := "unknown"
	if p, ok := peer.FromContext(ss.Context()); ok {
		client = guard.ClientKey(p.Addr.String())
	}
	if wait := m.tokens.Wait(client); wait > 0 {
		return status.Errorf(codes.ResourceExhausted, "too many wrong cluster tokens from this address: retry in %d s", int(math.Ceil(wait.Seconds())))
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
		m.tokens.Fail(client)
		reason := "wrong cluster token"
		if got == "" {
			reason = "no cluster token"
		}
		return status.Error(codes.Unauthenticated, "the master requires a cluster token and the one given ("+reason+") does not match: check --cluster-token / STAMPEDE_CLUSTER_TOKEN / --cluster-token-file")
	}
	m.tokens.Succeed(client)
	return h(srv, ss)
}

// Connect is one worker's session.
func (m *Master) Connect(stream pb.Cluster_ConnectServer) error {
	hello, err := m.awaitHello(stream)
	if err != nil {
		return err
	}
	if err := checkHello(hello); err != nil {
		m.refuse(stream, hello, err.Error())
		return nil
	}
	ok, same := versionsCompatible(m.cfg.Version, hello.Version)
	if ok && !same {
		m.cfg.Log.Warn("worker runs another patch release; accepted (same major.minor)", "worker", hello.WorkerId, "region", hello.Region,
			"worker_version", hello.Version, "master_version", m.cfg.Version)
	}
	if !ok {
		reason := fmt.Sprintf("version mismatch: worker %s runs stampede %s, the master runs %s; workers must run the same major.minor release as the master (a patch difference is accepted)", hello.WorkerId, hello.Version, m.cfg.Version)
		m.refuse(stream, hello, reason)
		return nil
	}
	if reason := goClassesDiffer(m.cfg.GoClasses, hello); reason != "" {
		m.refuse(stream, hello, reason)
		return nil
	}

	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	c := &masterConn{out: newQueue[*pb.MasterMessage](), cancel: cancel}
	w, err := m.join(hello, c)
	if err != nil {
		m.refuse(stream, hello, err.Error())
		return nil
	}
	sendDone := make(chan struct{})
	go func() {
		defer close(sendDone)
		m.sendLoop(ctx, stream, c)
	}()
	var recvErr error
	// The worker's log lines are printed on this goroutine, without the
	// master's lock.
	logs := &logGate{worker: hello.WorkerId, region: hello.Region}
	for {
		msg, err := stream.Recv()
		if err != nil {
			recvErr = err
			break
		}
		if lg := msg.GetLogs(); lg != nil {
			m.workerLogs(logs, lg)
			continue
		}
		var dec *decodedReport
		if r := msg.GetReport(); r != nil {
			m.waitPending(ctx, w, c)
			// Checked and decoded on this worker's goroutine, before the
			// master's lock: with 1,000 workers the lock must only be held
			// for the bookkeeping, not for turning histograms into bins.
			dec = decodeReport(r.Delta, m.cfg.MaxNames)
		}
		if msg.GetGoodbye() != nil {
			m.goodbye(w, c, msg.GetGoodbye())
			break // the worker is leaving: end its stream
		}
		if err := m.handle(w, c, msg, dec); err != nil {
			// Only a broken or hostile worker sends this: refuse it for
			// good (an honest one exits with the reason) and close.
			m.logRefusal("worker disconnected: it sent an invalid message", w.id, w.region, err.Error())
			c.send(&pb.MasterMessage{Msg: &pb.MasterMessage_Reject{Reject: &pb.Reject{Reason: "invalid message: " + err.Error()}}})
			for deadline := time.Now().Add(time.Second); c.out.len() > 0 && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			recvErr = err
			break
		}
	}
	cancel()
	<-sendDone
	m.leave(w, c, recvErr)
	return nil
}

// isClass says whether name is a user class of the script: a worker
// reports users only of those.
func (m *Master) isClass(name string) bool {
	s := m.cfg.Script
	if m.test.script != nil {
		s = m.test.script
	}
	if s == nil {
		return true
	}
	for _, c := range s.Classes {
		if c.Name == name {
			return true
		}
	}
	return false
}

// refuse sends a worker its refusal, which it exits with.
func (m *Master) refuse(stream pb.Cluster_ConnectServer, h *pb.Hello, reason string) {
	m.logRefusal("worker refused", h.GetWorkerId(), h.GetRegion(), reason)
	_ = stream.Send(&pb.MasterMessage{Msg: &pb.MasterMessage_Reject{Reject: &pb.Reject{Reason: reason}}})
}

// logRefusal logs a refused or disconnected worker, at most one a second:
// the ones in between are counted in the next line, so a flood of fake
// workers cannot flood the log. Worker-supplied strings are cut.
func (m *Master) logRefusal(msg, id, region, reason string) {
	m.mu.Lock()
	now := time.Now()
	if now.Sub(m.refusedAt) < time.Second {
		m.refusedQuiet++
		m.mu.Unlock()
		return
	}
	quiet := m.refusedQuiet
	m.refusedAt, m.refusedQuiet = now, 0
	m.mu.Unlock()
	m.cfg.Log.Error(msg, "worker", logID(id), "region", logID(region), "reason", stats.Cut(reason, 512), "not_logged_since", quiet)
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
	if w == nil || w.missing {
		if err := m.admitLocked(); err != nil {
			return nil, err
		}
	}
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
	w.incarnation, w.region, w.hostname, w.version, w.cpus = h.Incarnation, h.Region, h.Hostname, h.Version, h.CpuCount
	w.conn, w.lastSeen, w.missing, w.left, w.lastErr = c, now, false, false, ""
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
		m.checkIterationsLocked() // a restarted worker's part is gone with its process
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

// handle applies one message of a worker; an error means the message is
// invalid and the worker must go.
// dec is the message's report decoded (decodeReport), when it is one.
func (m *Master) handle(w *workerState, c *masterConn, msg *pb.WorkerMessage, dec *decodedReport) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if w.conn != c {
		return nil // a stale stream
	}
	w.lastSeen = time.Now()
	switch x := msg.Msg.(type) {
	case *pb.WorkerMessage_Heartbeat:
		if err := checkHeartbeat(x.Heartbeat, w.cpus, m.isClass); err != nil {
			return err
		}
		w.hb = x.Heartbeat
	case *pb.WorkerMessage_Report:
		if err := checkHeartbeat(x.Report.Status, w.cpus, m.isClass); err != nil {
			return err
		}
		if x.Report.Status != nil {
			w.hb = x.Report.Status
		}
		if dec == nil {
			dec = decodeReport(x.Report.Delta, m.cfg.MaxNames)
		}
		return m.reportLocked(w, c, x.Report, dec)
	case *pb.WorkerMessage_Prepared:
		p := x.Prepared
		if p.Error != "" && p.TestId == m.test.id {
			w.failedTest, w.failure = p.TestId, stats.Cut(p.Error, maxErrorLen)
			m.cfg.Log.Error("worker cannot run the test; its users go to other workers", "worker", w.id, "region", w.region, "err", w.failure)
			if m.test.active && !m.test.stopping {
				m.rebalanceLocked("worker failed: " + w.id)
			}
			m.checkIterationsLocked()
		}
	case *pb.WorkerMessage_TestEnd:
		m.testEndLocked(w, x.TestEnd)
	case *pb.WorkerMessage_Stopped:
		if x.Stopped.TestId > w.stoppedTest {
			w.stoppedTest = x.Stopped.TestId
		}
		m.notifyLocked()
	case *pb.WorkerMessage_Hello:
		m.cfg.Log.Warn("second hello on one stream ignored", "worker", w.id)
	}
	return nil
}

// goodbye takes a worker that shuts down cleanly out of the test at once:
// its users move to the others, as for a missing worker, but it is listed
// as stopped and not among the lost workers.
func (m *Master) goodbye(w *workerState, c *masterConn, g *pb.Goodbye) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if w.conn != c {
		return
	}
	reason := stats.Cut(g.Reason, maxErrorLen)
	w.missing, w.left, w.lostAt, w.lastSeen = true, true, time.Now(), time.Now()
	m.cfg.Log.Info("worker stopped (clean shutdown)", "worker", w.id, "region", w.region, "host", w.hostname, "reason", reason)
	moved := m.test.active && !m.test.stopping && w.assigned != nil
	w.assigned = nil
	if moved {
		m.rebalanceLocked("worker stopped: " + w.id)
	}
	m.checkIterationsLocked()
	m.notifyLocked()
}

func stopMsg(id uint64) *pb.MasterMessage {
	return &pb.MasterMessage{Msg: &pb.MasterMessage_Stop{Stop: &pb.Stop{TestId: id}}}
}

func (m *Master) prepareMsg(w *workerState) *pb.MasterMessage {
	s := m.test.script
	h := m.cfg.HTTP
	p := &pb.Prepare{
		TestId: m.test.id, Main: mainName(s), Files: s.Files, ScriptSha256: s.Hash,
		Vars: m.test.vars, Seed: m.cfg.Seed, StopTimeoutMs: m.cfg.StopTimeout.Milliseconds(),
		IdOffset: int64(w.index) * idStride, Host: m.test.params.Host, OpenModel: m.test.open != nil,
		Tags: m.test.tags, ExcludeTags: m.test.excludeTags, MaxNames: int64(m.cfg.MaxNames),
		Http: &pb.HTTPOptions{Http2: h.HTTP2, InsecureSkipVerify: h.InsecureSkipVerify, UserAgent: h.UserAgent, TimeoutMs: h.Timeout.Milliseconds(), MaxBody: h.MaxBody},
	}
	m.fillShare(w, p)
	return &pb.MasterMessage{Msg: &pb.MasterMessage_Prepare{Prepare: p}}
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

// awaitHello reads a new stream's first message, which must come within
// helloTimeout, while at most maxAwaitingHello streams wait for theirs.
func (m *Master) awaitHello(stream pb.Cluster_ConnectServer) (*pb.Hello, error) {
	select {
	case m.awaitingHello <- struct{}{}:
		defer func() { <-m.awaitingHello }()
	default:
		return nil, status.Error(codes.ResourceExhausted, "too many connections waiting to say hello; retry later")
	}
	msg, late, err := recvWithin(stream.Recv, helloTimeout)
	switch {
	case late:
		return nil, status.Error(codes.DeadlineExceeded, "no hello within "+helloTimeout.String())
	case err != nil:
		return nil, err
	}
	return msg.GetHello(), nil
}
