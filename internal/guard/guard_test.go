package guard

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// syncBuffer is a log destination the timer's goroutine and the test
// share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

func (b *syncBuffer) Len() int { return len(b.String()) }

func newTest(cfg Config) (*Limiter, *clock, *syncBuffer) {
	buf := &syncBuffer{}
	cfg.Log = slog.New(slog.NewTextHandler(buf, nil))
	if cfg.LogEvery == 0 {
		cfg.LogEvery = time.Hour // flushed by hand
	}
	l := New(cfg)
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	l.now = c.now
	return l, c, buf
}

func TestBackoffDoublesUpToMax(t *testing.T) {
	l, clk, _ := newTest(Config{What: "logins", Free: 2, Base: time.Second, Max: 8 * time.Second})
	defer l.Close()
	const ip = "192.0.2.7"
	want := []time.Duration{0, 0, 1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}
	for i, w := range want {
		l.Fail(ip)
		if got := l.Wait(ip); got != w {
			t.Fatalf("after %d failures: wait %v, want %v", i+1, got, w)
		}
	}
	if l.Wait("192.0.2.8") != 0 {
		t.Fatal("another client has to wait")
	}
	clk.add(8 * time.Second)
	if got := l.Wait(ip); got != 0 {
		t.Fatalf("after the wait: %v", got)
	}
	l.Fail(ip) // still counted: the wait grows from where it was
	if got := l.Wait(ip); got != 8*time.Second {
		t.Fatalf("next failure: wait %v", got)
	}
	l.Succeed(ip)
	if got := l.Wait(ip); got != 0 {
		t.Fatalf("after a success: wait %v", got)
	}
	for range 1000 { // far beyond the shift's range
		l.Fail(ip)
	}
	if got := l.Wait(ip); got != 8*time.Second {
		t.Fatalf("after 1000 failures: wait %v", got)
	}
}

// Thousands of failures give one line per client and interval, with the
// count.
func TestLogIsAggregated(t *testing.T) {
	l, _, buf := newTest(Config{What: "web UI: failed logins", Free: 1})
	for range 4000 {
		l.Fail("192.0.2.1")
		l.Wait("192.0.2.1")
	}
	l.Fail("192.0.2.2")
	l.flush()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), buf)
	}
	if !strings.Contains(lines[0], `msg="web UI: failed logins" client=192.0.2.1 failed=4000 refused_while_waiting=3999`) {
		t.Errorf("line %q", lines[0])
	}
	if !strings.Contains(lines[1], "client=192.0.2.2 failed=1 ") {
		t.Errorf("line %q", lines[1])
	}
	buf.Reset()
	l.flush()
	if buf.Len() != 0 {
		t.Errorf("a quiet interval logged %q", buf)
	}
	// Many clients: the busiest are named, the rest summed.
	for i := range 50 {
		l.Fail(fmt.Sprintf("198.51.100.%d", i))
	}
	l.Close()
	if n := strings.Count(buf.String(), "\n"); n != maxLoggedClients+1 || !strings.Contains(buf.String(), "clients=30 attempts=30") {
		t.Errorf("%d lines:\n%s", n, buf)
	}
}

func TestTableIsBounded(t *testing.T) {
	l, clk, buf := newTest(Config{What: "tokens", MaxClients: 100})
	for i := range 10_000 {
		l.Fail(fmt.Sprintf("10.0.%d.%d", i/256, i%256))
	}
	if n := len(l.clients); n > 100 {
		t.Fatalf("%d clients in the table", n)
	}
	l.flush()
	if !strings.Contains(buf.String(), "failed=9900 max_clients=100") {
		t.Errorf("log:\n%s", buf)
	}
	// Quiet clients are forgotten.
	clk.add(time.Hour)
	l.flush()
	if n := len(l.clients); n != 0 {
		t.Fatalf("%d stale clients kept", n)
	}
}

func TestFlushRunsByItself(t *testing.T) {
	l, _, buf := newTest(Config{What: "tokens", LogEvery: 20 * time.Millisecond})
	defer l.Close()
	l.Fail("192.0.2.9")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), "client=192.0.2.9 failed=1") {
		if time.Now().After(deadline) {
			t.Fatal("no log line after the interval")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1:5555":            "192.0.2.1",
		"[2001:db8:1:2:3::4]:80":    "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::9]:81": "2001:db8:1:2::/64",
		"[::ffff:192.0.2.3]:1":      "192.0.2.3",
		"192.0.2.4":                 "192.0.2.4",
		"pipe":                      "pipe",
	} {
		if got := ClientKey(in); got != want {
			t.Errorf("ClientKey(%q) = %q, want %q", in, got, want)
		}
	}
}
