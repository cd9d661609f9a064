package cli

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/stampede-load/stampede/internal/memguard"
)

// outputSafely runs write, turning a panic into an error.
func outputSafely(write func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error: panic: %v\n%s", p, debug.Stack())
		}
	}()
	return write()
}

// reasonMemory starts the stop reason of a test the memory guard ended.
const reasonMemory = "memory limit"

// guardMemory stops the running test as failed, so its results are
// written, when this process passes --max-memory (default: a share of
// GOMEMLIMIT or of the cgroup's limit, where the kernel would kill it
// and every result with it). It watches until ctx ends.
func (sess *session) guardMemory(ctx context.Context) {
	limit, source := sess.o.limits.maxMemory, "--max-memory"
	if limit == 0 {
		limit, source = memguard.Limit()
	}
	if limit <= 0 {
		return
	}
	log := sess.app.Log
	log.Info("memory guard: the test stops, writing its results, if this process passes the limit", "limit", size{&limit}.String(), "from", source)
	go memguard.Watch(ctx, limit, 250*time.Millisecond, func(used int64) {
		log.Error("memory: this process passed its limit: stopping the test as failed and writing its results; "+
			"run fewer users per process (or more workers), lower --max-body, or keep less in u.state",
			"used", size{&used}.String(), "limit", size{&limit}.String(), "from", source)
		sess.stopWith(fmt.Sprintf("%s: %s used, over %s (%s)", reasonMemory, size{&used}, size{&limit}, source))
	})
}
