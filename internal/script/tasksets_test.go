package script

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/stats"
)

// paths is what the target received, in order.
func (tg *target) paths() []string {
	var out []string
	for _, r := range tg.requests() {
		out = append(out, r.Path)
	}
	return out
}

// get is a script helper: a task that requests /NAME.
const getHelpers = `
def get(name):
    def task(u):
        u.http.get("/" + name)
    return task

def leaving(name, reschedule=True):
    def task(u):
        u.http.get("/" + name)
        u.interrupt(reschedule=reschedule)
        u.http.get("/never")
    return task
`

// runTasks runs n tasks of a user of class and returns what the target
// received, checking no exception was recorded.
func runTasks(t *testing.T, src, class string, n int) ([]string, *VU) {
	t.Helper()
	tg := newTarget(t)
	h := newHarness(t, getHelpers+src, Options{})
	v := h.vu(1, class, tg.URL, 1)
	ctx := context.Background()
	v.OnStart(ctx)
	for range n {
		v.RunTask(ctx)
	}
	if d := h.flush(); len(d.Exceptions) > 0 {
		t.Fatalf("exceptions: %v", d.Exceptions)
	}
	return tg.paths(), v
}

func TestTaskSetSequence(t *testing.T) {
	tests := []struct {
		name, src string
		tasks     int
		want      string
	}{
		{
			name: "sequential set loops in order, weight repeats a task, on_start on entering",
			src: `
s = taskset(tasks=[get("a"), task(get("b"), weight=2), get("c")], sequential=True, on_start=get("s-start"), on_stop=get("s-stop"))
u1 = user(tasks=[s])
`,
			tasks: 6,
			want:  "/s-start /a /b /b /c /a /b",
		},
		{
			name: "interrupt returns to the parent after on_stop; the rest of the task does not run",
			src: `
s = taskset(tasks=[get("in"), leaving("out")], sequential=True, on_start=get("s-start"), on_stop=get("s-stop"))
u1 = user(tasks=[get("top"), s], sequential=True)
`,
			tasks: 5,
			want:  "/top /s-start /in /out /s-stop /top /s-start /in",
		},
		{
			name: "nested three levels deep, each left by its own interrupt",
			src: `
l3 = taskset(tasks=[get("l3"), leaving("l3-out")], sequential=True, on_start=get("l3-start"), on_stop=get("l3-stop"))
l2 = taskset(tasks=[get("l2"), l3, leaving("l2-out")], sequential=True, on_start=get("l2-start"), on_stop=get("l2-stop"))
l1 = taskset(tasks=[l2, leaving("l1-out")], sequential=True, on_start=get("l1-start"), on_stop=get("l1-stop"))
u1 = user(tasks=[get("top"), l1], sequential=True)
`,
			tasks: 7,
			want: "/top /l1-start /l2-start /l2 /l3-start /l3 /l3-out /l3-stop " +
				"/l2-out /l2-stop /l1-out /l1-stop /top",
		},
		{
			name: "an on_start that interrupts leaves at once, without on_stop",
			src: `
def refuse(u):
    u.http.get("/refuse")
    u.interrupt()
s = taskset(tasks=[get("never-in")], on_start=refuse, on_stop=get("never-stop"))
u1 = user(tasks=[get("top"), s], sequential=True)
`,
			tasks: 4,
			want:  "/top /refuse /top /refuse",
		},
		{
			name: "dict weights may name tasks and sets; task(set) wraps a set",
			src: `
s = taskset(tasks={get("x"): 1}, name="xs")
u1 = user(tasks={task(s, tags=["t"]): 1}, sequential=True)
`,
			tasks: 2,
			want:  "/x /x",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := runTasks(t, tc.src, "u1", tc.tasks)
			if strings.Join(got, " ") != tc.want {
				t.Errorf("server received\n  %s\nwant\n  %s", strings.Join(got, " "), tc.want)
			}
		})
	}
}

func TestTaskSetStopUnwinds(t *testing.T) {
	// A user stopped inside nested sets runs their on_stop innermost
	// first, then the class's (Locust's order).
	tg := newTarget(t)
	h := newHarness(t, getHelpers+`
l2 = taskset(tasks=[get("l2")], on_stop=get("l2-stop"))
l1 = taskset(tasks=[l2], on_stop=get("l1-stop"))
u1 = user(tasks=[l1], on_stop=get("user-stop"))
`, Options{})
	v := h.vu(1, "u1", tg.URL, 1)
	ctx := context.Background()
	v.RunTask(ctx)
	v.Interrupt()
	v.OnStop(ctx)
	if got, want := strings.Join(tg.paths(), " "), "/l2 /l2-stop /l1-stop /user-stop"; got != want {
		t.Errorf("server received %s, want %s", got, want)
	}
}

func TestInterruptWaits(t *testing.T) {
	h := newHarness(t, getHelpers+`
def stay(u):
    pass
inner = taskset(tasks=[stay], wait_time=constant(7))
now = taskset(tasks=[leaving("now")])
later = taskset(tasks=[leaving("later", reschedule=False)])
u1 = user(tasks=[inner], wait_time=constant(3))
u2 = user(tasks=[now], wait_time=constant(3))
u3 = user(tasks=[later], wait_time=constant(3))
`, Options{})
	tg := newTarget(t)
	ctx := context.Background()
	tests := []struct {
		class string
		want  time.Duration
	}{
		{"u1", 7 * time.Second}, // in the set: its own wait time
		{"u2", 0},               // interrupt(): the parent picks again at once
		{"u3", 3 * time.Second}, // interrupt(reschedule=False): the parent's wait
	}
	for _, tc := range tests {
		v := h.vu(1, tc.class, tg.URL, 1)
		if got := v.NextWait(ctx, v.RunTask(ctx)); got != tc.want {
			t.Errorf("%s: wait %v, want %v", tc.class, got, tc.want)
		}
	}
}

func TestInterruptOutsideASet(t *testing.T) {
	// u.interrupt() is refused where there is no set to leave: a user's
	// own task or on_start, a set's on_stop, a wait_time function.
	h := newHarness(t, getHelpers+`
def interrupt(u):
    u.interrupt()
def wait_leaving(u):
    u.interrupt()
    return 0
in_stop = taskset(tasks=[leaving("in-set")], on_stop=interrupt)
in_wait = taskset(tasks=[get("in-set")], wait_time=wait_leaving)
top = user(tasks=[leaving("top")])
start = user(tasks=[get("top")], on_start=interrupt)
set_stop = user(tasks=[in_stop])
wait_fn = user(tasks=[in_wait])
`, Options{})
	tg := newTarget(t)
	ctx := context.Background()
	for _, class := range []string{"top", "start", "set_stop", "wait_fn"} {
		v := h.vu(1, class, tg.URL, 1)
		v.OnStart(ctx)
		v.NextWait(ctx, v.RunTask(ctx))
		k, _ := onlyException(t, h.flush())
		if !strings.Contains(k.Message, "no task set to leave here") || !strings.Contains(k.Traceback, "test.star:") {
			t.Errorf("%s: exception %q (traceback %q): want a clear message with the position", class, k.Message, k.Traceback)
		}
	}
}

func TestMarkovChain(t *testing.T) {
	// A Markov chain over a tree of states: each state is a task set; a
	// transition is entering a child state (picking a set) or going back
	// to the parent (u.interrupt()). The server must see only the
	// chain's transitions.
	tg := newTarget(t)
	h := newHarness(t, getHelpers+`
product = taskset(name="product", on_start=get("product"), tasks={get("product/reviews"): 2, leaving("leave-product"): 1})
category = taskset(name="category", on_start=get("category"), tasks={product: 3, leaving("leave-category"): 1})
shopper = user(tasks={get("home"): 1, category: 2})
`, Options{})
	v := h.vu(1, "shopper", tg.URL, 42)
	ctx := context.Background()
	for range 300 {
		v.RunTask(ctx)
	}
	if d := h.flush(); len(d.Exceptions) > 0 {
		t.Fatalf("exceptions: %v", d.Exceptions)
	}
	next := map[string][]string{
		"/home":            {"/home", "/category"},
		"/category":        {"/product", "/leave-category"},
		"/product":         {"/product/reviews", "/leave-product"},
		"/product/reviews": {"/product/reviews", "/leave-product"},
		"/leave-product":   {"/product", "/leave-category"},
		"/leave-category":  {"/home", "/category"},
	}
	got := tg.paths()
	seen := map[string]bool{}
	for i := 1; i < len(got); i++ {
		seen[got[i]] = true
		if !slices.Contains(next[got[i-1]], got[i]) {
			t.Fatalf("transition %s → %s is not in the chain (request %d of %v)", got[i-1], got[i], i, got)
		}
	}
	for s := range next {
		if !seen[s] {
			t.Errorf("state %s never reached in %d requests", s, len(got))
		}
	}
}

func TestWaitTimeFunction(t *testing.T) {
	tg := newTarget(t)
	h := newHarness(t, getHelpers+`
def slower(u):
    n = u.state.get("n", 0) + 1
    u.state["n"] = n
    u.http.get("/wait/%d" % n)
    return n * 0.5

def bad(u):
    return "soon"

u1 = user(tasks=[get("a")], wait_time=slower)
u2 = user(tasks=[get("b")], wait_time=bad)
`, Options{})
	ctx := context.Background()
	v := h.vu(1, "u1", tg.URL, 1)
	for i, want := range []time.Duration{500 * time.Millisecond, time.Second} {
		if got := v.NextWait(ctx, v.RunTask(ctx)); got != want {
			t.Errorf("wait %d = %v, want %v", i, got, want)
		}
	}
	if got, want := strings.Join(tg.paths(), " "), "/a /wait/1 /a /wait/2"; got != want {
		t.Errorf("server received %s, want %s", got, want)
	}
	if d := h.flush(); len(d.Exceptions) > 0 {
		t.Fatalf("exceptions: %v", d.Exceptions)
	}
	v = h.vu(2, "u2", tg.URL, 1)
	if got := v.NextWait(ctx, v.RunTask(ctx)); got != 0 {
		t.Errorf("bad wait_time: wait %v, want 0", got)
	}
	k, _ := onlyException(t, h.flush())
	if !strings.HasPrefix(k.Message, "test.star:") || !strings.Contains(k.Message, `wait_time function bad returned "soon"`) {
		t.Errorf("exception %q: want the function's position and its result", k.Message)
	}
}

func TestSleep(t *testing.T) {
	tg := newTarget(t)
	h := newHarness(t, getHelpers+`
def nap(u):
    u.http.get("/before")
    u.sleep(0.05)
    u.http.get("/after")

def long(u):
    u.http.get("/before-long")
    u.sleep(60)
    u.http.get("/after-long")

def bad(u):
    u.sleep(-1)

u1 = user(tasks=[nap])
u2 = user(tasks=[long])
u3 = user(tasks=[bad])
`, Options{})
	ctx := context.Background()
	start := time.Now()
	h.vu(1, "u1", tg.URL, 1).RunTask(ctx)
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("task with u.sleep(0.05) took %v", d)
	}

	v := h.vu(2, "u2", tg.URL, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		v.Interrupt()
	}()
	start = time.Now()
	v.RunTask(ctx)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("u.sleep(60) of a stopped user returned after %v", d)
	}
	if got, want := strings.Join(tg.paths(), " "), "/before /after /before-long"; got != want {
		t.Errorf("server received %s, want %s (the task ends at the stopped sleep)", got, want)
	}
	if d := h.flush(); len(d.Exceptions) > 0 {
		t.Errorf("a sleep cut by a stop is not the script's fault: %v", d.Exceptions)
	}

	h.vu(3, "u3", tg.URL, 1).RunTask(ctx)
	if k, _ := onlyException(t, h.flush()); !strings.Contains(k.Message, "seconds must be a finite number >= 0, got -1") {
		t.Errorf("exception %q", k.Message)
	}
}

func TestTaskTimeOnlyWherePacingNeedsIt(t *testing.T) {
	s := mustLoad(t, `
def nap(u):
    u.sleep(0.03)

inner = taskset(tasks=[nap], wait_time=constant_pacing(0.1))
paced = user(tasks=[nap], wait_time=constant_pacing(0.1))
nested = user(tasks=[inner], wait_time=constant(0))
plain = user(tasks=[nap], wait_time=between(0, 0))
`, Options{})
	h := &harness{t: t, s: s, rec: stats.NewRecorder(1, time.Now(), false)}
	ctx := context.Background()
	for _, tc := range []struct {
		class string
		timed bool
	}{{"paced", true}, {"nested", true}, {"plain", false}} {
		v := h.vu(1, tc.class, "http://x.test", 1)
		d := v.RunTask(ctx) // nested: enters the set and runs its task
		switch {
		case tc.timed && d < 30*time.Millisecond:
			t.Errorf("%s: task time %v, want >= 30ms (constant_pacing needs it)", tc.class, d)
		case tc.timed && v.NextWait(ctx, d) > 70*time.Millisecond:
			t.Errorf("%s: wait %v after a 30 ms task paced at 100 ms", tc.class, v.NextWait(ctx, d))
		case !tc.timed && d != 0:
			t.Errorf("%s: task time %v, want 0 (no wait time needs it: the clock is not read)", tc.class, d)
		}
	}
	// A Go class (package load) paced too.
	nap := GoTask{Name: "nap", Weight: 1, Fn: func(v *VU) error { return v.Sleep(30 * time.Millisecond) }}
	for _, w := range []*WaitTime{{Kind: WaitPacing, Min: 100 * time.Millisecond, Max: 100 * time.Millisecond}, nil} {
		c, err := NewGoClass(GoClass{Name: "g", Weight: 1, Wait: w, Tasks: []GoTask{nap}})
		if err != nil {
			t.Fatal(err)
		}
		v := s.NewVU(1, c, VUConfig{Client: httpclient.New(httpclient.Options{}), Shard: h.rec.Shard(1)})
		if d := v.RunTask(ctx); (w != nil) != (d >= 30*time.Millisecond) {
			t.Errorf("Go class with wait %v: task time %v", w, d)
		}
	}
}
