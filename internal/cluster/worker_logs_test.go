package cluster

import (
	"context"
	"log/slog"
	"math"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/logring"
)

// logMaster is a master whose log goes to a ring (as the CLI's does) and
// to console, at info.
func logMaster(t *testing.T) (*logring.Ring, *syncLog, string) {
	t.Helper()
	ring, console := logring.New(1000), &syncLog{}
	m := NewMaster(MasterConfig{Version: "v1", Logs: ring, Heartbeat: 150 * time.Millisecond, ReportInterval: 200 * time.Millisecond,
		Log: slog.New(ring.Handler(slog.NewTextHandler(console, &slog.HandlerOptions{Level: slog.LevelInfo})))})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = m.Serve(ln) }()
	t.Cleanup(func() { m.Close("test over") })
	return ring, console, ln.Addr().String()
}

// forwarded returns the lines of worker id in the master's ring.
func forwarded(ring *logring.Ring, id string) []logring.Line {
	lines, _ := ring.Since(0, math.MaxInt)
	var out []logring.Line
	for _, l := range lines {
		if l.Worker == id {
			out = append(out, l)
		}
	}
	return out
}

// TestWorkerLogsReachMaster: a real worker's WARN line reaches the
// master's ring tagged with the worker and its region and is printed on
// the master's console with worker and region attributes; a line below
// the worker's --loglevel is not forwarded; a flood of lines is bounded
// by the rate and said in one line with the count.
func TestWorkerLogsReachMaster(t *testing.T) {
	ring, console, addr := logMaster(t)
	wring := logring.New(1000)
	wlog := slog.New(wring.Handler(slog.NewTextHandler(discard{}, &slog.HandlerOptions{Level: slog.LevelInfo})))
	w := NewWorker(WorkerConfig{MasterAddr: addr, ID: "w1", Region: "eu-west", Version: "v1", Log: wlog, Logs: wring,
		Heartbeat: 150 * time.Millisecond, ReportInterval: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() { cancel(); <-done }()

	wlog.Debug("below the worker's level")
	wlog.Warn("target slow", "path", "/a b")
	var got logring.Line
	waitUntil(t, 10*time.Second, "the worker's WARN line on the master", func() bool {
		for _, l := range forwarded(ring, "w1") {
			if l.Msg == "target slow" {
				got = l
				return true
			}
		}
		return false
	})
	if got.Region != "eu-west" || got.Level != slog.LevelWarn || got.Attrs != `path="/a b"` {
		t.Errorf("forwarded line %+v", got)
	}
	for _, l := range forwarded(ring, "w1") {
		if strings.Contains(l.Msg, "below") {
			t.Errorf("a line below the worker's level was forwarded: %+v", l)
		}
	}
	if out := console.String(); !strings.Contains(out, `level=WARN msg="target slow" worker=w1 region=eu-west path="/a b"`) {
		t.Errorf("the master's console lacks the worker's line:\n%s", out)
	}

	// A flood: 5,000 lines at once. The master gets at most the burst
	// and the rate since, and one line saying how many were dropped.
	before := len(forwarded(ring, "w1"))
	start := time.Now()
	for i := range 5000 {
		wlog.Error("flood", "i", i)
	}
	waitUntil(t, 10*time.Second, "the dropped-lines line", func() bool {
		for _, l := range forwarded(ring, "w1") {
			if strings.HasPrefix(l.Msg, "log lines of this worker not shown") {
				got = l
				return true
			}
		}
		return false
	})
	n := len(forwarded(ring, "w1")) - before
	if limit := logBurst + int(logRate*time.Since(start).Seconds()) + 2; n > limit {
		t.Errorf("%d lines of the flood reached the master, more than %d", n, limit)
	}
	dropped, _ := strconv.Atoi(strings.TrimPrefix(got.Attrs, "dropped="))
	if dropped < 5000-n || dropped > 5000 {
		t.Errorf("dropped line %+v: want about %d dropped", got, 5000-n)
	}
}

// TestLogForwarderBounds: the worker's side sends at most the burst at
// once and the rate after, newest first, and counts the rest, including
// the lines its ring lost before they were sent.
func TestLogForwarderBounds(t *testing.T) {
	ring := logring.New(1000)
	for i := range 1500 {
		ring.Add(logring.Line{Msg: strconv.Itoa(i)})
	}
	f := &logForwarder{ring: ring}
	now := time.Now()
	msg := f.take(now)
	if len(msg.Lines) != logBurst || msg.Dropped != 1400 || msg.Lines[logBurst-1].Message != "1499" {
		t.Fatalf("first: %d lines, dropped %d, last %q", len(msg.Lines), msg.Dropped, msg.Lines[len(msg.Lines)-1].Message)
	}
	if msg := f.take(now.Add(time.Second)); msg != nil {
		t.Errorf("nothing new, yet %+v", msg)
	}
	for i := range 100 {
		ring.Add(logring.Line{Msg: strconv.Itoa(i)})
	}
	// A second passed, then another: logRate tokens, and no more.
	msg = f.take(now.Add(2 * time.Second))
	if len(msg.Lines) != logBurst || msg.Dropped != 0 {
		t.Errorf("after 2 s: %d lines, dropped %d", len(msg.Lines), msg.Dropped)
	}
	for i := range 100 {
		ring.Add(logring.Line{Msg: strconv.Itoa(i)})
	}
	msg = f.take(now.Add(2*time.Second + 500*time.Millisecond))
	if len(msg.Lines) != logRate/2 || msg.Dropped != 100-logRate/2 {
		t.Errorf("half a second later: %d lines, dropped %d", len(msg.Lines), msg.Dropped)
	}
}

// TestHostileWorkerLogs: a worker sending more lines than any honest
// one, longer strings, levels out of range and an absurd dropped count
// stays connected, and the master keeps a bounded, cut, clamped part.
func TestHostileWorkerLogs(t *testing.T) {
	ring, console, addr := logMaster(t)
	f := connectFake(t, dialMaster(t, addr), "", &pb.Hello{WorkerId: "evil", Incarnation: "x", Region: "r", Version: "v1"})
	if _, ok := next(f, 5*time.Second, (*pb.MasterMessage).GetWelcome, func(w *pb.Welcome) bool { return w != nil }); !ok {
		t.Fatal("no welcome")
	}
	long := strings.Repeat("x", 5000)
	start := time.Now()
	for range 20 {
		msg := &pb.Logs{Dropped: math.MaxInt64}
		for i := range 200 {
			msg.Lines = append(msg.Lines, &pb.LogLine{TimeUnixNano: time.Now().UnixNano(), Level: int32(1000 * (i%3 - 1)), Message: long, Attrs: long})
		}
		if err := f.send(&pb.WorkerMessage{Msg: &pb.WorkerMessage_Logs{Logs: msg}}); err != nil {
			t.Fatal(err)
		}
	}
	// What the master dropped is said at most once a second, with a
	// later message.
	time.Sleep(1100 * time.Millisecond)
	if err := f.send(&pb.WorkerMessage{Msg: &pb.WorkerMessage_Logs{Logs: &pb.Logs{}}}); err != nil {
		t.Fatal(err)
	}
	var lines []logring.Line
	// Two lines about dropped ones: with the first message, and with the
	// last, a second later.
	waitUntil(t, 10*time.Second, "the hostile worker's lines", func() bool {
		lines = forwarded(ring, "evil")
		said := 0
		for _, l := range lines {
			if strings.HasPrefix(l.Msg, "log lines of this worker not shown") {
				said++
			}
		}
		return said == 2
	})
	if limit := logBurst + int(logRate*time.Since(start).Seconds()) + 2; len(lines) > limit {
		t.Errorf("%d lines of 4,000 kept, more than %d", len(lines), limit)
	}
	for _, l := range lines {
		if len(l.Msg) > logring.MaxLine+len("…") || len(l.Attrs) > logring.MaxLine+len("…") || l.Level < minLogLevel || l.Level > maxLogLevel {
			t.Fatalf("a line not cut or clamped: %d bytes, %d bytes of attrs, level %d", len(l.Msg), len(l.Attrs), l.Level)
		}
	}
	if last := lines[len(lines)-1]; last.Attrs != "dropped="+strconv.FormatInt(maxLogDropped, 10) {
		t.Errorf("dropped line %+v", last)
	}
	select {
	case err := <-f.err:
		t.Errorf("the worker was disconnected for its logs: %v", err)
	default:
	}
	// the long lines do not read back as attributes (shown whole); the
	// master's own lines about dropped ones do
	out := console.String()
	if n := strings.Count(out, "worker=evil region=r attrs=") + strings.Count(out, "worker=evil region=r dropped="); n != len(lines) {
		t.Errorf("console has %d of the worker's lines, the ring %d", n, len(lines))
	}
}
