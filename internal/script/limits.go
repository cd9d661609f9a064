package script

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"
)

// DefaultMaxCallDepth bounds nested Starlark calls on one thread, as
// Python's recursion limit (1000) does. Without it a runaway recursion
// grows the user's goroutine stack until the Go runtime kills the whole
// process (and its results) at 1 GB; its traceback alone was 3.8 MB.
const DefaultMaxCallDepth = 1000

// depthCheckEvery is how many execution steps may pass between two
// checks of the call depth (the interpreter has no per-call hook; a
// call costs at least a few steps, so the depth overshoots the limit by
// at most a few hundred frames).
const depthCheckEvery = 256

// Bounds of one exception row: a message longer than MaxExceptionMsg,
// a traceback of more than maxTracebackFrames frames or longer than
// MaxTraceback keep their head and tail, with a note of what was cut.
// A master cuts what a worker sends at the same bounds.
const (
	MaxExceptionMsg    = 4 << 10
	MaxTraceback       = 16 << 10
	maxTracebackFrames = 40
)

// limitThread bounds the steps of each call on t (counted from the last
// resetSteps) and its call depth: either ends the call with an error.
func limitThread(t *starlark.Thread, maxSteps uint64, maxDepth int) {
	t.SetMaxExecutionSteps(min(depthCheckEvery, maxSteps))
	t.OnMaxSteps = func(t *starlark.Thread) {
		switch {
		case t.CallStackDepth() > maxDepth:
			t.Cancel(fmt.Sprintf("call depth exceeded %d (runaway recursion?)", maxDepth))
		case t.Steps >= maxSteps:
			t.Cancel("too many steps")
		default:
			t.SetMaxExecutionSteps(min(t.Steps+depthCheckEvery, maxSteps))
		}
	}
}

// resetSteps starts a new call's step count on a limited thread.
func resetSteps(t *starlark.Thread, maxSteps uint64) {
	t.Steps = 0
	t.SetMaxExecutionSteps(min(depthCheckEvery, maxSteps))
}

// boundedBacktrace is ee's backtrace with at most maxTracebackFrames
// frames (the outermost and innermost halves) and a bounded message.
func boundedBacktrace(ee *starlark.EvalError) string {
	stack := ee.CallStack
	if len(stack) <= maxTracebackFrames {
		return bound(ee.Backtrace(), MaxTraceback)
	}
	half := maxTracebackFrames / 2
	cut := *ee
	cut.CallStack = append(append(starlark.CallStack{}, stack[:half]...), stack[len(stack)-half:]...)
	tb := cut.Backtrace()
	// the note goes between the two halves
	lines := strings.SplitAfter(tb, "\n")
	note := fmt.Sprintf("  ... %d frames omitted ...\n", len(stack)-2*half)
	i := 1 + half // after "Traceback (most recent call last):" and the outer half
	return bound(strings.Join(lines[:i], "")+note+strings.Join(lines[i:], ""), MaxTraceback)
}

// boundText keeps the head and tail of a long exception message.
func boundText(s string) string { return bound(s, MaxExceptionMsg) }

// bound keeps the head and tail of s in at most n bytes.
func bound(s string, n int) string {
	if len(s) <= n {
		return s
	}
	half := (n - 40) / 2 // room for the note
	return fmt.Sprintf("%s\n... %d bytes omitted ...\n%s", s[:half], len(s)-2*half, s[len(s)-half:])
}
