package script

import (
	"context"
	"strings"
	"testing"
)

const recursion = `
def down(n):
    if n == 0:
        return 0
    return 1 + down(n - 1)

def forever(n):
    return forever(n + 1)
`

// The call depth at its edge: a recursion just under the limit works, a
// runaway one ends the task with a clear message and a traceback cut to
// its head and tail; the user carries on.
func TestCallDepthLimit(t *testing.T) {
	h := newHarness(t, recursion+`
def under(u):
    u.state["depth"] = down(195)  # + the task's own frame and down(0): under 200

def runaway(u):
    forever(0)

ok = user(tasks=[under])
bad = user(tasks=[runaway])
`, Options{MaxCallDepth: 200})
	v := h.vu(1, "ok", "http://x.test", 0)
	v.RunTask(context.Background())
	if d := h.flush(); len(d.Exceptions) != 0 || stateInt(t, v, "depth") != 195 {
		t.Fatalf("a recursion under the limit failed: %v", d.Exceptions)
	}
	b := h.vu(2, "bad", "http://x.test", 0)
	for range 3 {
		b.RunTask(context.Background())
	}
	k, n := onlyException(t, h.flush())
	if n != 3 || !strings.Contains(k.Message, "call depth exceeded 200 (runaway recursion?)") {
		t.Fatalf("exception %q counted %d times", k.Message, n)
	}
	frames := strings.Count(k.Traceback, ": in ")
	if frames != maxTracebackFrames || !strings.Contains(k.Traceback, "frames omitted") ||
		!strings.Contains(k.Traceback, "in runaway") || !strings.HasSuffix(strings.TrimSpace(k.Traceback), "(runaway recursion?)") {
		t.Fatalf("traceback of %d frames, want %d with a note, the task's frame and the error:\n%s", frames, maxTracebackFrames, k.Traceback)
	}
}

// With the default limit a runaway recursion costs a user little: the
// traceback is bounded whatever the depth.
func TestDefaultCallDepthBoundsTraceback(t *testing.T) {
	h := newHarness(t, recursion+`
def runaway(u):
    forever(0)
bad = user(tasks=[runaway])
`, Options{})
	h.vu(1, "bad", "http://x.test", 0).RunTask(context.Background())
	k, _ := onlyException(t, h.flush())
	if !strings.Contains(k.Message, "call depth exceeded 1000") || len(k.Traceback) > MaxTraceback {
		t.Fatalf("message %q, traceback %d bytes", k.Message, len(k.Traceback))
	}
}

// A huge exception message keeps its head and tail.
func TestExceptionMessageBounded(t *testing.T) {
	h := newHarness(t, `
def loud(u):
    fail("start" + "x" * 1000000 + "end")
c = user(tasks=[loud])
`, Options{})
	h.vu(1, "c", "http://x.test", 0).RunTask(context.Background())
	k, _ := onlyException(t, h.flush())
	if len(k.Message) > MaxExceptionMsg || !strings.Contains(k.Message, "start") || !strings.HasSuffix(k.Message, "end") ||
		!strings.Contains(k.Message, "bytes omitted") || len(k.Traceback) > MaxTraceback {
		t.Fatalf("message of %d bytes (%.40q...), traceback %d bytes", len(k.Message), k.Message, len(k.Traceback))
	}
}

// Runaway recursion at the top level and in a shape function is an
// error too, not a dead process.
func TestCallDepthAtLoadAndInShape(t *testing.T) {
	_, err := loadSrc(t, recursion+"forever(0)\n"+task+"c = user(tasks=[t])\n", Options{})
	if err == nil || !strings.Contains(err.Error(), "call depth exceeded") {
		t.Fatalf("load: %v", err)
	}
	s := mustLoad(t, recursion+task+"c = user(tasks=[t])\ndef shape(t):\n    return forever(0)\n", Options{})
	if _, _, err := s.Workload.Shape.Tick(0, 0); err == nil || !strings.Contains(err.Error(), "call depth exceeded") {
		t.Fatalf("shape: %v", err)
	}
}
