package cluster

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"runtime"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/script"
)

func (w *Worker) connectLoop(ctx context.Context) error {
	backoff := 500 * time.Millisecond
	for {
		welcomed, err := w.session(ctx)
		var rej *RejectedError
		w.mu.Lock()
		leaving := w.leaving
		w.mu.Unlock()
		switch {
		case errors.As(err, &rej), errors.Is(err, errQuit):
			return err
		case ctx.Err() != nil:
			return ctx.Err()
		case leaving:
			return nil // the master ended the stream after the goodbye
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

// WorkerDialOptions are a worker's options for its connection to the
// master (bench/masterscale dials as workers do). The flow-control
// windows are static, as the master's are: gRPC's default estimates the
// link's bandwidth with a ping after every message received, which with
// a report and an ack a second costs the master a ping and its answer
// per report, about as many writes as the reports' acks.
func WorkerDialOptions(creds credentials.TransportCredentials) []grpc.DialOption {
	return []grpc.DialOption{grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage)),
		grpc.WithStaticStreamWindowSize(flowWindow), grpc.WithStaticConnWindowSize(flowWindow)}
}

// session is one connection. It reports whether the master welcomed the
// worker.
func (w *Worker) session(parent context.Context) (bool, error) {
	creds := insecure.NewCredentials()
	if w.cfg.TLS != nil {
		creds = credentials.NewTLS(w.cfg.TLS)
	}
	cc, err := grpc.NewClient(w.cfg.MasterAddr, WorkerDialOptions(creds)...)
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
	hello.GoClasses, hello.GoClassesSha256 = script.GoSignature(w.cfg.GoClasses)
	if err := stream.Send(&pb.WorkerMessage{Msg: &pb.WorkerMessage_Hello{Hello: hello}}); err != nil {
		return false, classify(err)
	}
	// The first answer is a welcome or a refusal; wait for it with a
	// deadline so a black-holed connection does not hang.
	msg, late, err := recvWithin(stream.Recv, w.cfg.ReconnectAfter+5*time.Second)
	if late {
		return false, errors.New("no answer from the master")
	}
	if err != nil {
		return false, classify(err)
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
	logTick := time.NewTicker(logFlush)
	defer logTick.Stop()
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
		ends := w.ends.drain()
		for i, m := range ends {
			if err := stream.Send(m); err != nil {
				for _, m := range ends[i:] {
					w.ends.push(m) // for the next connection
				}
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.outWake:
		case <-control.wake:
		case <-w.ends.wake:
		case <-logTick.C:
			if m := w.logsMsg(); m != nil {
				if err := stream.Send(m); err != nil {
					return err
				}
			}
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
