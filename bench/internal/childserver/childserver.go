// Package childserver starts a benchmark's own program again, in a child
// process, as a server on a free loopback port: the server then does not
// share the load generator's process (or core, when pinned).
package childserver

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"time"
)

// Start runs wrap(exe, addr) — the benchmark's own executable, to be
// given addr (127.0.0.1:port) to serve on, possibly behind taskset or nice
// — with env added to this process's environment, and waits until addr
// accepts connections (at most 5 s). stop kills the child.
func Start(wrap func(exe, addr string) []string, env ...string) (addr string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr = l.Addr().String()
	l.Close()
	exe, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	args := wrap(exe, addr)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = os.Stderr
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait() }
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr, stop, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return "", nil, fmt.Errorf("server on %s did not start", addr)
}
