package runner

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/script"
)

// countingServer counts requests per path.
type countingServer struct {
	hello, bye atomic.Int64
}

func (c *countingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/hello":
		c.hello.Add(1)
	case "/bye":
		c.bye.Add(1)
	}
	w.Write([]byte("ok"))
}

func startRunner(t *testing.T, src string, users int) (*Runner, *countingServer) {
	t.Helper()
	cs := &countingServer{}
	srv := httptest.NewServer(cs)
	t.Cleanup(srv.Close)
	s, err := script.LoadFiles("test.star", map[string][]byte{"test.star": []byte(src)}, script.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := New(Config{Script: s, Host: srv.URL})
	r.Start(context.Background())
	r.SetTargets(map[string]int{"idler": users}, 1000)
	return r, cs
}

func waitUntil(t *testing.T, what string, limit time.Duration, ok func() bool) {
	t.Helper()
	end := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(end) {
			t.Fatalf("after %v: %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const idleScript = `
def hello(u):
    u.http.get("/hello")

def bye(u):
    u.http.get("/bye")

idler = user(tasks=[hello], on_stop=bye, wait_time=constant(%s))
`

func TestLongWaitsHoldNoGoroutine(t *testing.T) {
	const users = 200
	before := runtime.NumGoroutine()
	r, cs := startRunner(t, fmt.Sprintf(idleScript, "3600"), users)
	waitUntil(t, "every user made its request", 20*time.Second, func() bool { return cs.hello.Load() == users })
	waitUntil(t, "users parked", 10*time.Second, func() bool {
		// the spawner, the test server's goroutines for idle keep-alive
		// connections (one each), but not one per user
		return runtime.NumGoroutine() < before+users+20
	})
	if r.Users() != users {
		t.Errorf("Users() = %d, want %d", r.Users(), users)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if !r.Stop(ctx) {
		t.Fatal("parked users did not stop")
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("stop took %v", el)
	}
	// every parked user woke to run on_stop, once
	if got := cs.bye.Load(); got != users {
		t.Errorf("on_stop ran %d times, want %d", got, users)
	}
	if got := cs.hello.Load(); got != users {
		t.Errorf("%d task runs, want %d (a stopped user ran its task again)", got, users)
	}
}

func TestParkedUsersResume(t *testing.T) {
	// constant(1.1) is above parkAfter: every wait parks the user, and the
	// timer must bring it back.
	r, cs := startRunner(t, fmt.Sprintf(idleScript, "1.1"), 5)
	waitUntil(t, "each user ran its task three times", 20*time.Second, func() bool { return cs.hello.Load() >= 15 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if !r.Stop(ctx) {
		t.Fatal("users did not stop")
	}
	if got := cs.bye.Load(); got != 5 {
		t.Errorf("on_stop ran %d times, want 5", got)
	}
}

func TestShortWaitsKeepTheirGoroutine(t *testing.T) {
	r, cs := startRunner(t, fmt.Sprintf(idleScript, "0.01"), 3)
	waitUntil(t, "users loop", 20*time.Second, func() bool { return cs.hello.Load() >= 30 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if !r.Stop(ctx) {
		t.Fatal("users did not stop")
	}
	if got := cs.bye.Load(); got != 3 {
		t.Errorf("on_stop ran %d times, want 3", got)
	}
}

func TestDrainRacesWithWake(t *testing.T) {
	// Stopping users just as their timers fire must run on_stop exactly
	// once per user: constant(1) wakes them at about the moment we stop.
	for i := 0; i < 3; i++ {
		r, cs := startRunner(t, fmt.Sprintf(idleScript, "1"), 20)
		waitUntil(t, "first requests", 20*time.Second, func() bool { return cs.hello.Load() >= 20 })
		time.Sleep(time.Second - 5*time.Millisecond*time.Duration(i))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		if !r.Stop(ctx) {
			cancel()
			t.Fatal("users did not stop")
		}
		cancel()
		if got := cs.bye.Load(); got != 20 {
			t.Errorf("round %d: on_stop ran %d times, want 20", i, got)
		}
	}
}

func TestMemoryReleasedAfterBigRamp(t *testing.T) {
	tests := []struct {
		users int
		want  int64
	}{
		{releaseAfterRamp, 1},                     // once, releaseDelay after the ramp
		{releaseDuringRamp + releaseAfterRamp, 2}, // also once during the ramp
		{10, 0}, // small changes never force a GC
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.users), func(t *testing.T) {
			t.Parallel()
			cs := &countingServer{}
			srv := httptest.NewServer(cs)
			defer srv.Close()
			s, err := script.LoadFiles("test.star", map[string][]byte{"test.star": []byte(fmt.Sprintf(idleScript, "3600"))}, script.Options{})
			if err != nil {
				t.Fatal(err)
			}
			r := New(Config{Script: s, Host: srv.URL})
			var released atomic.Int64
			r.release = func() { released.Add(1) }
			r.Start(context.Background())
			r.SetTargets(map[string]int{"idler": tc.users}, 100000)
			waitUntil(t, "every user made its request", 30*time.Second, func() bool { return cs.hello.Load() == int64(tc.users) })
			time.Sleep(releaseDelay + 2*time.Second)
			if got := released.Load(); got != tc.want {
				t.Errorf("released %d times after a ramp to %d users, want %d", got, tc.users, tc.want)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if !r.Stop(ctx) {
				t.Fatal("users did not stop")
			}
		})
	}
}
