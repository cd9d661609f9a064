// Package memguard keeps a load test from being killed for its memory:
// it watches the Go runtime's memory against a limit (--max-memory, else
// GOMEMLIMIT or the cgroup's), and calls back when it is passed, so the
// test can be stopped and its results written while the process still
// can. Past the cgroup's limit the kernel kills the process outright,
// and a test killed that way has lost every result it had not written.
package memguard

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"
)

// Fraction of a GOMEMLIMIT or cgroup limit at which the guard stops the
// test: the rest is headroom to stop the users and write the results.
const Fraction = 0.9

// Limit is the limit the guard uses when --max-memory is not given:
// Fraction of GOMEMLIMIT when it is set, else of the cgroup's memory
// limit (v2 memory.max, v1 memory.limit_in_bytes); 0 when neither is.
// source says which, for the log.
func Limit() (limit int64, source string) {
	if gl := debug.SetMemoryLimit(-1); gl > 0 && gl < math.MaxInt64 {
		return int64(float64(gl) * Fraction), "GOMEMLIMIT"
	}
	if cg := CgroupLimit("/"); cg > 0 {
		return int64(float64(cg) * Fraction), "cgroup memory limit"
	}
	return 0, ""
}

// CgroupLimit reads this process's cgroup memory limit under root (the
// file system root; tests pass a fake one), 0 when there is none.
func CgroupLimit(root string) int64 {
	b, err := os.ReadFile(filepath.Join(root, "proc/self/cgroup"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var file string
		switch {
		case parts[0] == "0" && parts[1] == "": // v2
			file = filepath.Join(root, "sys/fs/cgroup", parts[2], "memory.max")
		case hasController(parts[1], "memory"): // v1
			file = filepath.Join(root, "sys/fs/cgroup/memory", parts[2], "memory.limit_in_bytes")
		default:
			continue
		}
		if n := readLimit(file); n > 0 {
			return n
		}
	}
	return 0
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// readLimit reads a limit file: "max" or a v1 "unlimited" value near
// 2^63 mean none.
func readLimit(file string) int64 {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n <= 0 || n >= math.MaxInt64/2 {
		return 0
	}
	return n
}

// Used is the memory the Go runtime holds from the OS now (heap, stacks
// and runtime structures, less what it has returned), read without
// stopping the world.
func Used() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64()) - int64(s[1].Value.Uint64())
}

// Watch checks Used every interval until ctx ends. When it passes
// limit, exceeded is called (on Watch's goroutine); it is called again
// only after use has come back under rearm (a web UI process that runs
// another test). Unless GOMEMLIMIT is set, the runtime's soft limit is
// set just under limit first, so the collector works harder before the
// guard gives up on garbage that could still be freed.
func Watch(ctx context.Context, limit int64, interval time.Duration, exceeded func(used int64)) {
	if limit <= 0 {
		return
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(float64(limit) * Fraction))
	}
	rearm := int64(float64(limit) * 0.8)
	armed := true
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			switch used := Used(); {
			case armed && used > limit:
				armed = false
				exceeded(used)
			case !armed && used < rearm:
				armed = true
			}
		}
	}
}
