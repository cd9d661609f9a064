package cli

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// okFailTarget is a loopback server that counts what it receives: "/"
// answers 200, "/fail" 500.
type okFailTarget struct {
	url       string
	ok, fails atomic.Int64
}

func newOkFailTarget(t *testing.T) *okFailTarget {
	t.Helper()
	ct := &okFailTarget{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			ct.fails.Add(1)
			http.Error(w, "no", http.StatusInternalServerError)
			return
		}
		ct.ok.Add(1)
		fmt.Fprintln(w, "ok")
	}))
	t.Cleanup(srv.Close)
	ct.url = srv.URL
	return ct
}

// readDoc reads the --json summary's run section and totals.
func readDoc(t *testing.T, path string) (run map[string]any, requests, failures float64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the JSON summary was not written: %v", err)
	}
	var doc struct {
		Run   map[string]any `json:"run"`
		Stats struct {
			Total struct {
				Requests float64 `json:"num_requests"`
				Failures float64 `json:"num_failures"`
			} `json:"total"`
		} `json:"stats"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Run, doc.Stats.Total.Requests, doc.Stats.Total.Failures
}

// --exit-code-on-error defaults to 1, as in Locust, counts task exceptions
// as errors, and a run in which no request succeeded never exits 0.
func TestExitCodeOnErrorAndNoSuccess(t *testing.T) {
	const (
		someFail   = "def ok(u):\n    u.http.get('/')\ndef bad(u):\n    u.http.get('/fail')\nv = user(tasks=[ok, bad], wait_time=constant(0.05))\n"
		someRaise  = "def t(u):\n    u.http.get('/')\n    fail('boom')\nv = user(tasks=[t], wait_time=constant(0.05))\n"
		allRaise   = "def t(u):\n    x = {}['nope']\n    u.http.get('/')\nv = user(tasks=[t], wait_time=constant(0.05))\n"
		allFail    = "def t(u):\n    u.http.get('/fail')\nv = user(tasks=[t], wait_time=constant(0.05))\n"
		allSucceed = "def t(u):\n    u.http.get('/')\nv = user(tasks=[t], wait_time=constant(0.05))\n"
	)
	tests := []struct {
		name    string
		src     string
		flags   []string
		code    int
		wantErr string
		// sent: whether the server must have received requests.
		sent bool
	}{
		{"all succeed", allSucceed, nil, ExitOK, "", true},
		{"failed requests, default", someFail, nil, 1, "requests failed (--exit-code-on-error 1)", true},
		{"failed requests, 0", someFail, []string{"--exit-code-on-error", "0"}, ExitOK, "", true},
		{"failed requests, 7", someFail, []string{"--exit-code-on-error", "7"}, 7, "requests failed (--exit-code-on-error 7)", true},
		{"task exceptions, default", someRaise, nil, 1, "tasks raised", true},
		{"task exceptions, 0", someRaise, []string{"--exit-code-on-error", "0"}, ExitOK, "", true},
		{"every task raises", allRaise, []string{"--exit-code-on-error", "0"}, ExitFailed,
			`no request was sent: every task raised a script error (`, false},
		{"every task raises, default", allRaise, nil, ExitFailed, `the most frequent: key "nope" not in dict`, false},
		{"every request fails, 0", allFail, []string{"--exit-code-on-error", "0"}, ExitFailed, "no request succeeded: all ", true},
		{"no users", allSucceed, []string{"-u", "0"}, ExitFailed, "no request was sent: check the user count (-u)", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := newOkFailTarget(t)
			js := filepath.Join(t.TempDir(), "out.json")
			args := append([]string{"run", "-f", writeStar(t, tc.src), "--headless", "-u", "2", "-r", "20", "-t", "1s", "--host", tg.url, "--json", js}, tc.flags...)
			r := runMain(t, args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.wantErr) {
				t.Fatalf("exit %d, want %d with %q\nstderr:\n%s", r.code, tc.code, tc.wantErr, r.stderr)
			}
			got := tg.ok.Load() + tg.fails.Load()
			if sent := got > 0; sent != tc.sent {
				t.Errorf("the server received %d requests; want some: %v", got, tc.sent)
			}
			_, requests, _ := readDoc(t, js)
			if int64(requests) != got {
				t.Errorf("JSON counts %v requests, the server %d", requests, got)
			}
		})
	}
}

func TestShapeErrorsExit2(t *testing.T) {
	const cls = "def t(u):\n    u.http.get('/')\nv = user(tasks=[t], wait_time=constant(0.05))\n"
	tests := []struct {
		name, shape, want string
		midRun            bool
	}{
		{"raises at its first call", "def shape(t):\n    return {}['users']\n", `test.star:5:14: key "users" not in dict`, false},
		{"garbage at its first call", "def shape(t):\n    return 'ten'\n", `test.star:4:1: shape returned "ten": want None, (users, spawn_rate)`, false},
		{"None at its first call", "def shape(t):\n    return None\n", "it returned None at t=0", false},
		{"raises mid-run", "def shape(t):\n    if t > 1:\n        fail('stage table ran out')\n    return (2, 20)\n",
			"the test was stopped by a script error: shape error: shape: test.star:6:13: fail: stage table ran out", true},
		{"garbage mid-run", "def shape(t):\n    if t > 1:\n        return (-1, 20)\n    return (2, 20)\n",
			"shape error: test.star:4:1: shape returned (-1, 20): users must be a whole number >= 0, got -1", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := newOkFailTarget(t)
			script := writeStar(t, cls+tc.shape)
			js := filepath.Join(t.TempDir(), "out.json")
			r := runMain(t, "run", "-f", script, "--headless", "-t", "10s", "--host", tg.url, "--json", js)
			if r.code != ExitConfig || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, want 2 with %q\nstderr:\n%s", r.code, tc.want, r.stderr)
			}
			if r.took > 8*time.Second {
				t.Errorf("took %s: the shape error must stop the test", r.took)
			}
			if !tc.midRun {
				if n := tg.ok.Load(); n != 0 {
					t.Errorf("the server received %d requests: a shape that fails at t=0 must fail before any load", n)
				}
				c := runMain(t, "check", "-f", script)
				if c.code != ExitConfig || !strings.Contains(c.stderr, tc.want) {
					t.Errorf("check: exit %d, stderr %s", c.code, c.stderr)
				}
				return
			}
			run, requests, _ := readDoc(t, js)
			if int64(requests) != tg.ok.Load() || requests == 0 {
				t.Errorf("JSON counts %v requests, the server %d", requests, tg.ok.Load())
			}
			if reason, _ := run["stop_reason"].(string); !strings.HasPrefix(reason, "shape error: ") {
				t.Errorf("stop_reason %q", reason)
			}
		})
	}
}

// stampede check finds, with file:line, what would otherwise fail only
// when a task runs.
func TestCheckFindsScriptErrors(t *testing.T) {
	const cls = "v = user(tasks=[t])\n"
	tests := []struct {
		name, src, want string
	}{
		{"http keyword", "def t(u):\n    u.http.post('/x', jsno={})\n" + cls, `test.star:2:23: u.http.post: unexpected keyword argument "jsno" (accepted: path, params, data, json, headers,`},
		{"time.sleep", "def t(u):\n    u.http.get('/')\n    time.sleep(0.5)\n" + cls, "test.star:3:15: scripts have no time.sleep: use u.sleep(seconds)"},
		{"setup arity", "def t(u):\n    pass\ndef setup():\n    return {}\n" + cls, "test.star:3:1: setup must be a function setup(ctx), it takes 0 parameters"},
		{"teardown arity", "def t(u):\n    pass\ndef teardown(ctx):\n    pass\n" + cls, "test.star:3:1: teardown must be a function teardown(ctx, data), it takes 1 parameters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			script := writeStar(t, tc.src)
			for _, args := range [][]string{{"check", "-f", script}, {"run", "-f", script, "--headless", "-t", "1s", "--host", "http://127.0.0.1:9"}} {
				r := runMain(t, args...)
				if r.code != ExitConfig || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
					t.Errorf("%s: exit %d\nstdout:\n%s\nstderr:\n%s\nwant %q", args[0], r.code, r.stdout, r.stderr, tc.want)
				}
			}
		})
	}
	py := filepath.Join(t.TempDir(), "locustfile.py")
	if err := os.WriteFile(py, []byte("from locust import HttpUser\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runMain(t, "run", "-f", py, "--headless", "--host", "http://127.0.0.1:9")
	want := "this looks like a Python locustfile: Stampede scripts are Starlark (.star); see docs/scripting.md#coming-from-locust"
	if r.code != ExitConfig || !strings.Contains(r.stderr, want) {
		t.Errorf(".py: exit %d, stderr %s", r.code, r.stderr)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// A run that sent nothing exits non-zero on a master and with the web UI
// too.
func TestNoSuccessExitsNonZeroInEveryMode(t *testing.T) {
	const allRaise = "def t(u):\n    fail('broken task')\n    u.http.get('/')\nv = user(tasks=[t], wait_time=constant(0.05))\n"
	const want = "no request was sent: every task raised a script error"
	t.Run("master", func(t *testing.T) {
		tg := newOkFailTarget(t)
		port := freePort(t)
		done := make(chan result, 1)
		go func() {
			done <- runMain(t, "master", "-f", writeStar(t, allRaise), "--headless", "-u", "2", "-r", "20", "-t", "2s", "--host", tg.url,
				"--master-bind-host", "127.0.0.1", "--master-bind-port", port, "--expect-workers", "1", "--expect-workers-max-wait", "20s", "--exit-code-on-error", "0")
		}()
		wdone := make(chan result, 1)
		go func() { wdone <- runMain(t, "worker", "--master-host", "127.0.0.1", "--master-port", port) }()
		r := <-done
		if r.code != ExitFailed || !strings.Contains(r.stderr, want) {
			t.Errorf("master: exit %d\nstderr:\n%s", r.code, r.stderr)
		}
		select {
		case <-wdone:
		case <-time.After(20 * time.Second):
			t.Error("the worker did not exit with the master")
		}
		if n := tg.ok.Load(); n != 0 {
			t.Errorf("the server received %d requests", n)
		}
	})
	t.Run("web UI", func(t *testing.T) {
		tg := newOkFailTarget(t)
		r := runMain(t, "run", "-f", writeStar(t, allRaise), "-u", "2", "-r", "20", "-t", "1s", "--host", tg.url,
			"--web-host", "127.0.0.1", "--web-port", freePort(t), "--autostart", "--autoquit", "0")
		if r.code != ExitFailed || !strings.Contains(r.stderr, want) {
			t.Errorf("web UI: exit %d\nstderr:\n%s", r.code, r.stderr)
		}
	})
}
