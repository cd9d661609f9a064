package engine

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
)

// Hooks are a test's setup and teardown. The engine runs them once per
// test, in its own process (a master runs them for its workers): Setup
// before the driver starts any user, Teardown after the last user of the
// test stopped.
type Hooks interface {
	// Setup's data goes to every user of the test (u.setup_data); an
	// error aborts the test.
	Setup(ctx context.Context, p Params) (*script.SetupData, error)
	// Teardown gets the data Setup returned, in p.SetupData.
	Teardown(ctx context.Context, p Params)
	// Flush returns the statistics the hooks recorded since the last call.
	Flush(now time.Time) *stats.Delta
}

// SetupError is a test that did not start because its setup failed.
type SetupError struct{ Err error }

func (e *SetupError) Error() string { return e.Err.Error() }
func (e *SetupError) Unwrap() error { return e.Err }

// ScriptHooks runs a script's setup(ctx) and teardown(ctx, data), their
// requests going to the test's host and into the test's statistics.
type ScriptHooks struct {
	script *script.Script
	http   httpclient.Options
	log    *slog.Logger
	rec    *stats.Recorder
}

// NewScriptHooks returns the hooks of script s.
func NewScriptHooks(s *script.Script, o httpclient.Options, log *slog.Logger) *ScriptHooks {
	if log == nil {
		log = slog.Default()
	}
	return &ScriptHooks{script: s, http: o, log: log, rec: stats.NewRecorder(1, time.Now(), false)}
}

// scriptOf is the script of test p: the one loaded with its vars, if
// any.
func (h *ScriptHooks) scriptOf(p Params) *script.Script {
	if p.Script != nil {
		return p.Script
	}
	return h.script
}

func (h *ScriptHooks) config(p Params) (script.HookConfig, func()) {
	c := httpclient.New(h.http)
	host := p.Host
	if host == h.scriptOf(p).Host {
		host = "" // as for users: the script's host must not hide a class's
	}
	return script.HookConfig{Client: c, Shard: h.rec.Shard(0), Host: host, Log: h.log}, c.CloseIdle
}

// Setup runs the script's setup, if it has one.
func (h *ScriptHooks) Setup(ctx context.Context, p Params) (*script.SetupData, error) {
	s := h.scriptOf(p)
	if !s.HasSetup() {
		return nil, nil
	}
	cfg, done := h.config(p)
	defer done()
	return s.Setup(ctx, cfg)
}

// Teardown runs the script's teardown, if it has one. Its error is
// logged (the script records it as an exception of the test).
func (h *ScriptHooks) Teardown(ctx context.Context, p Params) {
	s := h.scriptOf(p)
	if !s.HasTeardown() {
		return
	}
	cfg, done := h.config(p)
	defer done()
	if err := s.Teardown(ctx, cfg, p.SetupData); err != nil {
		h.log.Error(err.Error())
	}
}

// Flush returns what setup and teardown recorded.
func (h *ScriptHooks) Flush(now time.Time) *stats.Delta { return h.rec.Flush(now) }

// Why a test ended by itself, as the engine's reason (and the JSON
// summary's stop_reason) says it.
const (
	ReasonIterations = "iterations finished"
	stopTestPrefix   = "stopped by the script: "
)

// StopTestReason is the stop reason of a test that a script ended with
// u.stop_test(reason).
func StopTestReason(reason string) string { return stopTestPrefix + reason }

// ScriptStopReason is the reason given to u.stop_test, when that is what
// ended the test with stop reason r ("" otherwise).
func ScriptStopReason(r string) string {
	s, ok := strings.CutPrefix(r, stopTestPrefix)
	if !ok {
		return ""
	}
	return s
}
