package cluster_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// dataTarget records what a test sent: the items, the tokens, the workers
// (X-User ids are offset by 1,000,000 per worker) and when the last user
// request and the teardown arrived.
type dataTarget struct {
	URL      string
	mu       sync.Mutex
	items    map[string]int
	tokens   map[string]int
	workers  map[int64]int
	paths    map[string]int
	lastUser time.Time
	teardown []time.Time
	users    atomic.Int64
	stopAt   int64 // answer X-Stop once this many user requests came (0: never)
}

func newDataTarget(t *testing.T) *dataTarget {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dt := &dataTarget{URL: "http://" + ln.Addr().String(), items: map[string]int{}, tokens: map[string]int{},
		workers: map[int64]int{}, paths: map[string]int{}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dt.mu.Lock()
		defer dt.mu.Unlock()
		dt.paths[r.URL.Path]++
		switch r.URL.Path {
		case "/login":
			fmt.Fprint(w, `{"token": "t-42"}`)
			return
		case "/logout":
			dt.teardown = append(dt.teardown, time.Now())
		case "/item", "/api":
			n := dt.users.Add(1)
			dt.lastUser = time.Now()
			if v := r.URL.Query().Get("v"); v != "" {
				dt.items[v]++
			}
			dt.tokens[r.Header.Get("Authorization")]++
			if id, err := strconv.ParseInt(r.Header.Get("X-User"), 10, 64); err == nil {
				dt.workers[id/1_000_000]++
			}
			if dt.stopAt > 0 && n >= dt.stopAt {
				w.Header().Set("X-Stop", "enough")
			}
		}
		fmt.Fprint(w, "ok")
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return dt
}

func (dt *dataTarget) count() int64 { return dt.users.Load() }

// startCluster starts a headless master on script with extra flags and n
// workers; it returns the master and the JSON summary's path.
func startCluster(t *testing.T, script, host string, n int, extra ...string) (*proc, string) {
	t.Helper()
	port := freePort(t)
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"master", "-f", script, "--headless", "--host", host,
		"--master-bind-host", "127.0.0.1", "--master-bind-port", strconv.Itoa(port),
		"--json", out + ".json", "--expect-workers", strconv.Itoa(n)}
	m := start(t, "master", nil, nil, append(args, extra...)...)
	for i := range n {
		// The workers run in an empty directory: the data files reach them
		// only through the master.
		start(t, fmt.Sprintf("worker-%d", i), []string{"env", "-C", t.TempDir()}, nil, workerArgs(port, "r"+strconv.Itoa(i), "w"+strconv.Itoa(i))...)
	}
	return m, out + ".json"
}

// Every item of a shared.queue is used exactly once across three worker
// processes; the items come from a data file only the master has.
func TestSharedQueueUniqueAcrossWorkers(t *testing.T) {
	t.Parallel()
	dt := newDataTarget(t)
	dir := t.TempDir()
	var lines strings.Builder
	for i := range 10_000 {
		fmt.Fprintf(&lines, "item-%05d\n", i)
	}
	os.WriteFile(filepath.Join(dir, "items.txt"), []byte(lines.String()), 0o644)
	script := filepath.Join(dir, "test.star")
	os.WriteFile(script, []byte(`
items = shared.queue(data.lines("items.txt"), cycle=False)
def take(u):
    v = items.next()
    if v == None:
        u.stop()
        return
    u.http.get("/item?v=" + v, name="/item", headers={"X-User": str(u.id)})
v = user(tasks=[take])
`), 0o644)
	m, doc := startCluster(t, script, dt.URL, 3, "-u", "30", "-r", "300", "-t", "60s")
	waitFor(t, 40*time.Second, "10,000 items", func() bool { return dt.count() >= 10_000 })
	time.Sleep(300 * time.Millisecond) // a duplicate would arrive now
	m.signal(syscall.SIGTERM)
	if code := m.wait(t, 30*time.Second); code != 3 {
		t.Fatalf("master exit %d (want 3, interrupted)", code)
	}
	dt.mu.Lock()
	defer dt.mu.Unlock()
	if len(dt.items) != 10_000 || dt.count() != 10_000 {
		t.Fatalf("%d distinct items in %d requests, want 10,000 of each", len(dt.items), dt.count())
	}
	for v, n := range dt.items {
		if n != 1 {
			t.Errorf("%s used %d times", v, n)
		}
	}
	if len(dt.workers) != 3 {
		t.Errorf("requests per worker %v: want all three", dt.workers)
	}
	if d := readDoc(t, doc); d.Stats.Total.Requests != 10_000 {
		t.Errorf("summary counts %d requests", d.Stats.Total.Requests)
	}
}

// The master runs setup and teardown once; setup's token reaches the users
// of every worker; a script's stop_test on a worker ends the test.
func TestSetupTeardownStopTestDistributed(t *testing.T) {
	t.Parallel()
	dt := newDataTarget(t)
	dt.stopAt = 200
	script := writeScript(t, `
def setup(ctx):
    return {"token": ctx.http.post("/login", name="setup login").json()["token"]}
def teardown(ctx, data):
    ctx.http.post("/logout", data=data["token"])
def call(u):
    r = u.http.get("/api", headers={"Authorization": u.setup_data["token"], "X-User": str(u.id)})
    if r.headers.get("X-Stop"):
        u.stop_test("the server had enough")
v = user(tasks=[call], wait_time=constant(0.01))
`)
	m, doc := startCluster(t, script, dt.URL, 2, "-u", "10", "-r", "100", "-t", "60s")
	if code := m.wait(t, 40*time.Second); code != 0 {
		t.Fatalf("master exit %d\n%s", code, lastLines(m.stderr.String(), 30))
	}
	d := readDoc(t, doc)
	if d.Run.StopTestReason != "the server had enough" || d.Run.StopReason != "stopped by the script: the server had enough" || d.Run.Interrupted {
		t.Errorf("run: reason %q, stop_test %q, interrupted %v", d.Run.StopReason, d.Run.StopTestReason, d.Run.Interrupted)
	}
	dt.mu.Lock()
	defer dt.mu.Unlock()
	if dt.paths["/login"] != 1 || len(dt.teardown) != 1 {
		t.Errorf("setup ran %d times, teardown %d times", dt.paths["/login"], len(dt.teardown))
	}
	if len(dt.tokens) != 1 || dt.tokens["t-42"] != int(dt.count()) {
		t.Errorf("tokens seen %v", dt.tokens)
	}
	if len(dt.workers) != 2 {
		t.Errorf("requests per worker %v: want both", dt.workers)
	}
	if len(dt.teardown) == 1 && dt.teardown[0].Before(dt.lastUser) {
		t.Error("teardown ran before the last user request")
	}
	names := map[string]int64{}
	for _, e := range d.Stats.Entries {
		names[e.Method+" "+e.Name] = e.Requests
	}
	if names["POST setup login"] != 1 || names["POST /logout"] != 1 || names["GET /api"] != dt.count() {
		t.Errorf("statistics %v, server saw %d", names, dt.count())
	}
}

// A failing setup on the master: exit 2 with file:line, no user request.
func TestFailingSetupDistributed(t *testing.T) {
	t.Parallel()
	dt := newDataTarget(t)
	script := writeScript(t, "def setup(ctx):\n    ctx.http.post('/login')\n    fail('cannot log in')\ndef call(u):\n    u.http.get('/api')\nv = user(tasks=[call])\n")
	m, doc := startCluster(t, script, dt.URL, 1, "-u", "2", "-t", "30s")
	if code := m.wait(t, 30*time.Second); code != 2 || !strings.Contains(m.stderr.String(), "setup failed: test.star:3:9: fail: cannot log in") {
		t.Fatalf("master exit %d\n%s", code, lastLines(m.stderr.String(), 10))
	}
	if dt.count() != 0 {
		t.Errorf("%d user requests after a failed setup", dt.count())
	}
	if d := readDoc(t, doc); !strings.HasPrefix(d.Run.StopReason, "setup failed: ") {
		t.Errorf("stop reason %q", d.Run.StopReason)
	}
}

// -i over two workers: exactly N task executions in the whole cluster.
func TestIterationsExactDistributed(t *testing.T) {
	t.Parallel()
	for _, model := range [][]string{{"-u", "7", "-r", "100"}, {"--arrival-rate", "300/s"}} {
		dt := newDataTarget(t)
		script := writeScript(t, "def call(u):\n    u.http.get('/api', headers={'X-User': str(u.id)})\nv = user(tasks=[call])\n")
		m, doc := startCluster(t, script, dt.URL, 2, append([]string{"-i", "333", "-t", "60s"}, model...)...)
		if code := m.wait(t, 40*time.Second); code != 0 {
			t.Fatalf("%v: master exit %d\n%s", model, code, lastLines(m.stderr.String(), 30))
		}
		d := readDoc(t, doc)
		if dt.count() != 333 || d.Stats.Total.Requests != 333 || d.Run.StopReason != "iterations finished" {
			t.Errorf("%v: server saw %d, summary %d, reason %q; want 333", model, dt.count(), d.Stats.Total.Requests, d.Run.StopReason)
		}
		dt.mu.Lock()
		if len(dt.workers) != 2 {
			t.Errorf("%v: requests per worker %v", model, dt.workers)
		}
		dt.mu.Unlock()
	}
}

// A data file near the bundle limit reaches the worker whole: the
// protocol's message limits leave room for what the loader allows.
func TestBigDataFileShipped(t *testing.T) {
	t.Parallel()
	dt := newDataTarget(t)
	dir := t.TempDir()
	big := make([]byte, 30<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644)
	script := filepath.Join(dir, "test.star")
	os.WriteFile(script, []byte(`
BLOB = data.read("big.bin")
def call(u):
    u.http.get("/item?v=%d" % len(BLOB), name="/item")
v = user(tasks=[call])
`), 0o644)
	m, _ := startCluster(t, script, dt.URL, 1, "-u", "1", "-i", "1", "-t", "60s")
	if code := m.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("master exit %d\n%s", code, lastLines(m.stderr.String(), 20))
	}
	dt.mu.Lock()
	defer dt.mu.Unlock()
	if len(dt.items) != 1 {
		t.Fatalf("items %v", dt.items)
	}
	if dt.items[strconv.Itoa(30<<20)] != 1 {
		t.Errorf("the worker got a file of another size: %v", dt.items)
	}
}
