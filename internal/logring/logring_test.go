package logring

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
)

func TestLogRing(t *testing.T) {
	ring := New(3)
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
	if lines[1].Msg != "three" || lines[2].Seq != 3 || len(lines[2].Msg) != MaxLine+len("…") {
		t.Errorf("lines %+v", lines[1:])
	}
	if got, next := ring.Since(3, 100); len(got) != 1 || next != 4 {
		t.Errorf("since 3: %d lines, next %d", len(got), next)
	}
	if got, _ := ring.Since(0, 2); len(got) != 2 || got[0].Msg != "three" {
		t.Errorf("limit 2: %+v", got)
	}
}

// TestRingForwarded: workers' lines are kept apart from the process's own,
// so a flood of them leaves the own lines in place, and Since merges both
// in sequence order.
func TestRingForwarded(t *testing.T) {
	ring := New(2)
	log := slog.New(ring.Handler(slog.NewTextHandler(io.Discard, nil)))
	log.Info("own 1")
	ring.Add(Line{Msg: "w 1", Worker: "w1", Region: "eu"})
	log.Info("own 2")
	for i := range 10 {
		ring.Add(Line{Msg: "flood " + strconv.Itoa(i), Worker: "w2", Region: "us"})
	}
	lines, next := ring.Since(0, 100)
	var got []string
	for _, l := range lines {
		got = append(got, l.Msg)
	}
	if want := "own 1,own 2,flood 8,flood 9"; strings.Join(got, ",") != want || next != 13 {
		t.Errorf("lines %s next %d, want %s next 13", strings.Join(got, ","), next, want)
	}
	if lines[3].Worker != "w2" || lines[3].Region != "us" || lines[3].Seq != 12 {
		t.Errorf("forwarded line %+v", lines[3])
	}
	// A line the master prints after adding it is not kept twice.
	log.InfoContext(Printed(context.Background()), "printed only")
	if got, next := ring.Since(13, 100); len(got) != 0 || next != 13 {
		t.Errorf("a Printed record was kept: %+v", got)
	}
}

func TestParseAttrsReadsWhatTheRingWrote(t *testing.T) {
	ring := New(10)
	log := slog.New(ring.Handler(slog.NewTextHandler(io.Discard, nil)))
	log.Warn("x", "master", "127.0.0.1:5557", "err", `dial "tcp": refused a=b`, "n", 3, "empty", "")
	lines, _ := ring.Since(0, 10)
	if len(lines) != 1 {
		t.Fatalf("%d lines", len(lines))
	}
	got, ok := ParseAttrs(lines[0].Attrs)
	want := []slog.Attr{slog.String("master", "127.0.0.1:5557"), slog.String("err", `dial "tcp": refused a=b`), slog.String("n", "3"), slog.String("empty", "")}
	if !ok || len(got) != len(want) {
		t.Fatalf("ParseAttrs(%q) = %v, %v", lines[0].Attrs, got, ok)
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("attr %d = %v, want %v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{`novalue`, `k="unterminated`, `k="a"b`, `=v`, `a b=c`} {
		if _, ok := ParseAttrs(bad); ok {
			t.Errorf("ParseAttrs(%q) accepted", bad)
		}
	}
}
