package load

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
)

// ErrStopping is what a request or Sleep returns when the user is being
// stopped (the test ends, or the user count goes down): the task should
// return.
var ErrStopping = script.ErrStopping

// User is one virtual user as its tasks see it: its HTTP client, its
// identity and its controls. A User is used by its own tasks only, on
// the user's goroutine.
type User struct {
	vu *script.VU
}

// ID is the user's number, unique in the test (across workers too).
func (u *User) ID() int { return u.vu.ID }

// Class is the name of the user's class.
func (u *User) Class() string { return u.vu.Class.Name }

// Host is the base URL that paths are requested against.
func (u *User) Host() string { return u.vu.Host() }

// Context is done when the test stops.
func (u *User) Context() context.Context { return u.vu.Context() }

// SetupData decodes into v what the -f script's setup(ctx) returned (the
// script's u.setup_data), with encoding/json: in a test of Go and script
// classes, setup runs once per test and every user reads its result. It
// is an error when the test has no setup.
func (u *User) SetupData(v any) error {
	b := u.vu.SetupJSON()
	if b == nil {
		return errors.New("no setup data: the test's script has no setup(ctx)")
	}
	return json.Unmarshal(b, v)
}

// Partition is this process's share of a distributed test, as the
// script's shared.queue uses it: the worker is number index of count
// (0 of 1 in a local test; index -1 for a worker that joined after the
// test was shared out). Go users take the data items i with i % count ==
// index to use each item on one worker only.
func (u *User) Partition() (index, count int) {
	p := u.vu.Partition()
	return p.Index, p.Count
}

// Rand is the user's random source: with --seed, a run repeats.
func (u *User) Rand() *rand.Rand { return u.vu.Rand() }

// Log is the logger, with the user named (the web UI's Logs tab shows it).
func (u *User) Log() *slog.Logger { return u.vu.Log() }

// Sleep pauses the user inside a task (u.sleep). It returns ErrStopping
// at once when the user is stopped.
func (u *User) Sleep(d time.Duration) error { return u.vu.Sleep(d) }

// Stop stops this user once the current task returns; it is not replaced
// (u.stop()).
func (u *User) Stop() { u.vu.Stop() }

// StopTest ends the whole test with reason (in a distributed test, on
// every worker), and stops this user once the current task returns
// (u.stop_test(reason)).
func (u *User) StopTest(reason string) error { return u.vu.StopTest(reason) }

// Record adds a sample that is not an HTTP request to the statistics
// under (kind, name), as u.record does: err nil is a success.
func (u *User) Record(kind, name string, elapsed time.Duration, length int64, err error) error {
	s := stats.Sample{Method: kind, Name: name, Latency: elapsed, Bytes: length}
	if err != nil {
		s.Error = err.Error()
		if s.Error == "" {
			s.Error = "failed"
		}
	}
	return u.vu.Record(s)
}

// Response is the answer to a request. It is recorded in the statistics
// when the task returns, with the verdict the task gave it: by default a
// failure when the request failed or the status is 400 or more; Success
// and Failure change that (Locust's catch_response, the script's
// r.success() and r.failure(msg)).
type Response struct {
	r   *script.Response
	err error // the request could not be made (not recorded)
}

// StatusCode is the HTTP status, 0 when no response came back.
func (r Response) StatusCode() int {
	if r.r == nil {
		return 0
	}
	return r.r.Status()
}

// OK reports a response with a status below 400.
func (r Response) OK() bool { return r.r != nil && r.r.OK() }

// Body is the response body, decoded (gzip, deflate, br, zstd) and
// capped at --max-body.
func (r Response) Body() []byte {
	if r.r == nil {
		return nil
	}
	return r.r.Body()
}

// Text is the body as a string.
func (r Response) Text() string { return string(r.Body()) }

// Header is the response's header.
func (r Response) Header() Header {
	if r.r == nil {
		return Header{}
	}
	return Header(r.r.Header())
}

// Err is why no response came back: the request could not be made
// (ErrStopping, no host), or the connection failed or timed out. It is
// nil when a response came back, whatever its status.
func (r Response) Err() error {
	switch {
	case r.err != nil:
		return r.err
	case r.r.Err() != "":
		return errors.New(r.r.Err())
	}
	return nil
}

// Elapsed is the response time, as recorded.
func (r Response) Elapsed() time.Duration {
	if r.r == nil {
		return 0
	}
	return r.r.Elapsed()
}

// URL is the final URL, after redirects.
func (r Response) URL() string {
	if r.r == nil {
		return ""
	}
	return r.r.URL()
}

// Success records the response as a success, whatever its status.
func (r Response) Success() {
	if r.r != nil {
		r.r.Success()
	}
}

// Failure records the response as a failure with msg as its error.
func (r Response) Failure(msg string) {
	if r.r != nil {
		r.r.Failure(msg)
	}
}

// Rename changes the response's statistics name.
func (r Response) Rename(name string) error {
	if r.r == nil {
		return r.err
	}
	return r.r.Rename(name)
}
