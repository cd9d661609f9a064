package cluster

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/logring"
	"github.com/stampede-load/stampede/internal/stats"
)

// A worker forwards its log lines (those its --loglevel prints, from its
// logring) to the master, for the master's Logs tab and console. Both
// sides bound them: the worker sends at most logRate lines a second, in
// messages of at most logBurst, and counts the rest; the master admits as
// much from each connection and cuts every string, so a flooding or
// hostile worker grows neither the master's memory (its ring is bounded)
// nor the event stream.
const (
	logRate  = 50
	logBurst = 100
	// logFlush is how often a worker sends its new lines.
	logFlush = time.Second
	// A line's level is clamped to [debug-4, error+4].
	minLogLevel = slog.LevelDebug - 4
	maxLogLevel = slog.LevelError + 4
)

// logBucket is a token bucket of logRate lines a second, logBurst at most.
type logBucket struct {
	tokens float64
	last   time.Time
}

// take returns how many of n lines may go now.
func (b *logBucket) take(n int, now time.Time) int {
	if b.last.IsZero() {
		b.tokens = logBurst
	} else {
		b.tokens = min(logBurst, b.tokens+logRate*now.Sub(b.last).Seconds())
	}
	b.last = now
	k := min(n, int(b.tokens))
	b.tokens -= float64(k)
	return k
}

// logForwarder is a worker's side: what it has sent of its ring.
type logForwarder struct {
	ring    *logring.Ring
	next    uint64 // the ring's sequence number of the next line to send
	dropped int64
	bucket  logBucket
}

// take returns the lines to send now (nil: nothing to say). Lines the
// ring lost before they were sent, and the ones over the rate, are
// counted in dropped.
func (f *logForwarder) take(now time.Time) *pb.Logs {
	lines, next := f.ring.Since(f.next, logBurst)
	f.dropped += int64(next-f.next) - int64(len(lines))
	f.next = next
	k := f.bucket.take(len(lines), now)
	f.dropped += int64(len(lines) - k)
	lines = lines[len(lines)-k:] // the newest
	if k == 0 && f.dropped == 0 {
		return nil
	}
	msg := &pb.Logs{Lines: make([]*pb.LogLine, 0, len(lines)), Dropped: f.dropped}
	for _, l := range lines {
		if l.Worker == "" { // a line forwarded to this process is not its own
			msg.Lines = append(msg.Lines, &pb.LogLine{TimeUnixNano: l.Time.UnixNano(), Level: int32(l.Level), Message: l.Msg, Attrs: l.Attrs})
		}
	}
	f.dropped = 0
	return msg
}

// logsMsg returns the worker's new log lines as a message, or nil.
func (w *Worker) logsMsg() *pb.WorkerMessage {
	if w.logs == nil {
		return nil
	}
	w.mu.Lock()
	msg := w.logs.take(time.Now())
	w.mu.Unlock()
	if msg == nil {
		return nil
	}
	return &pb.WorkerMessage{Msg: &pb.WorkerMessage_Logs{Logs: msg}}
}

// logGate is the master's side, per worker connection.
type logGate struct {
	worker, region string
	bucket         logBucket
	dropped        int64
	saidAt         time.Time // the last line about dropped lines
}

// maxLogDropped bounds the dropped count a worker can claim.
const maxLogDropped = 1 << 40

// workerLogs puts a worker's lines into the master's ring, tagged with
// the worker and its region, and prints them on the master's log with
// worker and region attributes (so a headless run's CI log shows the
// workers' errors). The lines over the gate's rate, and the ones the
// worker dropped, are said in one line, at most one a second.
func (m *Master) workerLogs(g *logGate, msg *pb.Logs) {
	now := time.Now()
	lines := msg.Lines
	k := g.bucket.take(len(lines), now)
	g.dropped = min(maxLogDropped, g.dropped+max(0, min(msg.Dropped, maxLogDropped))+int64(len(lines)-k))
	for _, l := range lines[:k] {
		m.workerLine(g, time.Unix(0, l.TimeUnixNano), min(max(slog.Level(l.Level), minLogLevel), maxLogLevel), l.Message, l.Attrs)
	}
	if g.dropped > 0 && now.Sub(g.saidAt) >= time.Second {
		g.saidAt = now
		m.workerLine(g, now, slog.LevelWarn, "log lines of this worker not shown: over "+strconv.Itoa(logRate)+" a second",
			"dropped="+strconv.FormatInt(g.dropped, 10))
		g.dropped = 0
	}
}

func (m *Master) workerLine(g *logGate, t time.Time, level slog.Level, msg, attrs string) {
	ctx := context.Background()
	h := m.cfg.Log.Handler()
	if !h.Enabled(ctx, level) {
		return // the master's --loglevel applies to its workers' lines too
	}
	msg, attrs = stats.Cut(msg, logring.MaxLine), stats.Cut(attrs, logring.MaxLine)
	if m.cfg.Logs != nil {
		m.cfg.Logs.Add(logring.Line{Time: t, Level: level, Msg: msg, Attrs: attrs, Worker: g.worker, Region: g.region})
	}
	rec := slog.NewRecord(t, level, msg, 0)
	rec.AddAttrs(slog.String("worker", g.worker), slog.String("region", g.region))
	// The worker's own attributes print as attributes again, except the
	// worker and region it may carry itself; text that does not read
	// back (cut, or not from an honest worker) is shown whole.
	if parsed, ok := logring.ParseAttrs(attrs); ok {
		for _, a := range parsed {
			if (a.Key == "worker" && a.Value.String() == g.worker) || (a.Key == "region" && a.Value.String() == g.region) {
				continue
			}
			rec.AddAttrs(a)
		}
	} else {
		rec.AddAttrs(slog.String("attrs", attrs))
	}
	_ = h.Handle(logring.Printed(ctx), rec)
}
