package script

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/stats"
)

// What a Go user (package load) does with its VU. These run on the user's
// goroutine, inside a task or hook the VU called.

// ErrStopping is returned to a Go user whose user is being stopped: the
// request was not made, and the task should return.
var ErrStopping = errors.New("the user is being stopped")

// Response is a response as a task sees it (a Go task through package
// load): it is recorded when the task returns, with its verdict.
type Response = response

// Request makes an HTTP request for a Go task, as u.http.request does for
// a script: target is a path (relative to the host) or an absolute URL;
// name, when not empty, is its statistics name instead of the target.
// req's Method, Header, Body and Timeout are used; its URL and TLS are
// set here. An error is a request that could not be made (and is not
// recorded): no host, a bad name, or the user stopping (ErrStopping).
func (v *VU) Request(req *httpclient.Request, target, name string) (*Response, error) {
	if v.interrupted.Load() {
		return nil, ErrStopping
	}
	var statName string
	var err error
	if req.URL, statName, err = v.resolve(req.Method, target); err != nil {
		return nil, err
	}
	if name != "" {
		if len(name) > maxStatName {
			return nil, fmt.Errorf("%s %s: name must be 1 to %d bytes long, got %d", req.Method, statName, maxStatName, len(name))
		}
		statName = name
	}
	req.TLS = v.Class.TLS
	return v.send(req.Method, statName, req, nil), nil
}

// Exception records err as an exception of the user's current task.
func (v *VU) Exception(err error) { v.shard.Exception(boundText(err.Error()), "") }

// Record records a sample that is not an HTTP request, as u.record does.
func (v *VU) Record(s stats.Sample) error {
	switch {
	case s.Name == "" || len(s.Name) > maxStatName:
		return fmt.Errorf("record: name must be 1 to %d bytes long", maxStatName)
	case s.Method == "" || len(s.Method) > 32:
		return fmt.Errorf("record: kind must be 1 to 32 bytes long, got %q", s.Method)
	case s.Latency < 0 || s.Latency > maxRecordTime*time.Millisecond:
		return fmt.Errorf("record: response time must be from 0 to %d ms", maxRecordTime)
	case s.Bytes < 0:
		return fmt.Errorf("record: length must be >= 0")
	}
	s.Error = boundText(s.Error)
	v.shard.Record(s)
	return nil
}

// Sleep pauses the user inside a task, as u.sleep does; it returns
// ErrStopping at once when the user is stopped.
func (v *VU) Sleep(d time.Duration) error {
	var ctxDone <-chan struct{}
	if v.ctx != nil {
		ctxDone = v.ctx.Done()
	}
	t := time.NewTimer(max(d, 0))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-v.done:
	case <-ctxDone:
		v.Interrupt()
	}
	return ErrStopping
}

// Stop makes the user stop once the current task returns (u.stop()).
func (v *VU) Stop() { v.stopped = true }

// StopTest ends the whole test, as u.stop_test(reason) does, and stops
// this user once the current task returns.
func (v *VU) StopTest(reason string) error {
	v.stopped = true
	if v.stopTest == nil {
		return errors.New("stop_test: this user cannot stop the test (it is not part of one)")
	}
	reason = stats.Cut(reason, MaxStopReason)
	v.log.Info("the user stops the test", "user", v.thread.Name, "reason", reason)
	v.stopTest(reason)
	return nil
}

// Context is the test's context while a task runs (done when the test
// stops).
func (v *VU) Context() context.Context {
	if v.ctx == nil {
		return context.Background()
	}
	return v.ctx
}

// SetupJSON is what the script's setup returned, as JSON (nil without
// a setup).
func (v *VU) SetupJSON() []byte {
	if v.setupData == nil {
		return nil
	}
	return v.setupData.JSON
}

// Partition is this process's share of the test (StartTest's): {0, 1}
// in a local test.
func (v *VU) Partition() Partition {
	if v.script.part.Count <= 0 {
		return Partition{Index: 0, Count: 1}
	}
	return v.script.part
}

// Rand is the user's random source (seeded by --seed).
func (v *VU) Rand() *rand.Rand { return v.rng }

// Log is the logger, with the user named.
func (v *VU) Log() *slog.Logger { return v.log.With("user", v.thread.Name) }

// The response's accessors for Go tasks; the verdict methods are the
// script's r.success() and r.failure(msg).

// Status is the HTTP status (0 when the request failed).
func (r *response) Status() int { return r.status() }

// Body is the response body (decoded; capped by --max-body).
func (r *response) Body() []byte { return r.body() }

// Header is the response's header.
func (r *response) Header() http.Header {
	if r.resp == nil {
		return http.Header{}
	}
	return r.resp.Header()
}

// Err is the transport error ("" when a response came back).
func (r *response) Err() string { return r.err }

// Elapsed is the response time.
func (r *response) Elapsed() time.Duration { return r.service }

// URL is the final URL, after redirects.
func (r *response) URL() string {
	if r.resp != nil {
		return r.resp.URL
	}
	return r.url
}

// OK reports a response with a status below 400.
func (r *response) OK() bool { return r.ok() }

// Success marks the response a success, whatever its status.
func (r *response) Success() { r.verdict, r.failMsg = 1, "" }

// Failure marks the response a failure with msg.
func (r *response) Failure(msg string) {
	if msg == "" {
		msg = "marked as failed by the script"
	}
	r.verdict, r.failMsg = -1, boundText(msg)
}

// Rename changes the response's statistics name.
func (r *response) Rename(name string) error {
	if name == "" || len(name) > maxStatName {
		return fmt.Errorf("rename: name must be 1 to %d bytes long, got %d", maxStatName, len(name))
	}
	r.name = name
	return nil
}
