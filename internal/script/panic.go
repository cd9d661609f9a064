package script

import (
	"fmt"
	"regexp"
	"runtime/debug"

	"go.starlark.net/starlark"
)

// PanicError is a Go panic raised while a script function ran (a bug in
// a builtin, or in Go code a script called into). It is recorded as the
// user's exception, with the Go stack as its traceback, and the user
// carries on: one broken call must not take the process and every
// result down with it.
type PanicError struct {
	Value any
	// Stack is the goroutine's stack at the panic, bounded, with
	// argument values and goroutine ids removed so that the same panic
	// is one exception row.
	Stack string
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// callSafe is starlark.Call that turns a panic into a *PanicError.
// starlark.Call pops its frames on the way out of a panic, so the
// thread is usable afterwards.
func callSafe(t *starlark.Thread, fn starlark.Value, args starlark.Tuple) (res starlark.Value, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, NewPanicError(p, debug.Stack())
		}
	}()
	return starlark.Call(t, fn, args, nil)
}

// RecordPanic records a panic recovered in Go code that drives this user
// (its runner) as the user's exception, as callSafe does for a panic in
// a script call.
func (v *VU) RecordPanic(p any, stack []byte) { v.exception(NewPanicError(p, stack)) }

// NewPanicError describes the recovered value p, stack being
// debug.Stack() in the deferred function that recovered it.
func NewPanicError(p any, stack []byte) *PanicError {
	s := stackArgs.ReplaceAllString(string(stack), "(...)")
	s = goroutineID.ReplaceAllString(s, "goroutine")
	return &PanicError{Value: p, Stack: bound(s, MaxTraceback)}
}

var (
	// "pkg.f(0xc000123456, {0x1?, 0x2})" at the end of a line: the
	// arguments differ at every call
	stackArgs = regexp.MustCompile(`(?m)\([^()\n]*\)$`)
	// "goroutine 123 [running]:" and "created by ... in goroutine 7"
	goroutineID = regexp.MustCompile(`goroutine \d+`)
)
