package cluster

import (
	"context"
	"runtime"
	"time"

	"github.com/stampede-load/stampede/internal/cluster/pb"
)

func (w *Worker) heartbeat() *pb.Heartbeat {
	w.mu.Lock()
	defer w.mu.Unlock()
	cpu, mem := w.usage.sample(time.Now())
	// Two samples a few milliseconds apart can read more CPU time than
	// the cores can give (the clock ticks every 10 ms); the master refuses
	// a share above 100% per core.
	cpu = min(max(cpu, 0), 100*float64(runtime.NumCPU()))
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
