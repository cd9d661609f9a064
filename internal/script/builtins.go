package script

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/stampede-load/stampede/internal/bounds"
	"github.com/stampede-load/stampede/internal/httpclient"
	"go.starlark.net/lib/json"
	"go.starlark.net/lib/math"
	sltime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// predeclared is what every script file sees besides Starlark's builtins.
func predeclared(vars map[string]string) starlark.StringDict {
	vd := varsDict(vars)
	return starlark.StringDict{
		"user":                starlark.NewBuiltin("user", newUserClass),
		"task":                starlark.NewBuiltin("task", newTask),
		"taskset":             starlark.NewBuiltin("taskset", newTaskSet),
		"between":             starlark.NewBuiltin("between", between),
		"constant":            starlark.NewBuiltin("constant", fixedWait(WaitConstant)),
		"constant_pacing":     starlark.NewBuiltin("constant_pacing", fixedWait(WaitPacing)),
		"constant_throughput": starlark.NewBuiltin("constant_throughput", constantThroughput),
		"random":              randomModule,
		"re":                  newReModule(),
		"base64":              newBase64Module(),
		"hashlib":             newHashlibModule(),
		"hmac":                newHmacModule(),
		"uuid":                newUUIDModule(),
		"urllib":              newURLLibModule(),
		"html":                newHTMLModule(),
		"sum":                 starlark.NewBuiltin("sum", builtinSum),
		"round":               starlark.NewBuiltin("round", builtinRound),
		"pow":                 starlark.NewBuiltin("pow", builtinPow),
		"json":                json.Module,
		"time":                timeModule(),
		"math":                math.Module,
		"struct":              starlark.NewBuiltin("struct", starlarkstruct.Make),
		"vars":                vd,
		"stage":               starlark.NewBuiltin("stage", newStage),
		"arrival_stage":       starlark.NewBuiltin("arrival_stage", newArrivalStage),
		"digest":              starlark.NewBuiltin("digest", newDigestAuth),
	}
}

// timeModule is Starlark's time module whose sleep teaches: a sleeping
// task would hold its goroutine and hide the pause from the runner.
func timeModule() *starlarkstruct.Module {
	members := make(starlark.StringDict, len(sltime.Module.Members)+1)
	for k, v := range sltime.Module.Members {
		members[k] = v
	}
	members["sleep"] = starlark.NewBuiltin("sleep", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		return nil, errors.New(msgSleep)
	})
	return &starlarkstruct.Module{Name: sltime.Module.Name, Members: members}
}

// UserClass is what user(...) returns: a kind of virtual user. Its own
// task list, wait time and on_start/on_stop are the embedded TaskSet.
type UserClass struct {
	TaskSet
	Name       string
	Weight     int
	FixedCount int
	Host       string
	// TLS is the class's verify= and cert= (nil: the defaults).
	TLS *httpclient.TLSConfig

	verifyArg, certArg starlark.Value // as given; read by Script.resolveTLS
	tls                tlsKey
	native             *native // a class written in Go (native.go)
}

var _ starlark.HasAttrs = (*UserClass)(nil)

func (c *UserClass) String() string        { return fmt.Sprintf("<user %s>", c.Name) }
func (c *UserClass) Type() string          { return "user" }
func (c *UserClass) Freeze()               {}
func (c *UserClass) Truth() starlark.Bool  { return true }
func (c *UserClass) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: user") }
func (c *UserClass) Attr(name string) (starlark.Value, error) {
	switch name {
	case "name":
		return starlark.String(c.Name), nil
	case "weight":
		return starlark.MakeInt(c.Weight), nil
	case "fixed_count":
		return starlark.MakeInt(c.FixedCount), nil
	}
	return nil, nil
}
func (c *UserClass) AttrNames() []string { return []string{"fixed_count", "name", "weight"} }

func newUserClass(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		tasks                 starlark.Value
		weight                = 1
		fixedCount            int
		waitTime              starlark.Value = starlark.None
		onStart, onStop, host starlark.Value = starlark.None, starlark.None, starlark.None
		name                  starlark.Value = starlark.None
		sequential            bool
		verify, cert          starlark.Value
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs,
		"tasks", &tasks, "weight?", &weight, "fixed_count?", &fixedCount, "wait_time?", &waitTime,
		"on_start?", &onStart, "on_stop?", &onStop, "host?", &host, "sequential?", &sequential, "name?", &name,
		"verify?", &verify, "cert?", &cert); err != nil {
		return nil, err
	}
	c := &UserClass{Weight: weight, FixedCount: fixedCount}
	if verify != nil && verify != starlark.None {
		if err := checkVerify(verify); err != nil {
			return nil, fmt.Errorf("user: %w", err)
		}
		c.verifyArg = verify
	}
	if cert != nil && cert != starlark.None {
		c.certArg = cert
	}
	c.Sequential = sequential
	if weight < 0 {
		return nil, fmt.Errorf("user: weight must be >= 0, got %d", weight)
	}
	if fixedCount < 0 {
		return nil, fmt.Errorf("user: fixed_count must be >= 0, got %d", fixedCount)
	}
	if err := c.fill("user", tasks, waitTime, onStart, onStop); err != nil {
		return nil, err
	}
	if c.Wait == nil {
		c.Wait = &WaitTime{Kind: WaitConstant} // Locust's default: constant(0)
	}
	if host != starlark.None {
		h, ok := starlark.AsString(host)
		if !ok {
			return nil, fmt.Errorf("user: host must be a string, got %s", host.Type())
		}
		c.Host = h
	}
	var err error
	if c.Name, err = optName("user", name); err != nil {
		return nil, err
	}
	return c, nil
}

// parseWait reads wait_time=: a wait time value, or a function of the
// user returning seconds.
func parseWait(what string, v starlark.Value) (*WaitTime, error) {
	switch w := v.(type) {
	case *WaitTime:
		return w, nil
	case starlark.Callable:
		return &WaitTime{Kind: WaitFunc, Fn: w}, nil
	}
	return nil, fmt.Errorf("%s: wait_time must be between(), constant(), constant_pacing(), constant_throughput() or a function def w(u): return seconds, got %s", what, v.Type())
}

func optCallable(what, arg string, v starlark.Value) (starlark.Callable, error) {
	if v == starlark.None {
		return nil, nil
	}
	fn, ok := v.(starlark.Callable)
	if !ok {
		return nil, fmt.Errorf("%s: %s must be a function, got %s", what, arg, v.Type())
	}
	return fn, nil
}

// WaitKind is the kind of a wait time.
type WaitKind int

// Wait time kinds, with Locust's meanings.
const (
	WaitConstant WaitKind = iota // constant(s): always s
	WaitBetween                  // between(a, b): uniform in [a, b]
	WaitPacing                   // constant_pacing(s): task time + wait = s
	WaitFunc                     // a script function of the user: its result
)

// WaitTime is the pause of a user between two tasks.
type WaitTime struct {
	Kind     WaitKind
	Min, Max time.Duration
	Fn       starlark.Callable // WaitFunc: the VU calls it (see VU.NextWait)
}

var _ starlark.Value = (*WaitTime)(nil)

func (w *WaitTime) String() string {
	switch w.Kind {
	case WaitBetween:
		return fmt.Sprintf("between(%g, %g)", w.Min.Seconds(), w.Max.Seconds())
	case WaitPacing:
		return fmt.Sprintf("constant_pacing(%g)", w.Min.Seconds())
	case WaitFunc:
		return w.Fn.Name() + "(u)"
	}
	return fmt.Sprintf("constant(%g)", w.Min.Seconds())
}
func (w *WaitTime) Type() string          { return "wait_time" }
func (w *WaitTime) Freeze()               {}
func (w *WaitTime) Truth() starlark.Bool  { return true }
func (w *WaitTime) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: wait_time") }

// Next returns the wait after a task that took taskTime.
func (w *WaitTime) Next(rng *rand.Rand, taskTime time.Duration) time.Duration {
	switch w.Kind {
	case WaitBetween:
		if w.Max <= w.Min {
			return w.Min
		}
		return w.Min + time.Duration(rng.Int64N(int64(w.Max-w.Min)+1))
	case WaitPacing:
		if taskTime >= w.Min {
			return 0
		}
		return w.Min - taskTime
	}
	return w.Min
}

func seconds(fn string, v starlark.Value) (time.Duration, error) {
	f, ok := starlark.AsFloat(v)
	if !ok || !(f >= 0) {
		return 0, fmt.Errorf("%s: seconds must be a non-negative number, got %s", fn, v)
	}
	d, err := bounds.Seconds(f)
	if err != nil {
		return 0, fmt.Errorf("%s: seconds %v", fn, err)
	}
	return d, nil
}

func between(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var lo, hi starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &lo, &hi); err != nil {
		return nil, err
	}
	a, err := seconds(b.Name(), lo)
	if err != nil {
		return nil, err
	}
	c, err := seconds(b.Name(), hi)
	if err != nil {
		return nil, err
	}
	if c < a {
		return nil, fmt.Errorf("between: max (%s) is less than min (%s)", hi, lo)
	}
	return &WaitTime{Kind: WaitBetween, Min: a, Max: c}, nil
}

// fixedWait makes constant(s) and constant_pacing(s): one number of
// seconds, read the same way for both.
func fixedWait(kind WaitKind) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var v starlark.Value
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
			return nil, err
		}
		d, err := seconds(b.Name(), v)
		if err != nil {
			return nil, err
		}
		return &WaitTime{Kind: kind, Min: d, Max: d}, nil
	}
}

func constantThroughput(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
		return nil, err
	}
	n, ok := starlark.AsFloat(v)
	if !ok || n <= 0 {
		return nil, fmt.Errorf("constant_throughput: tasks per second must be a positive number, got %s", v)
	}
	d := time.Duration(float64(time.Second) / n)
	return &WaitTime{Kind: WaitPacing, Min: d, Max: d}, nil
}
