package web

import (
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestLogRing(t *testing.T) {
	ring := NewLogRing(3)
	log := slog.New(ring.Handler(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})))
	log.Debug("not printed, not kept")
	log.Info("one", "n", 1)
	log.With("worker", "w1").WithGroup("req").Warn("two", "path", "/a b", "empty", "")
	log.Error("three")
	log.Info(strings.Repeat("x", 3000))
	lines, next := ring.Since(0, 100)
	if next != 4 || len(lines) != 3 {
		t.Fatalf("next %d, %d lines: %+v", next, len(lines), lines)
	}
	// The oldest line is gone; the ring keeps three.
	if lines[0].Msg != "two" || lines[0].Level != slog.LevelWarn || lines[0].Attrs != `worker=w1 req.path="/a b" req.empty=""` {
		t.Errorf("line %+v", lines[0])
	}
	if lines[1].Msg != "three" || lines[2].Seq != 3 || len(lines[2].Msg) != maxLogLine+len("…") {
		t.Errorf("lines %+v", lines[1:])
	}
	if got, next := ring.Since(3, 100); len(got) != 1 || next != 4 {
		t.Errorf("since 3: %d lines, next %d", len(got), next)
	}
	if got, _ := ring.Since(0, 2); len(got) != 2 || got[0].Msg != "three" {
		t.Errorf("limit 2: %+v", got)
	}
}
