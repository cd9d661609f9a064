package runner

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.starlark.net/starlark"
)

// A Go panic in a task (a builtin's bug) is each time an exception with
// its Go stack; the users carry on and the process keeps running. A
// panic in the runner's own loop for one user ends that user alone.
func TestPanicsInUsers(t *testing.T) {
	srv := newCounter(t)
	s := load(t, `
def t(u):
    u.http.get("/ok")
c = user(tasks=[t], wait_time=constant(0.01))
`)
	var calls atomic.Int64
	s.Class("c").Tasks[0].Fn = starlark.NewBuiltin("buggy", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		if calls.Add(1)%2 == 0 {
			var p *struct{ n int }
			p.n++ // nil pointer dereference
		}
		return starlark.None, nil
	})
	r := New(Config{Script: s, Host: srv.URL, Log: quietLog()})
	r.panicHook = func(u *user) {
		if u.vu.ID == 3 {
			panic("runner bug for user 3")
		}
	}
	r.Start(context.Background())
	defer r.Stop(context.Background())
	r.SetTargets(map[string]int{"c": 3}, 100)
	waitFor(t, 5*time.Second, "tasks to run", func() bool { return calls.Load() > 40 })
	if n := r.Users(); n != 2 {
		t.Errorf("%d users running, want 2 (user 3 ended, not replaced)", n)
	}
	d := r.Flush(time.Now())
	var task, loop int64
	for k, n := range d.Exceptions {
		switch {
		case k.Message == "panic: runtime error: invalid memory address or nil pointer dereference" && strings.Contains(k.Traceback, "panic_test.go"):
			task += n
		case k.Message == "panic: runner bug for user 3" && strings.Contains(k.Traceback, "runner.(*Runner).tasks"):
			loop += n
		default:
			t.Errorf("unexpected exception %q\n%s", k.Message, k.Traceback)
		}
	}
	if task < 15 || loop != 1 {
		t.Errorf("%d task panics, %d loop panics counted; want about half of %d calls, and 1", task, loop, calls.Load())
	}
	before := calls.Load()
	waitFor(t, 5*time.Second, "the users to carry on", func() bool { return calls.Load() > before+10 })
}

// A panic in the spawner is logged and recorded; the runner still stops
// cleanly (and the process lives on to write the results).
func TestPanicInSpawner(t *testing.T) {
	r := New(Config{Script: load(t, idle), Log: quietLog()})
	r.spawnerHook = func() { panic("spawner bug") }
	r.Start(context.Background())
	r.SetTargets(map[string]int{"a": 2}, 100)
	<-r.spawnDone // it ended, with the panic
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !r.Stop(ctx) {
		t.Fatal("the runner did not stop")
	}
	d := r.Flush(time.Now())
	if len(d.Exceptions) != 1 {
		t.Fatalf("exceptions %v", d.Exceptions)
	}
	for k := range d.Exceptions {
		if k.Message != "internal error in the spawner: panic: spawner bug" {
			t.Errorf("exception %q", k.Message)
		}
	}
}
