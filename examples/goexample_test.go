// Package examples_test runs the examples: the Go program of examples/go
// (its own module) is built and run against a loopback target, alone and
// as a master with a worker.
package examples_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// build builds a main package (dir, in its own module when it has one)
// into the test's temporary folder.
func build(t *testing.T, dir, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = dir
	// the example's go.mod replaces stampede with this checkout; no
	// workspace or flags of the caller's may change that
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", dir, err, out)
	}
	return bin
}

// shop is a loopback server with the demo shop's API as the example uses
// it: it counts every request, and leaves odd products out of the cart
// (which the example must record as failures).
type shop struct {
	*httptest.Server
	mu          sync.Mutex
	count       map[string]int
	unconfirmed int // cart answers without the product
}

func newShop(t *testing.T) *shop {
	s := &shop{count: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Method + " " + r.URL.Path
		if strings.HasPrefix(r.URL.Path, "/api/products/") {
			key = r.Method + " /api/products/[id]"
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.count[key]++
		switch key {
		case "POST /api/login":
			var login struct{ Username, Password string }
			if json.NewDecoder(r.Body).Decode(&login) != nil || login.Password != "secret" || !strings.HasPrefix(login.Username, "user") {
				http.Error(w, `{"error":"invalid username or password"}`, http.StatusUnauthorized)
				return
			}
			fmt.Fprintf(w, `{"token":"tok-%s","username":%q}`, login.Username, login.Username)
		case "POST /api/cart":
			var add struct {
				ProductID int `json:"product_id"`
				Quantity  int
			}
			if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer tok-user") {
				http.Error(w, `{"error":"login required"}`, http.StatusUnauthorized)
				return
			}
			if json.NewDecoder(r.Body).Decode(&add) != nil || add.ProductID < 1 || add.Quantity != 1 {
				http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
				return
			}
			if add.ProductID%2 == 1 {
				s.unconfirmed++
				fmt.Fprint(w, `{"items":[]}`)
				return
			}
			fmt.Fprintf(w, `{"items":[{"product_id":%d,"quantity":1}]}`, add.ProductID)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *shop) counts() (map[string]int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.count {
		out[k] = v
	}
	return out, s.unconfirmed
}

// entries reads the --json summary's rows as "METHOD name" -> (requests,
// failures).
func entries(t *testing.T, file string) (map[string][2]int, int) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Stats struct {
			Entries []struct {
				Method   string `json:"method"`
				Name     string `json:"name"`
				Requests int    `json:"num_requests"`
				Failures int    `json:"num_failures"`
			} `json:"entries"`
		} `json:"stats"`
		Run struct {
			WorkerCount int `json:"worker_count"`
		} `json:"run"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string][2]int{}
	for _, e := range doc.Stats.Entries {
		out[e.Method+" "+e.Name] = [2]int{e.Requests, e.Failures}
	}
	return out, doc.Run.WorkerCount
}

// checkAgree: the statistics count every request the target got, under
// the example's names, and exactly the cart answers without the product
// as failures (the example's own verdict on a 200).
func checkAgree(t *testing.T, got map[string][2]int, s *shop) {
	t.Helper()
	target, unconfirmed := s.counts()
	for _, k := range []string{"POST /api/login", "GET /api/products/[id]", "POST /api/cart"} {
		if target[k] == 0 {
			t.Errorf("the target got no %s: %v", k, target)
		}
	}
	if target["POST /api/logout"] != target["POST /api/login"] {
		t.Errorf("%d users logged in, %d logged out", target["POST /api/login"], target["POST /api/logout"])
	}
	if len(got) != len(target) {
		t.Errorf("statistics %v, target %v", got, target)
	}
	for k, n := range target {
		if got[k][0] != n {
			t.Errorf("%s: statistics count %d requests, the target got %d", k, got[k][0], n)
		}
	}
	want := map[string]int{"POST /api/login": 0, "POST /api/logout": 0, "GET /api/products/[id]": 0, "POST /api/cart": unconfirmed}
	for k, n := range want {
		if got[k][1] != n {
			t.Errorf("%s: %d failures, want %d", k, got[k][1], n)
		}
	}
}

func TestGoExampleHeadless(t *testing.T) {
	bin := build(t, "go", "shop")
	target := newShop(t)
	out := filepath.Join(t.TempDir(), "run.json")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "--headless", "-u", "20", "-r", "200", "-i", "80", "-t", "30s",
		"--host", target.URL, "--json", out, "--exit-code-on-error", "0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	got, _ := entries(t, out)
	checkAgree(t, got, target)

	// The program's help names it, its Go classes, and -f as optional.
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"shop [command]", "Go user classes it was built with (Shopper)"}},
		{[]string{"run", "--help"}, []string{"shop run [-f SCRIPT] [flags] [CLASS...]"}},
		{[]string{"master", "--help"}, []string{"shop master [-f SCRIPT] [flags] [CLASS...]"}},
		{[]string{"check", "--help"}, []string{"shop check [-f SCRIPT]"}},
	} {
		b, err := exec.CommandContext(ctx, bin, tc.args...).CombinedOutput()
		for _, w := range tc.want {
			if err != nil || !strings.Contains(string(b), w) {
				t.Errorf("shop %v: %v, want %q in:\n%s", tc.args, err, w, b)
			}
		}
	}
}

// proc is a started process, killed at cleanup.
type proc struct {
	cmd    *exec.Cmd
	output bytes.Buffer
	mu     sync.Mutex
	done   chan struct{}
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.output.Write(b)
}

func (p *proc) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.output.String()
}

func start(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p, p
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
		if t.Failed() {
			t.Logf("---- %s ----\n%s", strings.Join(args, " "), p)
		}
	})
	return p
}

// exit waits for the process and returns its exit code.
func (p *proc) exit(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		t.Fatalf("%s did not exit within %s", p.cmd.Args, d)
		return -1
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func master(t *testing.T, bin, port, host, out string, extra ...string) *proc {
	return start(t, bin, append([]string{"master", "--headless", "--master-bind-host", "127.0.0.1", "--master-bind-port", port,
		"--host", host, "--json", out, "--exit-code-on-error", "0"}, extra...)...)
}

func worker(t *testing.T, bin, port, name string) *proc {
	return start(t, bin, "worker", "--master-host", "127.0.0.1", "--master-port", port, "--name", name)
}

// The example as a master with a worker of the same program, with a
// script's class beside its Go class: the master ships the script, the
// worker runs both classes.
func TestGoExampleMasterAndWorker(t *testing.T) {
	bin := build(t, "go", "shop")
	target := newShop(t)
	dir := t.TempDir()
	out, star := filepath.Join(dir, "master.json"), filepath.Join(dir, "health.star")
	src := "def health(u):\n    u.http.get(\"/api/health\")\nHealth = user(tasks=[health], wait_time=constant(1))\n"
	if err := os.WriteFile(star, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	m := master(t, bin, port, target.URL, out, "-f", star, "--expect-workers", "1", "-u", "20", "-r", "200", "-i", "120", "-t", "30s")
	w := worker(t, bin, port, "w-go")
	if code := m.exit(t, time.Minute); code != 0 {
		t.Fatalf("master exit code %d", code)
	}
	got, workers := entries(t, out)
	if workers != 1 {
		t.Fatalf("%d workers took part, want 1", workers)
	}
	checkAgree(t, got, target)
	if got["GET /api/health"][0] == 0 {
		t.Fatalf("the script's class made no request: %v", got)
	}
	t.Logf("statistics: %v", got)
	_ = syscall.Kill(w.cmd.Process.Pid, syscall.SIGTERM)
	w.exit(t, 30*time.Second)
}

// A worker built with other Go user classes (here: none, the plain
// stampede binary) is refused, and both sides say why.
func TestGoExampleRefusesAnotherProgramsWorker(t *testing.T) {
	shopBin := build(t, "go", "shop")
	plainBin := build(t, filepath.Join("..", "cmd", "stampede"), "stampede")
	port := freePort(t)
	m := master(t, shopBin, port, "http://127.0.0.1:1", filepath.Join(t.TempDir(), "m.json"),
		"--expect-workers", "1", "--expect-workers-max-wait", "20s", "-u", "1", "-t", "1s")
	w := worker(t, plainBin, port, "w-plain")
	if code := w.exit(t, 30*time.Second); code != 2 {
		t.Fatalf("refused worker exit code %d, want 2", code)
	}
	want := fmt.Sprintf("Go user classes mismatch: worker %s carries no Go user classes, the master carries Go user classes Shopper (sha256 ", "w-plain")
	if !strings.Contains(w.String(), want) || !strings.Contains(w.String(), "build the workers from the same Go program as the master") {
		t.Fatalf("worker output does not say %q:\n%s", want, w)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(m.String(), "Go user classes mismatch") {
		if time.Now().After(deadline) {
			t.Fatalf("the master did not log the refusal:\n%s", m)
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGTERM)
}
