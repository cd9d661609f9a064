package script

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"

	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/stats"
	sljson "go.starlark.net/lib/json"
	"go.starlark.net/starlark"
)

// The test-level hooks of a script:
//
//	def setup(ctx):          # once per test, before any user starts
//	    r = ctx.http.post("/login", json={...})
//	    return {"token": r.json()["token"]}   # every user's u.setup_data
//	def teardown(ctx, data): # once per test, after the last user stopped
//	    ctx.http.post("/cleanup", json=data)

// MaxSetupData bounds setup()'s return value, JSON-encoded: a master
// sends it to every worker with the test.
const MaxSetupData = 1 << 20

// SetupData is what setup() returned: JSON-compatible, frozen, shared by
// every user of the test.
type SetupData struct {
	// JSON is the encoded value, as a master sends it to its workers.
	JSON  []byte
	value starlark.Value
}

// HookConfig is what setup and teardown need to make requests.
type HookConfig struct {
	Client httpclient.Client
	// Shard records their requests, and their error if they raise one.
	Shard *stats.Shard
	// Host is the test's host (empty: the script's).
	Host string
	Log  *slog.Logger
}

// HookError is a setup or teardown that raised an error. Its message
// names the hook and starts the script's part with file:line:col.
type HookError struct {
	Hook      string
	Msg       string
	Backtrace string
}

func (e *HookError) Error() string { return e.Hook + " failed: " + e.Msg }

// collectHooks checks the script's setup and teardown, if any. Its
// errors start with the file (and line).
func (s *Script) collectHooks() error {
	for _, h := range []struct {
		name   string
		params int
		dst    **starlark.Function
		want   string
	}{
		{"setup", 1, &s.setup, "setup(ctx)"},
		{"teardown", 2, &s.teardown, "teardown(ctx, data)"},
	} {
		v, ok := s.Globals[h.name]
		if !ok {
			continue
		}
		fn, ok := v.(*starlark.Function)
		if !ok {
			return fmt.Errorf("%s: %s must be a function %s, got %s", s.Main, h.name, h.want, v.Type())
		}
		if fn.NumParams() != h.params {
			return fmt.Errorf("%s: %s must be a function %s, it takes %d parameters", fn.Position(), h.name, h.want, fn.NumParams())
		}
		*h.dst = fn
	}
	return nil
}

// HasSetup and HasTeardown report whether the script defines the hooks.
func (s *Script) HasSetup() bool    { return s.setup != nil }
func (s *Script) HasTeardown() bool { return s.teardown != nil }

// Setup runs the script's setup(ctx), if any, and returns what it
// returned (nil without a setup). A setup that raises, or returns what
// JSON cannot hold, is a *HookError.
func (s *Script) Setup(ctx context.Context, cfg HookConfig) (*SetupData, error) {
	if s.setup == nil {
		return nil, nil
	}
	v := s.hookVU("setup", cfg)
	res, err := v.callHook(ctx, s.setup, starlark.Tuple{v.hookCtx()})
	if err != nil {
		return nil, v.hookError("setup", err)
	}
	enc, err := starlark.Call(v.thread, sljson.Module.Members["encode"], starlark.Tuple{res}, nil)
	if err != nil {
		return nil, v.hookError("setup", fmt.Errorf("%s: setup must return JSON-compatible data (dict with string keys, list, string, number, bool, None): %v", s.setup.Position(), err))
	}
	b := []byte(string(enc.(starlark.String)))
	if len(b) > MaxSetupData {
		return nil, v.hookError("setup", fmt.Errorf("%s: setup returned %d KiB of data (as JSON); the most a master sends to its workers is %d KiB", s.setup.Position(), len(b)>>10, MaxSetupData>>10))
	}
	return DecodeSetupData(b)
}

// Teardown runs the script's teardown(ctx, data), if any, with what
// setup returned (None without a setup).
func (s *Script) Teardown(ctx context.Context, cfg HookConfig, data *SetupData) error {
	if s.teardown == nil {
		return nil
	}
	v := s.hookVU("teardown", cfg)
	if _, err := v.callHook(ctx, s.teardown, starlark.Tuple{v.hookCtx(), data.Value()}); err != nil {
		return v.hookError("teardown", err)
	}
	return nil
}

// DecodeSetupData reads setup data as a master sent it.
func DecodeSetupData(b []byte) (*SetupData, error) {
	if len(b) > MaxSetupData {
		return nil, fmt.Errorf("setup data of %d bytes exceeds %d", len(b), MaxSetupData)
	}
	t := &starlark.Thread{Name: "setup data"}
	v, err := starlark.Call(t, sljson.Module.Members["decode"], starlark.Tuple{starlark.String(b)}, nil)
	if err != nil {
		return nil, fmt.Errorf("setup data: %v", err)
	}
	v.Freeze()
	return &SetupData{JSON: b, value: v}, nil
}

// Value is the data as users see it (None for nil).
func (d *SetupData) Value() starlark.Value {
	if d == nil {
		return starlark.None
	}
	return d.value
}

// hookVU is the user that runs a hook: its own client and statistics,
// no class.
func (s *Script) hookVU(name string, cfg HookConfig) *VU {
	v := s.NewVU(0, &UserClass{Name: name}, VUConfig{Client: cfg.Client, Shard: cfg.Shard, Host: cfg.Host, Log: cfg.Log})
	v.thread.Name = name
	return v
}

// callHook runs fn; ctx ending interrupts it at its next request.
func (v *VU) callHook(ctx context.Context, fn starlark.Callable, args starlark.Tuple) (starlark.Value, error) {
	stop := context.AfterFunc(ctx, v.Interrupt)
	defer stop()
	v.ctx = ctx
	resetSteps(v.thread, v.script.opts.MaxSteps)
	res, err := callSafe(v.thread, fn, args)
	v.ctx = nil
	v.flush()
	return res, err
}

// hookError formats err with the script position and records it as an
// exception of the test.
func (v *VU) hookError(hook string, err error) *HookError {
	he := &HookError{Hook: hook, Msg: err.Error()}
	var ee *starlark.EvalError
	var pe *PanicError
	if errors.As(err, &pe) {
		he.Backtrace = pe.Stack
	} else if errors.As(err, &ee) {
		le := loadError(err).(*LoadError)
		he.Msg, he.Backtrace = le.Msg, le.Backtrace
	}
	v.shard.Exception(he.Error(), he.Backtrace)
	return he
}

// hookCtxValue is the ctx of setup(ctx) and teardown(ctx, data).
type hookCtxValue struct {
	vu   *VU
	vars *starlark.Dict
}

var _ starlark.HasAttrs = (*hookCtxValue)(nil)

func (v *VU) hookCtx() *hookCtxValue {
	return &hookCtxValue{vu: v, vars: varsDict(v.script.opts.Vars)}
}

// varsDict is --var as the script's frozen `vars` dict.
func varsDict(vars map[string]string) *starlark.Dict {
	d := starlark.NewDict(len(vars))
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		_ = d.SetKey(starlark.String(k), starlark.String(vars[k]))
	}
	d.Freeze()
	return d
}

func (c *hookCtxValue) String() string        { return "<" + c.vu.thread.Name + " ctx>" }
func (c *hookCtxValue) Type() string          { return "hook_ctx" }
func (c *hookCtxValue) Freeze()               {}
func (c *hookCtxValue) Truth() starlark.Bool  { return true }
func (c *hookCtxValue) Hash() (uint32, error) { return 0, errors.New("unhashable: hook_ctx") }
func (c *hookCtxValue) AttrNames() []string   { return []string{"host", "http", "vars"} }
func (c *hookCtxValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "http":
		return c.vu.u.http, nil
	case "vars":
		return c.vars, nil
	case "host":
		return starlark.String(c.vu.host), nil
	}
	return nil, nil
}

// MaxStopReason bounds the reason of u.stop_test, which ends up in the
// log, the JSON summary and (from a worker) the master's memory.
const MaxStopReason = 1000

// stopTestBuiltin is u.stop_test(reason): it ends the whole test (Locust's
// runner.quit()) and this user's task at once.
func (v *VU) stopTestBuiltin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	reason := "stop_test() called"
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "reason?", &reason); err != nil {
		return nil, err
	}
	reason = stats.Cut(reason, MaxStopReason)
	if v.stopTest == nil {
		return nil, errors.New("stop_test: this user cannot stop the test (it is not part of one)")
	}
	v.log.Info("the script stops the test", "user", v.thread.Name, "reason", reason)
	v.stopTest(reason)
	return nil, errUserStop
}
