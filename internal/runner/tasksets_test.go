package runner

import (
	"context"
	"testing"
	"time"
)

// Users in the middle of a long u.sleep() inside a task set stop at once
// when the test stops: the sleep ends the task without an exception, the
// set's on_stop runs, then the user's.
func TestStopCutsSleepInTaskSet(t *testing.T) {
	srv := newCounter(t)
	s := load(t, `
def nap(u):
    u.http.get("/before")
    u.sleep(60)
    u.http.get("/after")

def set_stop(u):
    u.http.get("/set-stop")

def bye(u):
    u.http.get("/bye")

naps = taskset(tasks=[nap], on_stop=set_stop)
c = user(tasks=[naps], on_stop=bye)
`)
	r := New(Config{Script: s, Host: srv.URL, Log: quietLog()})
	r.Start(context.Background())
	r.SetTargets(map[string]int{"c": 3}, 100)
	waitFor(t, 5*time.Second, "3 users asleep", func() bool { return srv.count("/before") == 3 })
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !r.Stop(ctx) {
		t.Fatal("Stop reported users that did not end")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Stop took %v with users in u.sleep(60)", took)
	}
	d := r.Flush(time.Now())
	for path, want := range map[string]int{"/before": 3, "/after": 0, "/set-stop": 3, "/bye": 3} {
		if got := srv.count(path); got != want {
			t.Errorf("%s: server answered %d, want %d", path, got, want)
		}
	}
	if len(d.Exceptions) != 0 {
		t.Errorf("exceptions: %v", d.Exceptions)
	}
}
