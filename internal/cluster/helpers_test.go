package cluster_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/cluster"
	"github.com/stampede-load/stampede/internal/output"
)

// binary is the stampede binary built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	// A fuzz run needs no binary either.
	if fuzz := flag.Lookup("test.fuzz"); cluster.RaceEnabled || fuzz != nil && fuzz.Value.String() != "" {
		return m.Run() // no binary: start skips the subprocess tests
	}
	dir, err := os.MkdirTemp("", "stampede-cluster-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "stampede")
	cmd := exec.Command("go", "build", "-o", binary, "../../cmd/stampede")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building stampede:", err)
		return 1
	}
	return m.Run()
}

// target is a counting HTTP server on loopback. Scripts send their user id
// in X-User; ids are offset by 1,000,000 per worker (join order), so the
// target can also count per worker.
type target struct {
	URL   string
	total atomic.Int64
	mu    sync.Mutex
	byW   map[int64][]time.Time // worker index -> arrival times
	srv   *http.Server
}

func newTarget(t *testing.T) *target {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tg := &target{URL: "http://" + ln.Addr().String(), byW: map[int64][]time.Time{}}
	tg.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.total.Add(1)
		if id, err := strconv.ParseInt(r.Header.Get("X-User"), 10, 64); err == nil {
			tg.mu.Lock()
			tg.byW[id/1_000_000] = append(tg.byW[id/1_000_000], time.Now())
			tg.mu.Unlock()
		}
		_, _ = io.WriteString(w, "ok")
	})}
	go func() { _ = tg.srv.Serve(ln) }()
	t.Cleanup(func() { _ = tg.srv.Close() })
	return tg
}

// workerCount is the number of requests the target saw from worker index
// i, and of those, how many arrived in [from, to].
func (tg *target) workerCount(i int64, from, to time.Time) (all, window int) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	for _, at := range tg.byW[i] {
		all++
		if !at.Before(from) && !at.After(to) {
			window++
		}
	}
	return all, window
}

const testScript = `
def hit(u):
    u.http.get("/hit", headers={"X-User": str(u.id)})

visitor = user(tasks=[hit], wait_time=constant(0.05))
`

func writeScript(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "test.star")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// proc is a started stampede process.
type proc struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
	err            error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the binary with args (and, when prefix is set, under that
// command, e.g. `ip netns exec NS`). The process is killed at cleanup and
// its output logged when the test failed.
func start(t *testing.T, name string, prefix []string, env []string, args ...string) *proc {
	t.Helper()
	if binary == "" {
		t.Skip("a subprocess test: no binary under -race (the in-process tests cover it) or -fuzz")
	}
	argv := append(append([]string{}, prefix...), binary)
	argv = append(argv, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	p := &proc{name: name, cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
		if t.Failed() {
			t.Logf("---- %s stdout ----\n%s\n---- %s stderr ----\n%s", name, p.stdout, name, lastLines(p.stderr.String(), 60))
		}
	})
	return p
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		t.Fatalf("%s did not exit within %s\nstderr:\n%s", p.name, d, lastLines(p.stderr.String(), 40))
	}
	if p.err == nil {
		return 0
	}
	if ee, ok := p.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	t.Fatalf("%s: %v", p.name, p.err)
	return -1
}

func (p *proc) signal(sig syscall.Signal) { _ = p.cmd.Process.Signal(sig) }

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}

func readDoc(t *testing.T, path string) *output.Document {
	t.Helper()
	d, err := output.ReadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// masterArgs are the common flags of a headless master on loopback.
func masterArgs(script string, port int, tg *target, out string, extra ...string) []string {
	args := []string{"master", "-f", script, "--headless", "--host", tg.URL,
		"--master-bind-host", "127.0.0.1", "--master-bind-port", strconv.Itoa(port),
		"--json", out + ".json", "--csv", out, "--loglevel", "debug"}
	return append(args, extra...)
}

func workerArgs(port int, region, name string, extra ...string) []string {
	args := []string{"worker", "--master-host", "127.0.0.1", "--master-port", strconv.Itoa(port),
		"--region", region, "--name", name, "--loglevel", "debug"}
	return append(args, extra...)
}

// tcpProxy forwards connections to an upstream address; Cut drops every
// connection and refuses new ones until Restore.
type tcpProxy struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	conns    map[net.Conn]bool
	cut      bool
}

func newTCPProxy(t *testing.T, upstream string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, upstream: upstream, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.Cut() })
	return p
}

func (p *tcpProxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *tcpProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.mu.Unlock()
		go p.handle(c)
	}
}

func (p *tcpProxy) handle(c net.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	u, err := (&net.Dialer{}).DialContext(ctx, "tcp", p.upstream)
	cancel()
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		c.Close()
		u.Close()
		return
	}
	p.conns[c], p.conns[u] = true, true
	p.mu.Unlock()
	go func() { _, _ = io.Copy(u, c); u.Close(); c.Close() }()
	_, _ = io.Copy(c, u)
	c.Close()
	u.Close()
}

// Cut closes every connection and refuses new ones.
func (p *tcpProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// Restore accepts connections again.
func (p *tcpProxy) Restore() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}
