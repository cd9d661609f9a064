package script

import (
	"context"
	"strings"
	"testing"

	"go.starlark.net/starlark"
)

// panicky is a builtin with a bug: it panics every other call, after
// the task made a request.
func panicky(calls *int) *starlark.Builtin {
	return starlark.NewBuiltin("panicky", func(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		u := args[0].(*userValue)
		get, _ := u.http.Attr("get")
		if _, err := starlark.Call(t, get, starlark.Tuple{starlark.String("/")}, nil); err != nil {
			return nil, err
		}
		*calls++
		if *calls%2 == 1 {
			var m map[string]int
			m["boom"]++ //lint:ignore SA5000 the bug this test injects
		}
		return starlark.None, nil
	})
}

// A Go panic in a task, on_start or on_stop is one exception row (its Go
// stack, without addresses, as the traceback), the request made before
// it is still counted, and the user carries on.
func TestPanicInUserIsAnException(t *testing.T) {
	tg := newTarget(t)
	h := newHarness(t, task+"c = user(tasks=[t], on_start=t, on_stop=t)\n", Options{})
	calls := 0
	c := h.s.Class("c")
	c.Tasks[0].Fn = panicky(&calls)
	c.OnStart, c.OnStop = panicky(&calls), panicky(&calls)
	v := h.vu(1, "c", tg.URL, 0)
	ctx := context.Background()
	v.OnStart(ctx) // call 1: panics
	for range 4 {  // calls 2..5: 3 and 5 panic
		v.RunTask(ctx)
	}
	v.OnStop(ctx) // call 6: fine
	if v.Stopped() || v.Interrupted() {
		t.Fatal("a panic stopped the user")
	}
	d := h.flush()
	if got := entry(t, d, "GET", "/").Requests; got != 6 {
		t.Errorf("%d requests counted, want 6 (those made before a panic too)", got)
	}
	// one row per place: on_start's, and the two of the tasks together
	if len(d.Exceptions) != 2 {
		t.Fatalf("%d exception rows, want 2 (on_start, task): %v", len(d.Exceptions), d.Exceptions)
	}
	for k, n := range d.Exceptions {
		if k.Message != "panic: assignment to entry in nil map" {
			t.Errorf("exception %q", k.Message)
		}
		if want := map[bool]int64{true: 1, false: 2}[strings.Contains(k.Traceback, "OnStart")]; n != want {
			t.Errorf("counted %d times, want %d:\n%s", n, want, k.Traceback)
		}
		if !strings.Contains(k.Traceback, "panic_test.go") || strings.Contains(k.Traceback, "0x3f") || strings.Contains(k.Traceback, "0xc0") || len(k.Traceback) > MaxTraceback {
			t.Errorf("traceback is not the bounded Go stack without arguments:\n%s", k.Traceback)
		}
	}
}

// A panic in a setup or teardown hook fails the hook with the panic as
// its error and its Go stack as the recorded traceback.
func TestPanicInHook(t *testing.T) {
	h := newHarness(t, task+"c = user(tasks=[t])\n", Options{})
	v := h.s.hookVU("setup", HookConfig{Host: "http://x.test", Shard: h.rec.Shard(0)})
	boom := starlark.NewBuiltin("boom", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		panic("setup bug")
	})
	_, err := v.callHook(context.Background(), boom, nil)
	he := v.hookError("setup", err)
	if !strings.Contains(he.Error(), "panic: setup bug") || !strings.Contains(he.Backtrace, "panic_test.go") {
		t.Fatalf("hook error %q, backtrace:\n%s", he.Error(), he.Backtrace)
	}
	if k, n := onlyException(t, h.flush()); n != 1 || !strings.Contains(k.Message, "panic: setup bug") {
		t.Fatalf("exception %q x%d", k.Message, n)
	}
}
