package runner

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
)

// counter is a loopback server that counts requests per path. /block
// holds every request until release is closed.
type counter struct {
	*httptest.Server
	mu       sync.Mutex
	hits     map[string]int
	inBlock  atomic.Int64
	release  chan struct{}
	released sync.Once
}

func newCounter(t *testing.T) *counter {
	t.Helper()
	c := &counter{hits: map[string]int{}, release: make(chan struct{})}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			c.inBlock.Add(1)
			select {
			case <-c.release:
			case <-r.Context().Done():
			}
			c.inBlock.Add(-1)
		}
		c.mu.Lock()
		c.hits[r.URL.Path]++
		c.mu.Unlock()
		io.WriteString(w, "ok")
	}))
	t.Cleanup(func() { c.Release(); c.Close() })
	return c
}

func (c *counter) Release() { c.released.Do(func() { close(c.release) }) }

func (c *counter) count(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits[path]
}

func (c *counter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.hits {
		n += v
	}
	return n
}

func load(t *testing.T, src string) *script.Script {
	t.Helper()
	s, err := script.LoadFiles("test.star", map[string][]byte{"test.star": []byte(src)}, script.Options{})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return s
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func start(t *testing.T, cfg Config) *Runner {
	t.Helper()
	cfg.Log = quietLog()
	r := New(cfg)
	r.Start(context.Background())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.Stop(ctx)
	})
	return r
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func recorded(d *stats.Delta, name string) int64 {
	var n int64
	for k, e := range d.Entries {
		if k.Name == name {
			n += e.Requests
		}
	}
	return n
}

const idle = `
def t(u):
    pass
a = user(tasks=[t], weight=3, wait_time=constant(0.05))
b = user(tasks=[t], weight=1, wait_time=constant(0.05))
`

func TestSpawnRate(t *testing.T) {
	r := start(t, Config{Script: load(t, idle)})
	begin := time.Now()
	r.SetTargets(map[string]int{"a": 20}, 10)
	if !r.Spawning() {
		t.Error("Spawning() = false right after SetTargets")
	}
	time.Sleep(time.Second)
	// 10/s: one at once, then one every 100 ms (generous bounds for a busy machine)
	n, el := r.Users(), time.Since(begin).Seconds()
	want := min(20, 1+10*el)
	if float64(n) < want-6 || float64(n) > want+3 {
		t.Errorf("after %.2f s at 10 users/s: %d users, want about %.0f", el, n, want)
	}
	waitFor(t, 6*time.Second, "20 users", func() bool { return r.Users() == 20 })
	if el := time.Since(begin); el < 1500*time.Millisecond {
		t.Errorf("20 users at 10/s took only %v", el)
	}
	waitFor(t, time.Second, "spawning to end", func() bool { return !r.Spawning() })
	if got := r.UsersByClass(); got["a"] != 20 || got["b"] != 0 {
		t.Errorf("UsersByClass = %v", got)
	}
}

func TestRetargetUpAndDown(t *testing.T) {
	r := start(t, Config{Script: load(t, idle)})
	steps := []map[string]int{
		{"a": 10, "b": 2},
		{"a": 3, "b": 2},
		{"a": 6, "b": 0},
		{"a": 0, "b": 0},
		{"a": 2, "b": 5},
	}
	for _, target := range steps {
		r.SetTargets(target, 200)
		want := target["a"] + target["b"]
		waitFor(t, 5*time.Second, "retarget", func() bool {
			by := r.UsersByClass()
			return by["a"] == target["a"] && by["b"] == target["b"] && !r.Spawning()
		})
		if r.Users() != want {
			t.Errorf("Users() = %d, want %d", r.Users(), want)
		}
	}
}

// While ramping, the classes grow in proportion, not one after the other.
func TestClassMixDuringRamp(t *testing.T) {
	r := start(t, Config{Script: load(t, idle)})
	target := Distribute(r.ClassList(), 40) // a=30, b=10
	if target["a"] != 30 || target["b"] != 10 {
		t.Fatalf("Distribute = %v", target)
	}
	r.SetTargets(target, 40)
	samples := 0
	waitFor(t, 6*time.Second, "40 users", func() bool {
		by := r.UsersByClass()
		a, b := float64(by["a"])/30, float64(by["b"])/10
		if d := a - b; d > 0.15 || d < -0.15 {
			t.Errorf("mix during ramp: a=%d b=%d (%.0f%% vs %.0f%% of their targets)", by["a"], by["b"], 100*a, 100*b)
		}
		samples++
		return by["a"]+by["b"] == 40
	})
	if samples < 5 {
		t.Logf("only %d samples during the ramp", samples)
	}
}

const blocking = `
def t(u):
    u.http.get("/block")
    u.http.get("/after")
def bye(u):
    u.http.get("/bye")
c = user(tasks=[t], on_stop=bye)
`

// Stop with and without a stop timeout: the requests in flight complete and
// are counted, exactly as many as the server answered.
func TestStop(t *testing.T) {
	tests := []struct {
		name        string
		stopTimeout time.Duration
		wantAfter   int // /after requests: 0 when tasks are interrupted, one per user when they may finish
	}{
		{"interrupt at the next request", 0, 0},
		{"let tasks finish", 5 * time.Second, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newCounter(t)
			r := New(Config{Script: load(t, blocking), Host: srv.URL, StopTimeout: tc.stopTimeout, Log: quietLog()})
			r.Start(context.Background())
			r.SetTargets(map[string]int{"c": 4}, 100)
			waitFor(t, 5*time.Second, "4 requests in flight", func() bool { return srv.inBlock.Load() == 4 })

			stopped := make(chan bool)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				stopped <- r.Stop(ctx)
			}()
			time.Sleep(100 * time.Millisecond) // Stop is waiting for the requests in flight
			select {
			case <-stopped:
				t.Fatal("Stop returned before the requests in flight completed")
			default:
			}
			srv.Release()
			select {
			case ok := <-stopped:
				if !ok {
					t.Fatal("Stop reported users that did not end")
				}
			case <-time.After(8 * time.Second):
				t.Fatal("Stop did not return")
			}
			d := r.Flush(time.Now())
			if got := srv.count("/block"); got != 4 || recorded(d, "/block") != 4 {
				t.Errorf("/block: server answered %d, recorded %d; want 4 and 4", got, recorded(d, "/block"))
			}
			if got := srv.count("/after"); got != tc.wantAfter || recorded(d, "/after") != int64(tc.wantAfter) {
				t.Errorf("/after: server answered %d, recorded %d; want %d", got, recorded(d, "/after"), tc.wantAfter)
			}
			if got := srv.count("/bye"); got != 4 || recorded(d, "/bye") != 4 {
				t.Errorf("on_stop: server answered %d, recorded %d; want 4", got, recorded(d, "/bye"))
			}
			if d.Requests() != int64(srv.total()) {
				t.Errorf("recorded %d requests, server answered %d", d.Requests(), srv.total())
			}
			for k, e := range d.Entries {
				if e.Failures != 0 {
					t.Errorf("%v: %d failures", k, e.Failures)
				}
			}
			if len(d.Exceptions) != 0 {
				t.Errorf("exceptions: %v", d.Exceptions)
			}
			if r.Users() != 0 {
				t.Errorf("Users() = %d after Stop", r.Users())
			}
			r.SetTargets(map[string]int{"c": 4}, 100) // a stopped runner starts nobody
			time.Sleep(100 * time.Millisecond)
			if r.Users() != 0 {
				t.Errorf("stopped runner spawned %d users", r.Users())
			}
		})
	}
}

// Users that stop themselves with u.stop() are not replaced.
func TestSelfStoppedUsersAreNotReplaced(t *testing.T) {
	srv := newCounter(t)
	r := start(t, Config{Script: load(t, `
def t(u):
    u.http.get("/once")
    u.stop()
c = user(tasks=[t])
`), Host: srv.URL})
	r.SetTargets(map[string]int{"c": 5}, 100)
	waitFor(t, 5*time.Second, "5 requests", func() bool { return srv.count("/once") == 5 })
	waitFor(t, 5*time.Second, "users to end", func() bool { return r.Users() == 0 })
	time.Sleep(300 * time.Millisecond)
	if got := srv.count("/once"); got != 5 {
		t.Errorf("server saw %d requests, want 5: stopped users were replaced", got)
	}
	if r.Spawning() {
		t.Error("Spawning() = true with every user stopped by itself")
	}
	if d := r.Flush(time.Now()); recorded(d, "/once") != 5 || len(d.Exceptions) != 0 {
		t.Errorf("recorded %d, exceptions %v", recorded(d, "/once"), d.Exceptions)
	}
}

// --host beats user(host=), which beats the script's host; the script's
// host passed back as the test's host (what the CLI does without --host)
// does not hide user(host=).
func TestHostPrecedence(t *testing.T) {
	scriptSrv, classSrv, flagSrv := newCounter(t), newCounter(t), newCounter(t)
	s := load(t, `
host = "`+scriptSrv.URL+`"
def t(u):
    u.http.get("/h")
    u.stop()
own = user(tasks=[t], host="`+classSrv.URL+`")
plain = user(tasks=[t])
`)
	tests := []struct {
		name          string
		host          string
		script, class int
		flag          int
	}{
		{"no override", "", 1, 1, 0},
		{"the script's host as the test host", scriptSrv.URL, 1, 1, 0},
		{"--host", flagSrv.URL, 0, 0, 2},
	}
	for _, tc := range tests {
		before := [3]int{scriptSrv.count("/h"), classSrv.count("/h"), flagSrv.count("/h")}
		r := start(t, Config{Script: s, Host: tc.host})
		r.SetTargets(map[string]int{"own": 1, "plain": 1}, 100)
		waitFor(t, 5*time.Second, "2 requests", func() bool {
			return scriptSrv.count("/h")+classSrv.count("/h")+flagSrv.count("/h")-before[0]-before[1]-before[2] == 2
		})
		got := [3]int{scriptSrv.count("/h") - before[0], classSrv.count("/h") - before[1], flagSrv.count("/h") - before[2]}
		if got != [3]int{tc.script, tc.class, tc.flag} {
			t.Errorf("%s: requests to script/class/flag hosts = %v, want %v", tc.name, got, [3]int{tc.script, tc.class, tc.flag})
		}
	}
}

// Seeded runs give every user the same random stream each time.
func TestSeedReachesUsers(t *testing.T) {
	srv := newCounter(t)
	s := load(t, `
def t(u):
    u.http.get("/r/%d" % random.int(1, 1000000000))
    u.stop()
c = user(tasks=[t])
`)
	paths := func(seed int64) map[string]bool {
		r := start(t, Config{Script: s, Host: srv.URL, Seed: seed})
		r.SetTargets(map[string]int{"c": 3}, 100)
		waitFor(t, 5*time.Second, "users to end", func() bool {
			by := r.UsersByClass()
			return by["c"] == 0 && !r.Spawning()
		})
		d := r.Flush(time.Now())
		out := map[string]bool{}
		for k := range d.Entries {
			out[k.Name] = true
		}
		return out
	}
	a, b := paths(7), paths(7)
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("paths %v %v", a, b)
	}
	for p := range a {
		if !b[p] {
			t.Errorf("seeded runs differ: %v vs %v", a, b)
			break
		}
	}
}

// A user that ended within --stop-timeout leaves no interrupt timer
// behind: the timer would keep the ended user in memory until it fired.
func TestStopTimeoutTimerEndsWithTheUser(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(r *Runner)
	}{
		{"ramp-down", func(r *Runner) { r.SetTargets(map[string]int{"a": 0, "b": 0}, 1000) }},
		{"stop", func(r *Runner) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if !r.Stop(ctx) {
				t.Error("users did not stop")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t, Config{Script: load(t, idle), StopTimeout: time.Hour})
			r.SetTargets(map[string]int{"a": 3, "b": 1}, 1000)
			waitFor(t, 5*time.Second, "4 users", func() bool { return r.Users() == 4 })
			r.mu.Lock()
			var users []*user
			for _, us := range r.alive {
				users = append(users, us...)
			}
			r.mu.Unlock()
			tc.stop(r)
			waitFor(t, 5*time.Second, "users to end", func() bool { return r.Users() == 0 })
			for _, u := range users {
				waitFor(t, 5*time.Second, "the user to finish", func() bool {
					u.mu.Lock()
					defer u.mu.Unlock()
					return u.finished
				})
				u.mu.Lock()
				pending := u.interrupt != nil
				u.mu.Unlock()
				if pending {
					t.Errorf("user %d: stop-timeout timer still pending after it ended", u.vu.ID)
				}
			}
		})
	}
}
