package load_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stampede-load/stampede/load"
)

// summary is the part of the --json summary the tests read.
type summary struct {
	Run struct {
		StopReason string `json:"stop_reason"`
	} `json:"run"`
	Stats struct {
		Entries []struct {
			Method   string `json:"method"`
			Name     string `json:"name"`
			Requests int64  `json:"num_requests"`
			Failures int64  `json:"num_failures"`
		} `json:"entries"`
		Total struct {
			Requests int64 `json:"num_requests"`
		} `json:"total"`
		Failures []struct {
			Method, Name, Error string
			Occurrences         int64
		} `json:"failures"`
		Exceptions []struct {
			Count int64  `json:"count"`
			Msg   string `json:"msg"`
		} `json:"exceptions"`
	} `json:"stats"`
}

// rows is the summary's entries and failures as comparable lines.
func (s summary) rows() []string {
	var out []string
	for _, e := range s.Stats.Entries {
		out = append(out, fmt.Sprintf("%s %s: %d requests, %d failures", e.Method, e.Name, e.Requests, e.Failures))
	}
	for _, f := range s.Stats.Failures {
		out = append(out, fmt.Sprintf("failure %s %s: %s ×%d", f.Method, f.Name, f.Error, f.Occurrences))
	}
	slices.Sort(out)
	return out
}

// target is a loopback server that counts the requests per path.
type target struct {
	*httptest.Server
	mu    sync.Mutex
	paths map[string]int
}

func newTarget(t *testing.T) *target {
	tg := &target{paths: map[string]int{}}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.mu.Lock()
		tg.paths[r.Method+" "+r.URL.RequestURI()]++
		tg.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/missing") {
			w.WriteHeader(http.StatusNotFound)
		}
		if r.Header.Get("Content-Type") == "application/json" {
			var v map[string]any
			if json.NewDecoder(r.Body).Decode(&v) != nil || v["item"] != 42.0 {
				w.WriteHeader(http.StatusBadRequest)
			}
		}
	}))
	t.Cleanup(tg.Close)
	return tg
}

func (tg *target) count(key string) int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.paths[key]
}

func (tg *target) total() int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	n := 0
	for _, c := range tg.paths {
		n += c
	}
	return n
}

// run runs the command line with classes and returns its exit code, the
// JSON summary and stderr.
func run(t *testing.T, args []string, classes ...load.UserClass) (int, summary, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "summary.json")
	var stdout, stderr bytes.Buffer
	code := load.Run(append(args, "--json", file, "--seed", "7"), &stdout, &stderr, classes...)
	var s summary
	if b, err := os.ReadFile(file); err == nil {
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatalf("summary: %v", err)
		}
	}
	return code, s, stderr.String()
}

// verdicts does in Go what verdicts.star does in Starlark.
func verdicts(_ struct{}, u *load.User) error {
	u.Get("/items?id=1", load.Name("/items?id=[id]"))
	u.Get("/missing")
	if r := u.Get("/ok"); r.StatusCode() == 200 {
		r.Failure("not what we wanted")
	}
	if r := u.Get("/missing/allowed"); r.StatusCode() == 404 {
		r.Success()
	}
	u.Post("/cart", nil, load.JSON(map[string]int{"item": 42}))
	r := u.Get("/renamed")
	return r.Rename("/other name")
}

const verdictsStar = `
def verdicts(u):
    u.http.get("/items?id=1", name="/items?id=[id]")
    u.http.get("/missing")
    r = u.http.get("/ok")
    if r.status_code == 200:
        r.failure("not what we wanted")
    r = u.http.get("/missing/allowed")
    if r.status_code == 404:
        r.success()
    u.http.post("/cart", json={"item": 42})
    r = u.http.get("/renamed")
    r.rename("/other name")

Star = user(tasks=[verdicts])
`

// A Go user's requests get the same statistics names, counts and
// verdicts as the same requests in a script, and the target got every
// request counted.
func TestSameStatisticsAsTheScriptAPI(t *testing.T) {
	tg := newTarget(t)
	goClass := load.Class[struct{}]{Name: "Go", Tasks: []load.Task[struct{}]{{Name: "verdicts", Fn: verdicts}}}
	args := []string{"run", "--headless", "-u", "2", "-r", "100", "-i", "6", "--host", tg.URL, "--exit-code-on-error", "0"}
	code, fromGo, stderr := run(t, args, goClass)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := tg.total(); int64(got) != fromGo.Stats.Total.Requests || got != 6*6 {
		t.Fatalf("target got %d requests, statistics count %d, want %d", got, fromGo.Stats.Total.Requests, 36)
	}
	if tg.count("POST /cart") != 6 || tg.count("GET /items?id=1") != 6 {
		t.Fatalf("target saw %v", tg.paths)
	}

	star := filepath.Join(t.TempDir(), "verdicts.star")
	if err := os.WriteFile(star, []byte(verdictsStar), 0o644); err != nil {
		t.Fatal(err)
	}
	code, fromStar, stderr := run(t, append(args, "-f", star))
	if code != 0 {
		t.Fatalf("script: exit %d: %s", code, stderr)
	}
	// with -f the Go class runs too: both classes' users share -i
	if fromStar.Stats.Total.Requests != 36 {
		t.Fatalf("script and Go classes together made %d requests, want 36", fromStar.Stats.Total.Requests)
	}
	code, starOnly, stderr := run(t, append(args, "-f", star, "Star"), goClass)
	if code != 0 {
		t.Fatalf("script class alone: exit %d: %s", code, stderr)
	}
	if g, s := fromGo.rows(), starOnly.rows(); !slices.Equal(g, s) {
		t.Fatalf("Go user's statistics:\n%s\nscript's:\n%s", strings.Join(g, "\n"), strings.Join(s, "\n"))
	}
	for _, want := range []string{"GET /items?id=[id]: 6 requests, 0 failures", "GET /ok: 6 requests, 6 failures",
		"failure GET /ok: not what we wanted ×6", "failure GET /missing: HTTP 404 Not Found ×6",
		"GET /missing/allowed: 6 requests, 0 failures", "POST /cart: 6 requests, 0 failures", "GET /other name: 6 requests, 0 failures"} {
		if !slices.Contains(fromGo.rows(), want) {
			t.Errorf("no row %q in\n%s", want, strings.Join(fromGo.rows(), "\n"))
		}
	}
}

// session is the state of one user of the hooks test.
type session struct{ token string }

func TestHooksErrorsAndTags(t *testing.T) {
	tg := newTarget(t)
	c := load.Class[*session]{
		Name: "Hooks",
		New:  func() *session { return &session{} },
		Wait: load.Constant(0),
		OnStart: func(s *session, u *load.User) error {
			u.Post("/login", []byte("user="+fmt.Sprint(u.ID())))
			s.token = "t"
			return nil
		},
		OnStop: func(s *session, u *load.User) error {
			u.Post("/logout?token="+s.token, nil, load.Name("/logout"))
			return nil
		},
		Tasks: []load.Task[*session]{
			{Name: "fails", Tags: []string{"bad"}, Fn: func(*session, *load.User) error { return errors.New("the cart is empty") }},
			{Name: "panics", Tags: []string{"bad"}, Fn: func(*session, *load.User) error { panic("a bug in the test") }},
			{Name: "browse", Tags: []string{"good"}, Fn: func(_ *session, u *load.User) error { u.Get("/browse"); return nil }},
		},
	}
	code, s, stderr := run(t, []string{"run", "--headless", "-u", "2", "-r", "100", "-i", "10", "--host", tg.URL, "-T", "good"}, c)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// a user logs in once and out once (the second may not have started
	// before the iterations were spent)
	if in := tg.count("POST /login"); tg.count("GET /browse") != 10 || in < 1 || tg.count("POST /logout?token=t") != in {
		t.Fatalf("with -T good the target saw %v", tg.paths)
	}
	if int64(tg.total()) != s.Stats.Total.Requests || len(s.Stats.Exceptions) != 0 {
		t.Fatalf("target %d requests, statistics %d; exceptions %v", tg.total(), s.Stats.Total.Requests, s.Stats.Exceptions)
	}

	code, s, _ = run(t, []string{"run", "--headless", "-u", "1", "-r", "100", "-i", "20", "--host", tg.URL, "-E", "good"}, c)
	if code != 1 {
		t.Fatalf("exceptions must fail the run: exit %d", code)
	}
	var msgs []string
	for _, e := range s.Stats.Exceptions {
		msgs = append(msgs, e.Msg)
	}
	all := strings.Join(msgs, "\n")
	if !strings.Contains(all, "the cart is empty") || !strings.Contains(all, "a bug in the test") {
		t.Fatalf("exceptions %q", msgs)
	}
}

func TestStopAndStopTest(t *testing.T) {
	tg := newTarget(t)
	c := load.Class[*int]{
		Name: "Stopper",
		New:  func() *int { return new(int) },
		Tasks: []load.Task[*int]{{Name: "count", Fn: func(n *int, u *load.User) error {
			*n++
			u.Get("/count")
			if *n == 3 {
				return u.StopTest("three is enough")
			}
			return nil
		}}},
	}
	code, s, stderr := run(t, []string{"run", "--headless", "-u", "1", "-t", "30s", "--host", tg.URL}, c)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(s.Run.StopReason, "three is enough") || tg.count("GET /count") != 3 {
		t.Fatalf("stop reason %q, %d requests", s.Run.StopReason, tg.count("GET /count"))
	}
}

func TestBadClassesAreConfigErrors(t *testing.T) {
	task := []load.Task[int]{{Name: "t", Fn: func(int, *load.User) error { return nil }}}
	star := filepath.Join(t.TempDir(), "t.star")
	if err := os.WriteFile(star, []byte("def t(u):\n    pass\nSame = user(tasks=[t])\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		classes []load.UserClass
		want    string
	}{
		{"no name", nil, []load.UserClass{load.Class[int]{Tasks: task}}, "class name"},
		{"no tasks", nil, []load.UserClass{load.Class[int]{Name: "A"}}, "needs at least one task"},
		{"no task function", nil, []load.UserClass{load.Class[int]{Name: "A", Tasks: []load.Task[int]{{Name: "t"}}}}, "has no Fn"},
		{"bad wait", nil, []load.UserClass{load.Class[int]{Name: "A", Tasks: task, Wait: load.Between(2, 1)}}, "Wait"},
		{"bad throughput", nil, []load.UserClass{load.Class[int]{Name: "A", Tasks: task, Wait: load.ConstantThroughput(0)}}, "tasks per second"},
		{"two Go classes, one name", nil, []load.UserClass{load.Class[int]{Name: "A", Tasks: task}, load.Class[int]{Name: "A", Tasks: task}}, `two user classes are named "A"`},
		{"a Go and a script class, one name", []string{"-f", star}, []load.UserClass{load.Class[int]{Name: "Same", Tasks: task}}, `two user classes are named "Same"`},
		{"no classes, no script", nil, nil, "-f/--file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := run(t, append([]string{"run", "--headless", "-i", "1", "--host", "http://127.0.0.1:1"}, tc.args...), tc.classes...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.want)
			}
		})
	}
}

// With -f, the script's classes and the Go classes share the test: each
// class gets its share of the users, and each request is counted once.
func TestGoAndScriptClassesInOneTest(t *testing.T) {
	tg := newTarget(t)
	star := filepath.Join(t.TempDir(), "mixed.star")
	src := "def s(u):\n    u.http.get(\"/star\")\nStar = user(tasks=[s], wait_time=constant(0.02))\n"
	if err := os.WriteFile(star, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	goClass := load.Class[struct{}]{Name: "Go", Wait: load.Constant(20 * time.Millisecond),
		Tasks: []load.Task[struct{}]{{Name: "g", Fn: func(_ struct{}, u *load.User) error { u.Get("/go"); return nil }}}}
	code, s, stderr := run(t, []string{"run", "--headless", "-f", star, "-u", "2", "-r", "100", "-t", "1s", "--host", tg.URL}, goClass)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := map[string]int64{}
	for _, e := range s.Stats.Entries {
		got[e.Name] = e.Requests
	}
	if got["/go"] == 0 || got["/star"] == 0 || got["/go"] != int64(tg.count("GET /go")) || got["/star"] != int64(tg.count("GET /star")) {
		t.Fatalf("statistics %v, target %v", got, tg.paths)
	}
}

func TestRecordAndSleep(t *testing.T) {
	c := load.Class[struct{}]{Name: "Timer", Tasks: []load.Task[struct{}]{{Name: "work", Fn: func(_ struct{}, u *load.User) error {
		if i, n := u.Partition(); i != 0 || n != 1 {
			return fmt.Errorf("a local test's partition is %d of %d, want 0 of 1", i, n)
		}
		start := time.Now()
		if err := u.Sleep(2 * time.Millisecond); err != nil {
			return err
		}
		if err := u.Record("compute", "sleep", time.Since(start), 10, nil); err != nil {
			return err
		}
		return u.Record("compute", "broken", time.Millisecond, 0, errors.New("the queue was empty"))
	}}}}
	// no --host: a Go class that makes no request by path needs none
	code, s, stderr := run(t, []string{"run", "--headless", "-i", "5", "--exit-code-on-error", "0"}, c)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := []string{"compute broken: 5 requests, 5 failures", "compute sleep: 5 requests, 0 failures", "failure compute broken: the queue was empty ×5"}
	if got := s.rows(); !slices.Equal(got, want) || len(s.Stats.Exceptions) != 0 {
		t.Fatalf("rows %q, exceptions %v; want %q", got, s.Stats.Exceptions, want)
	}
}

// A request by path without a host is not sent: it is an exception that
// says what to do, and the response says why.
func TestRequestWithoutHost(t *testing.T) {
	var errs []string
	var mu sync.Mutex
	c := load.Class[struct{}]{Name: "NoHost", Tasks: []load.Task[struct{}]{{Name: "get", Fn: func(_ struct{}, u *load.User) error {
		r := u.Get("/x")
		mu.Lock()
		errs = append(errs, fmt.Sprint(r.Err(), r.StatusCode()))
		mu.Unlock()
		return nil
	}}}}
	code, s, _ := run(t, []string{"run", "--headless", "-i", "2"}, c)
	if code != 1 || s.Stats.Total.Requests != 0 || len(s.Stats.Exceptions) != 1 || s.Stats.Exceptions[0].Count != 2 ||
		!strings.Contains(s.Stats.Exceptions[0].Msg, "GET /x: no host: pass --host") {
		t.Fatalf("exit %d, %d requests, exceptions %+v", code, s.Stats.Total.Requests, s.Stats.Exceptions)
	}
	if len(errs) != 2 || !strings.HasPrefix(errs[0], "GET /x: no host") || !strings.HasSuffix(errs[0], " 0") {
		t.Fatalf("responses: %q", errs)
	}
}

// The program's help names its Go classes where it says -f is optional.
func TestHelpNamesTheGoClasses(t *testing.T) {
	task := []load.Task[int]{{Name: "t", Fn: func(int, *load.User) error { return nil }}}
	var out bytes.Buffer
	if code := load.Run([]string{"run", "--help"}, &out, &out, load.Class[int]{Name: "A", Tasks: task}, load.Class[int]{Name: "B", Tasks: task}); code != 0 {
		t.Fatalf("exit %d: %s", code, &out)
	}
	if !strings.Contains(out.String(), "optional here: this program's Go user classes (A, B) run beside the script's") {
		t.Fatalf("help:\n%s", &out)
	}
}

// A script's setup runs once per test and its result reaches Go users.
func TestSetupDataFromTheScript(t *testing.T) {
	tg := newTarget(t)
	star := filepath.Join(t.TempDir(), "setup.star")
	src := "def setup(ctx):\n    ctx.http.post(\"/setup\")\n    return {\"token\": \"t-42\", \"items\": [1, 2]}\n"
	if err := os.WriteFile(star, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var noSetup error
	c := load.Class[struct{}]{Name: "Go", Tasks: []load.Task[struct{}]{{Name: "use", Fn: func(_ struct{}, u *load.User) error {
		var data struct {
			Token string
			Items []int
		}
		if err := u.SetupData(&data); err != nil {
			noSetup = err
			return err
		}
		u.Get("/use?token=" + data.Token + "&n=" + fmt.Sprint(len(data.Items)))
		return nil
	}}}}
	code, s, stderr := run(t, []string{"run", "--headless", "-f", star, "-i", "3", "--host", tg.URL}, c)
	if code != 0 || tg.count("POST /setup") != 1 || tg.count("GET /use?token=t-42&n=2") != 3 || s.Stats.Total.Requests != 4 {
		t.Fatalf("exit %d, target %v, %d requests: %s", code, tg.paths, s.Stats.Total.Requests, stderr)
	}
	if code, _, _ := run(t, []string{"run", "--headless", "-i", "1", "--host", tg.URL}, c); code != 1 || noSetup == nil || !strings.Contains(noSetup.Error(), "no setup(ctx)") {
		t.Fatalf("without a setup: exit %d, error %v", code, noSetup)
	}
}
