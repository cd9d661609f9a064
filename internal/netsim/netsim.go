// Package netsim simulates regions on one Linux machine for tests and for
// deploy/local: a network namespace per region, whose loopback carries
// listeners that forward to the root namespace's loopback through a delay
// line. A process run inside the namespace (ip netns exec) that dials
// 127.0.0.1:PORT reaches the same port in the root namespace, with the
// region's latency added. All traffic stays on loopback interfaces of this
// machine. The product code knows nothing of this package.
package netsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Available reports why namespaces cannot be made here (nil: they can).
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("network namespaces need root (tests run as root in CI)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("the ip command (Debian package iproute2) is not installed")
	}
	return nil
}

// Namespace is a network namespace made by this package.
type Namespace struct {
	Name string
}

// Prefix starts the name of every namespace this package makes; stale ones
// (their creating process gone) are removed by CleanStale.
const Prefix = "stx"

// NewNamespace creates a namespace named stx<pid>-<label> with its
// loopback up.
func NewNamespace(label string) (*Namespace, error) {
	name := fmt.Sprintf("%s%d-%s", Prefix, os.Getpid(), label)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add %s: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	ns := &Namespace{Name: name}
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		ns.Delete()
		return nil, fmt.Errorf("bringing up lo in %s: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	return ns, nil
}

// Delete removes the namespace.
func (ns *Namespace) Delete() error {
	out, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip netns del %s: %v: %s", ns.Name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Exec is the command prefix that runs a program inside the namespace.
func (ns *Namespace) Exec() []string { return []string{"ip", "netns", "exec", ns.Name} }

// CleanStale deletes namespaces left by processes of this package that
// died without cleaning up.
func CleanStale() {
	entries, err := os.ReadDir("/var/run/netns")
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), Prefix)
		if !ok {
			continue
		}
		pidStr, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(filepath.Join("/proc", pidStr)); err == nil {
			continue // its owner still runs
		}
		_ = exec.Command("ip", "netns", "del", e.Name()).Run()
	}
}

// Listen opens a TCP listener inside the namespace. The socket stays in
// the namespace it was created in; the thread that created it is thrown
// away so no other goroutine runs in the namespace.
func (ns *Namespace) Listen(addr string) (net.Listener, error) {
	type result struct {
		ln  net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the goroutine exits with the thread locked,
		// so the runtime ends the thread rather than reuse it.
		f, err := os.Open(filepath.Join("/var/run/netns", ns.Name))
		if err != nil {
			ch <- result{nil, err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{nil, fmt.Errorf("setns %s: %w", ns.Name, err)}
			return
		}
		ln, err := net.Listen("tcp", addr)
		ch <- result{ln, err}
	}()
	r := <-ch
	return r.ln, r.err
}

// DelayProxy accepts connections and forwards them to Upstream (dialled
// from the root namespace). Data from the upstream back to the client is
// held for Delay, so each request/response exchange takes Delay longer:
// the region's round-trip latency.
type DelayProxy struct {
	Upstream string
	Delay    time.Duration

	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// Serve forwards the listener's connections until Close.
func (p *DelayProxy) Serve(ln net.Listener) {
	p.mu.Lock()
	if p.ln == nil {
		p.ln = ln
	}
	if p.conns == nil {
		p.conns = map[net.Conn]bool{}
	}
	p.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(c)
		}()
	}
}

// Close stops the proxy and drops its connections.
func (p *DelayProxy) Close() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *DelayProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false
	}
	for _, c := range cs {
		p.conns[c] = true
	}
	return true
}

func (p *DelayProxy) handle(c net.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	u, err := (&net.Dialer{}).DialContext(ctx, "tcp", p.Upstream)
	cancel()
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c, u) {
		c.Close()
		u.Close()
		return
	}
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(u, c)
		if tc, ok := u.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		close(done)
	}()
	delayCopy(c, u, p.Delay)
	<-done
	c.Close()
	u.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, u)
	p.mu.Unlock()
}

type chunk struct {
	b  []byte
	at time.Time
}

// delayCopy copies src to dst, each chunk leaving Delay after it arrived
// (a delay line: chunks do not wait for each other's delays).
func delayCopy(dst net.Conn, src net.Conn, d time.Duration) {
	ch := make(chan chunk, 1024)
	go func() {
		defer close(ch)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				ch <- chunk{buf[:n], time.Now().Add(d)}
			}
			if err != nil {
				return
			}
		}
	}()
	failed := false
	for c := range ch {
		if failed {
			continue
		}
		sleepUntil(c.at)
		if _, err := dst.Write(c.b); err != nil {
			failed = true
			src.Close()
		}
	}
	if tc, ok := dst.(*net.TCPConn); ok && !failed {
		_ = tc.CloseWrite()
	}
}

// sleepUntil sleeps to shortly before t, then spins until t: timers
// alone overshoot by up to a millisecond, which is 10% of a 10 ms region.
// The spin does not yield (runtime.Gosched): spinners that keep the run
// queue full delay the network poller for every goroutine of the process.
func sleepUntil(t time.Time) {
	if d := time.Until(t) - 1500*time.Microsecond; d > 0 {
		time.Sleep(d)
	}
	for time.Now().Before(t) {
	}
}

// RaisePriority gives every thread of this process (and the threads it
// starts later, which inherit it) a nice value of -10, so the delay lines
// keep time on a busy machine. Errors are ignored: without the privilege
// the delays are only less exact.
func RaisePriority() {
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return
	}
	for _, e := range entries {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			_ = unix.Setpriority(unix.PRIO_PROCESS, tid, -10)
		}
	}
}

// Region is a namespace whose loopback forwards some root-namespace ports
// with a delay.
type Region struct {
	Name    string
	Delay   time.Duration
	NS      *Namespace
	proxies []*DelayProxy
}

// NewRegion makes the namespace and, for every port, a listener on the
// namespace's 127.0.0.1:port forwarding to the root's 127.0.0.1:port
// through a delay line.
func NewRegion(name string, delay time.Duration, ports ...int) (*Region, error) {
	ns, err := NewNamespace(name)
	if err != nil {
		return nil, err
	}
	r := &Region{Name: name, Delay: delay, NS: ns}
	for _, port := range ports {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		ln, err := ns.Listen(addr)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("region %s: listening on %s: %w", name, addr, err)
		}
		p := &DelayProxy{Upstream: addr, Delay: delay, ln: ln, conns: map[net.Conn]bool{}}
		r.proxies = append(r.proxies, p)
		go p.Serve(ln)
	}
	return r, nil
}

// Close stops the proxies and deletes the namespace.
func (r *Region) Close() error {
	for _, p := range r.proxies {
		p.Close()
	}
	return r.NS.Delete()
}
