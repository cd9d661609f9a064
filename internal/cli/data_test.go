package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/output"
)

// recorder is a target that records, per path, what it was sent: the
// body, or the Authorization header for /api.
type recorder struct {
	url string
	mu  sync.Mutex
	got map[string][]string
	at  map[string][]time.Time
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	rc := &recorder{got: map[string][]string{}, at: map[string][]time.Time{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		_, _ = fmt.Fprint(&b, r.URL.Query().Get("v"))
		if r.Body != nil {
			buf := make([]byte, 4096)
			n, _ := r.Body.Read(buf)
			b.Write(buf[:n])
		}
		v := b.String()
		if strings.HasPrefix(r.URL.Path, "/api") {
			v = r.Header.Get("Authorization")
		}
		rc.mu.Lock()
		rc.got[r.URL.Path] = append(rc.got[r.URL.Path], v)
		rc.at[r.URL.Path] = append(rc.at[r.URL.Path], time.Now())
		rc.mu.Unlock()
		if r.URL.Path == "/login" {
			fmt.Fprintf(w, `{"token": "tok-%d"}`, time.Now().UnixNano())
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL
	return rc
}

func (rc *recorder) seen(path string) []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.got[path]...)
}

func (rc *recorder) times(path string) []time.Time {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]time.Time(nil), rc.at[path]...)
}

func readSummary(t *testing.T, path string) *output.Document {
	t.Helper()
	doc, err := output.ReadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// Users log in with credentials from a CSV, each row to one user only.
func TestCSVUsersLogInOnce(t *testing.T) {
	rc := newRecorder(t)
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("username,password\r\n")
	for i := range 30 {
		fmt.Fprintf(&csv, "user%02d,\"p,%d\"\r\n", i, i)
	}
	os.WriteFile(filepath.Join(dir, "users.csv"), []byte(csv.String()), 0o644)
	script := filepath.Join(dir, "test.star")
	os.WriteFile(script, []byte(`
logins = shared.queue(data.csv("users.csv"), cycle=False)
def on_start(u):
    row = logins.next()
    if row == None:
        u.stop()
        return
    u.http.post("/login", json={"username": row["username"], "password": row["password"]})
def browse(u):
    u.http.get("/page")
v = user(tasks=[browse], on_start=on_start, wait_time=constant(0.05))
`), 0o644)
	r := runMain(t, "run", "-f", script, "--headless", "--host", rc.url, "-u", "40", "-r", "200", "-t", "2s")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	logins := rc.seen("/login")
	seen := map[string]int{}
	for _, body := range logins {
		var c struct{ Username, Password string }
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			t.Fatalf("login body %q: %v", body, err)
		}
		seen[c.Username]++
		if want := "p," + strings.TrimLeft(strings.TrimPrefix(c.Username, "user"), "0"); c.Password != want && !(c.Username == "user00" && c.Password == "p,0") {
			t.Errorf("%s logged in with password %q", c.Username, c.Password)
		}
	}
	if len(logins) != 30 || len(seen) != 30 {
		t.Errorf("%d logins for %d usernames, want 30 each: %v", len(logins), len(seen), seen)
	}
	if len(rc.seen("/page")) == 0 {
		t.Error("no user browsed")
	}
}

// setup's token reaches every user's requests; teardown runs once, after
// the last user's request; both appear in the statistics.
func TestSetupTeardownLocal(t *testing.T) {
	rc := newRecorder(t)
	out := filepath.Join(t.TempDir(), "out.json")
	script := writeStar(t, `
def setup(ctx):
    r = ctx.http.post("/login", data=ctx.vars["who"], name="setup login")
    return {"token": r.json()["token"]}
def teardown(ctx, data):
    ctx.http.post("/logout", data=data["token"], name="teardown logout")
def call(u):
    u.http.get("/api/x", headers={"Authorization": "Bearer " + u.setup_data["token"]})
v = user(tasks=[call], wait_time=constant(0.02))
`)
	r := runMain(t, "run", "-f", script, "--headless", "--host", rc.url, "-u", "5", "-r", "50", "-t", "1s", "--var", "who=admin", "--json", out)
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	logins, logouts, api := rc.seen("/login"), rc.seen("/logout"), rc.seen("/api/x")
	if len(logins) != 1 || logins[0] != "admin" || len(logouts) != 1 || len(api) == 0 {
		t.Fatalf("logins %v, logouts %v, %d api calls", logins, logouts, len(api))
	}
	token := logouts[0]
	for _, a := range api {
		if a != "Bearer "+token {
			t.Fatalf("api call with %q, want the setup's token %q", a, token)
		}
	}
	apiAt, logoutAt, loginAt := rc.times("/api/x"), rc.times("/logout")[0], rc.times("/login")[0]
	if logoutAt.Before(apiAt[len(apiAt)-1]) || apiAt[0].Before(loginAt) {
		t.Error("setup did not run before the users, or teardown before the last user's request")
	}
	doc := readSummary(t, out)
	names := map[string]int64{}
	for _, e := range doc.Stats.Entries {
		names[e.Method+" "+e.Name] = e.Requests
	}
	if names["POST setup login"] != 1 || names["POST teardown logout"] != 1 || names["GET /api/x"] != int64(len(api)) {
		t.Errorf("statistics %v", names)
	}
}

func TestFailingSetupExits2(t *testing.T) {
	rc := newRecorder(t)
	out := filepath.Join(t.TempDir(), "out.json")
	script := writeStar(t, `
def setup(ctx):
    r = ctx.http.post("/login", data="x")
    if r.json()["token"] != "expected":
        fail("login refused")
def teardown(ctx, data):
    ctx.http.post("/logout")
def call(u):
    u.http.get("/api/x")
v = user(tasks=[call])
`)
	r := runMain(t, "run", "-f", script, "--headless", "--host", rc.url, "-u", "5", "-r", "50", "-t", "5s", "--json", out)
	if r.code != ExitConfig || !strings.Contains(r.stderr, "error: setup failed: test.star:5:13: fail: login refused") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if len(rc.seen("/api/x")) != 0 || len(rc.seen("/logout")) != 0 || len(rc.seen("/login")) != 1 {
		t.Errorf("users or teardown ran after a failed setup: %v", rc.got)
	}
	doc := readSummary(t, out)
	if !strings.HasPrefix(doc.Run.StopReason, "setup failed: ") || doc.Stats.Total.Requests != 1 || len(doc.Stats.Exceptions) != 1 {
		t.Errorf("summary: reason %q, %d requests, exceptions %v", doc.Run.StopReason, doc.Stats.Total.Requests, doc.Stats.Exceptions)
	}
}

func TestStopTestLocal(t *testing.T) {
	for _, model := range [][]string{{"-u", "5", "-r", "50"}, {"--arrival-rate", "50/s"}} {
		rc := newRecorder(t)
		out := filepath.Join(t.TempDir(), "out.json")
		script := writeStar(t, `
n = shared.counter()
def call(u):
    u.http.get("/page")
    if n.add() == 20:
        u.stop_test("saw 20 pages")
v = user(tasks=[call], wait_time=constant(0.01))
`)
		args := append([]string{"run", "-f", script, "--headless", "--host", rc.url, "-t", "60s", "--json", out}, model...)
		r := runMain(t, args...)
		if r.code != ExitOK || r.took > 20*time.Second || !strings.Contains(r.stderr, "saw 20 pages") {
			t.Fatalf("%v: exit %d after %v: %s", model, r.code, r.took, r.stderr)
		}
		doc := readSummary(t, out)
		if doc.Run.StopReason != "stopped by the script: saw 20 pages" || doc.Run.StopTestReason != "saw 20 pages" || doc.Run.Interrupted {
			t.Errorf("%v: run %+v", model, doc.Run)
		}
	}
}

// -i ends the test after exactly N task executions (one request each),
// in the closed and the open model, with -t as a backstop.
func TestIterationsExactLocal(t *testing.T) {
	for _, model := range [][]string{{"-u", "13", "-r", "100"}, {"--arrival-rate", "400/s"}} {
		rc := newRecorder(t)
		out := filepath.Join(t.TempDir(), "out.json")
		script := writeStar(t, "def call(u):\n    u.http.get('/page')\nv = user(tasks=[call])\n")
		args := append([]string{"run", "-f", script, "--headless", "--host", rc.url, "-i", "257", "-t", "60s", "--json", out}, model...)
		r := runMain(t, args...)
		if r.code != ExitOK || r.took > 20*time.Second {
			t.Fatalf("%v: exit %d after %v: %s", model, r.code, r.took, r.stderr)
		}
		doc := readSummary(t, out)
		if n := len(rc.seen("/page")); n != 257 || doc.Stats.Total.Requests != 257 {
			t.Errorf("%v: the server saw %d requests, the summary %d; want 257", model, n, doc.Stats.Total.Requests)
		}
		if doc.Run.StopReason != "iterations finished" || doc.Run.Iterations != 257 {
			t.Errorf("%v: run %+v", model, doc.Run)
		}
	}
	// -t first: the run time ends a test whose iterations are not done.
	rc := newRecorder(t)
	script := writeStar(t, "def call(u):\n    u.http.get('/page')\nv = user(tasks=[call], wait_time=constant(0.1))\n")
	r := runMain(t, "run", "-f", script, "--headless", "--host", rc.url, "-u", "1", "-i", "1000", "-t", "1s")
	if r.code != ExitOK || r.took > 10*time.Second || len(rc.seen("/page")) > 15 {
		t.Errorf("exit %d after %v, %d requests", r.code, r.took, len(rc.seen("/page")))
	}
	if r := runMain(t, "run", "-f", script, "--headless", "--host", rc.url, "-i", "-1"); r.code != ExitConfig || !strings.Contains(r.stderr, `"-i, --iterations" flag: must be a whole number from 0`) {
		t.Errorf("exit %d: %s", r.code, r.stderr)
	}
}
