package cluster

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/runner"
	"github.com/stampede-load/stampede/internal/script"
)

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
	s, err := script.LoadFiles(p.Main, p.Files, script.Options{Vars: p.Vars, Go: w.cfg.GoClasses})
	if err != nil {
		reply.Error = fmt.Sprintf("loading the script %s: %v", p.Main, err)
		w.cfg.Log.Error("cannot run the test", "err", reply.Error)
		return reply
	}
	if s.Hash != p.ScriptSha256 {
		reply.Error = fmt.Sprintf("script hash mismatch: the master ran %s, this worker loaded %s", short(p.ScriptSha256), short(s.Hash))
		return reply
	}
	if s, err = s.SelectTags(p.Tags, p.ExcludeTags); err != nil {
		reply.Error = fmt.Sprintf("tag selection: %v", err)
		w.cfg.Log.Error("cannot run the test", "err", reply.Error)
		return reply
	}
	var h httpclient.Options
	if p.Http != nil {
		h = httpclient.Options{HTTP2: p.Http.Http2, InsecureSkipVerify: p.Http.InsecureSkipVerify,
			UserAgent: p.Http.UserAgent, Timeout: time.Duration(p.Http.TimeoutMs) * time.Millisecond, MaxBody: p.Http.MaxBody}
	}
	env, err := w.newTestEnv(p, s)
	if err != nil {
		reply.Error = fmt.Sprintf("preparing the test: %v", err)
		w.cfg.Log.Error("cannot run the test", "err", reply.Error)
		return reply
	}
	r := runner.New(runner.Config{Script: s, Host: p.Host, HTTP: h, Seed: p.Seed,
		StopTimeout: time.Duration(p.StopTimeoutMs) * time.Millisecond, OpenModel: p.OpenModel,
		Log: w.cfg.Log, IDOffset: int(p.IdOffset), MaxNames: int(max(min(p.MaxNames, math.MaxInt32), -1)),
		Iterations: env.iterations, SetupData: env.setup, StopTest: env.stopTest})
	ctx, cancel := context.WithCancel(context.Background())
	r.Start(ctx)
	w.mu.Lock()
	w.test = &workerTest{id: p.TestId, hash: s.Hash, r: r, cancel: cancel, stopTimeout: time.Duration(p.StopTimeoutMs) * time.Millisecond,
		sc: s, ctx: ctx, host: p.Host, http: h, seed: p.Seed, idOffset: int(p.IdOffset), env: env}
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
