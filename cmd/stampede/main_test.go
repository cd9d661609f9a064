package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// These tests run the real binary against real HTTP servers on loopback
// and check its numbers against what the servers counted.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stampede-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "stampede")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building stampede: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// countingServer counts every request it answers, by path.
type countingServer struct {
	srv   *http.Server
	url   string
	total atomic.Int64
	fail  atomic.Int64
	delay time.Duration
}

func newCountingServer(t *testing.T, delay time.Duration) *countingServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingServer{url: "http://" + ln.Addr().String(), delay: delay}
	cs.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cs.delay > 0 {
			time.Sleep(cs.delay)
		}
		cs.total.Add(1)
		if strings.HasPrefix(r.URL.Path, "/fail") {
			cs.fail.Add(1)
			http.Error(w, "nope", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})}
	go cs.srv.Serve(ln)
	t.Cleanup(func() { cs.srv.Close() })
	return cs
}

func writeScript(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "test.star")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// aggregated returns the Aggregated row's request and failure counts.
func aggregated(t *testing.T, rows [][]string) (int64, int64) {
	t.Helper()
	last := rows[len(rows)-1]
	if last[0] != "" || last[1] != "Aggregated" {
		t.Fatalf("last row is not Aggregated: %q", last)
	}
	n, _ := strconv.ParseInt(last[2], 10, 64)
	f, _ := strconv.ParseInt(last[3], 10, 64)
	return n, f
}

const statsHeader = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
const historyHeader = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size"

// The acceptance run of the core engine: the minimal example, four CSV
// files with Locust's headers, and an Aggregated count equal to what the
// server served.
func TestMinimalExampleCountsExactly(t *testing.T) {
	srv := newCountingServer(t, 0)
	out := filepath.Join(t.TempDir(), "out", "run")
	res := run(t, nil, "run", "-f", "../../examples/minimal.star", "--headless", "-u", "20", "-r", "20", "-t", "5s",
		"--host", srv.url, "--csv", out, "--json", out+".json")
	if res.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	headers := map[string]string{
		"_stats.csv":         statsHeader,
		"_stats_history.csv": historyHeader,
		"_failures.csv":      "Method,Name,Error,Occurrences",
		"_exceptions.csv":    "Count,Message,Traceback,Nodes",
	}
	for suffix, want := range headers {
		rows := readCSV(t, out+suffix)
		if got := strings.Join(rows[0], ","); got != want {
			t.Errorf("%s header:\n got %s\nwant %s", suffix, got, want)
		}
	}
	n, _ := aggregated(t, readCSV(t, out+"_stats.csv"))
	if served := srv.total.Load(); n != served || n == 0 {
		t.Fatalf("Aggregated count %d, server served %d", n, served)
	}
	hist := readCSV(t, out+"_stats_history.csv")
	if len(hist) < 4 {
		t.Errorf("history has %d rows, want about one per second", len(hist))
	}
	var doc struct {
		Stats struct {
			Total struct {
				Requests int64 `json:"num_requests"`
			} `json:"total"`
		} `json:"stats"`
	}
	b, err := os.ReadFile(out + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Stats.Total.Requests != n {
		t.Errorf("JSON total %d, CSV %d", doc.Stats.Total.Requests, n)
	}
	if !strings.Contains(res.stdout, "Aggregated") {
		t.Errorf("no summary table on stdout:\n%s", res.stdout)
	}
}

// A signal stops the users, lets requests in flight complete, and still
// writes every output with exact counts.
func TestSignalStillWritesExactResults(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			srv := newCountingServer(t, 20*time.Millisecond) // requests are in flight when the signal lands
			script := writeScript(t, `
def hit(u):
    u.http.get("/a")
    u.http.get("/fail")
visitor = user(tasks=[hit], wait_time=constant(0))
`)
			out := filepath.Join(t.TempDir(), "run")
			cmd := exec.Command(binary, "run", "-f", script, "--headless", "-u", "30", "-r", "100", "-t", "1m",
				"--host", srv.url, "--csv", out, "--json", out+".json")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(20 * time.Second)
			for srv.total.Load() < 300 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("did not exit after %s\n%s", sig, stderr.String())
			}
			if code := cmd.ProcessState.ExitCode(); code != 3 {
				t.Errorf("exit code %d, want 3 (interrupted before the run time)\n%s", code, stderr.String())
			}
			n, f := aggregated(t, readCSV(t, out+"_stats.csv"))
			if served := srv.total.Load(); n != served {
				t.Fatalf("Aggregated count %d, server served %d", n, served)
			}
			if served := srv.fail.Load(); f != served {
				t.Fatalf("Aggregated failures %d, server failed %d", f, served)
			}
			if _, err := os.Stat(out + ".json"); err != nil {
				t.Errorf("JSON summary missing after %s: %v", sig, err)
			}
		})
	}
}

// A script that does not load names file:line:col, exits 2 and sends
// nothing.
func TestScriptErrorsExitBeforeLoad(t *testing.T) {
	srv := newCountingServer(t, 0)
	cases := []struct {
		name, src, want string
	}{
		{"syntax", "def t(u):\n    u.http.get(\"/\"\nv = user(tasks=[t])\n", "test.star:3:"},
		{"runtime", "x = 1\ny = x + \"a\"\n", "test.star:2:7: unknown binary op: int + string"},
		{"no classes", "def t(u):\n    pass\n", "no user classes"},
		{"bad wait", "def t(u):\n    pass\nv = user(tasks=[t], wait_time=between(2, 1))\n", "test.star:3:"},
		{"undefined", "v = user(tasks=[nothere])\n", "test.star:1:17: undefined: nothere"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			script := writeScript(t, c.src)
			res := run(t, nil, "run", "-f", script, "--headless", "-u", "5", "-t", "2s", "--host", srv.url)
			if res.code != 2 {
				t.Fatalf("exit %d, want 2\n%s", res.code, res.stderr)
			}
			if !strings.Contains(res.stderr, c.want) {
				t.Errorf("stderr does not mention %q:\n%s", c.want, res.stderr)
			}
			check := run(t, nil, "check", "-f", script)
			if check.code != 2 || !strings.Contains(check.stderr, c.want) {
				t.Errorf("check: exit %d, stderr:\n%s", check.code, check.stderr)
			}
		})
	}
	if n := srv.total.Load(); n != 0 {
		t.Fatalf("%d requests sent by scripts that did not load", n)
	}
}

func TestBadFlagsNameTheFlag(t *testing.T) {
	// The task mentions u.http: a script that makes no requests needs no host.
	script := writeScript(t, "def t(u):\n    u.http.get(\"/\")\nv = user(tasks=[t])\n")
	cases := []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"-u", "-1"}, nil, `"-u, --users" flag`},
		{[]string{"-r", "0"}, nil, `"-r, --spawn-rate" flag`},
		{[]string{"-t", "soon"}, nil, `"soon" is not a duration`},
		{[]string{"--host", "ftp://x"}, nil, "--host"},
		{nil, nil, "no host for user class v"},
		{[]string{"--host", "http://127.0.0.1:1"}, []string{"STAMPEDE_USERS=many"}, "STAMPEDE_USERS"},
		{[]string{"--var", "novalue"}, nil, "--var"},
	}
	for _, c := range cases {
		args := append([]string{"run", "-f", script, "--headless"}, c.args...)
		res := run(t, c.env, args...)
		if res.code != 2 || !strings.Contains(res.stderr, c.want) {
			t.Errorf("%v %v: exit %d, want 2 mentioning %q; stderr:\n%s", c.args, c.env, res.code, c.want, res.stderr)
		}
	}
}

// Flags win over the environment, which wins over the config file.
func TestConfigPrecedence(t *testing.T) {
	srv := newCountingServer(t, 0)
	dir := t.TempDir()
	script := writeScript(t, `
def t(u):
    u.http.get("/")
    u.stop()
v = user(tasks=[t])
`)
	cfg := filepath.Join(dir, "stampede.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("users = 7\nspawn-rate = 100\nrun-time = \"3s\"\nhost = %q\nheadless = true\n", srv.url)), 0o644)
	countUsers := func(res result) int64 {
		t.Helper()
		if res.code != 0 {
			t.Fatalf("exit %d: %s", res.code, res.stderr)
		}
		return srv.total.Swap(0)
	}
	if n := countUsers(run(t, nil, "run", "--config", cfg, "-f", script)); n != 7 {
		t.Errorf("config file: %d users made a request, want 7", n)
	}
	if n := countUsers(run(t, []string{"STAMPEDE_USERS=5"}, "run", "--config", cfg, "-f", script)); n != 5 {
		t.Errorf("env over file: %d users, want 5", n)
	}
	if n := countUsers(run(t, []string{"STAMPEDE_USERS=5"}, "run", "--config", cfg, "-f", script, "-u", "3")); n != 3 {
		t.Errorf("flag over env: %d users, want 3", n)
	}
	os.WriteFile(cfg, []byte("userz = 7\n"), 0o644)
	if res := run(t, nil, "run", "--config", cfg, "-f", script); res.code != 2 || !strings.Contains(res.stderr, `unknown key "userz"`) {
		t.Errorf("unknown config key: exit %d, %s", res.code, res.stderr)
	}
}

// --exit-code-on-error defaults to 1, as in Locust; a run in which no
// request succeeded exits 1 even with --exit-code-on-error 0.
func TestExitCodeOnError(t *testing.T) {
	srv := newCountingServer(t, 0)
	mixed := writeScript(t, `
def t(u):
    u.http.get("/")
    u.http.get("/fail")
    u.stop()
v = user(tasks=[t])
`)
	allFail := writeScript(t, `
def t(u):
    u.http.get("/fail")
    u.stop()
v = user(tasks=[t])
`)
	tests := []struct {
		script string
		flags  []string
		code   int
		want   string
	}{
		{mixed, nil, 1, "2 of 4 requests failed (--exit-code-on-error 1)"},
		{mixed, []string{"--exit-code-on-error", "0"}, 0, ""},
		{mixed, []string{"--exit-code-on-error", "3"}, 3, "2 of 4 requests failed (--exit-code-on-error 3)"},
		{allFail, []string{"--exit-code-on-error", "0"}, 1, "no request succeeded: all 2 requests failed"},
	}
	for _, tc := range tests {
		before := srv.total.Load()
		args := append([]string{"run", "-f", tc.script, "--headless", "-u", "2", "-r", "10", "-t", "2s", "--host", srv.url}, tc.flags...)
		res := run(t, nil, args...)
		if res.code != tc.code || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("%v: exit %d, want %d with %q\n%s", tc.flags, res.code, tc.code, tc.want, res.stderr)
		}
		if n := srv.total.Load() - before; n == 0 {
			t.Errorf("%v: the server received nothing", tc.flags)
		}
	}
}

// The README's first command: the demo target and the shop example.
// startDemo runs `stampede demo` on a free loopback port until the test
// ends and returns its address.
func startDemo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	demo := exec.Command(binary, "demo", "--addr", addr, "--seed", "1")
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { demo.Process.Signal(syscall.SIGTERM); demo.Wait() })
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return addr
}

func TestDemoAndShopExample(t *testing.T) {
	addr := startDemo(t)
	out := filepath.Join(t.TempDir(), "shop")
	// The demo fails 1% of checkouts on purpose (as scripts/demo.sh says).
	res := run(t, nil, "run", "-f", "../../examples/shop.star", "--headless", "-u", "10", "-r", "10", "-t", "4s",
		"--host", "http://"+addr, "--csv", out, "--exit-code-on-error", "0")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if rows := readCSV(t, out+"_exceptions.csv"); len(rows) > 1 {
		t.Errorf("the shop example raised script errors: %q", rows[1:])
	}
	n, _ := aggregated(t, readCSV(t, out+"_stats.csv"))
	if n < 20 {
		t.Errorf("only %d requests", n)
	}
	for _, name := range []string{"/api/login", "/api/products/{id}"} {
		if !strings.Contains(res.stdout, name) {
			t.Errorf("summary lacks %s:\n%s", name, res.stdout)
		}
	}
	check := run(t, nil, "check", "-f", "../../examples/shop.star")
	if check.code != 0 || !strings.Contains(check.stdout, "browser") || !strings.Contains(check.stdout, "buyer") {
		t.Errorf("check: exit %d\n%s%s", check.code, check.stdout, check.stderr)
	}

	// The task set example: a Markov chain of pages, a sequential
	// checkout, tags. The demo fails 1% of checkouts on purpose: not an
	// error of the example.
	taskset := func(name string, flags ...string) (map[string]int64, result) {
		out := filepath.Join(t.TempDir(), name)
		args := append([]string{"run", "-f", "../../examples/taskset.star", "--headless", "-u", "10", "-r", "20", "-t", "4s",
			"--host", "http://" + addr, "--csv", out, "--exit-code-on-error", "0"}, flags...)
		res := run(t, nil, args...)
		if res.code != 0 {
			t.Fatalf("taskset.star %v: exit %d\n%s\n%s", flags, res.code, res.stdout, res.stderr)
		}
		if rows := readCSV(t, out+"_exceptions.csv"); len(rows) > 1 {
			t.Errorf("taskset.star %v raised script errors: %q", flags, rows[1:])
		}
		counts := map[string]int64{}
		for _, r := range readCSV(t, out+"_stats.csv")[1:] {
			var n int64
			fmt.Sscan(r[2], &n)
			counts[r[0]+" "+r[1]] = n
		}
		return counts, res
	}
	got, _ := taskset("all")
	for _, name := range []string{"POST /api/login", "GET /api/products?page=[n]", "GET /api/products/{id}"} {
		if got[name] == 0 {
			t.Errorf("taskset.star: no %s in %v", name, got)
		}
	}
	got, _ = taskset("checkout", "-T", "checkout")
	if got["POST /api/checkout"] == 0 || got["GET /api/cart (after checkout)"] == 0 || got["GET /api/products?page=[n]"] != 0 {
		t.Errorf("taskset.star -T checkout: %v", got)
	}
	check = run(t, nil, "check", "-f", "../../examples/taskset.star", "-E", "checkout")
	for _, want := range []string{"catalogue (taskset)", "product (taskset)", "add_to_cart", "browse,cart", "reading_time(u)"} {
		if !strings.Contains(check.stdout, want) {
			t.Errorf("check taskset.star lacks %q:\n%s", want, check.stdout)
		}
	}
	if strings.Contains(check.stdout, "checkout (taskset") {
		t.Errorf("check -E checkout lists the checkout set:\n%s", check.stdout)
	}
}
