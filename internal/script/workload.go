package script

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/stampede-load/stampede/internal/bounds"
	"github.com/stampede-load/stampede/internal/workload"
	"go.starlark.net/starlark"
)

// Workload is what a script says about the load over time, from its
// top-level globals:
//
//	stages = [stage(duration="1m", users=100, spawn_rate=10), ...]   # closed model
//	def shape(t): return (users, spawn_rate)                          # closed model
//	arrival_rate = "500/s"                                            # open model
//	arrival_stages = [arrival_stage(duration="1m", rate=100), ...]    # open model
//	max_users = 200                                                   # open model's pool
//
// Command-line flags win over these.
type Workload struct {
	Stages []workload.Stage
	// Shape is the script's shape function, nil when there is none.
	Shape workload.Shape
	// ArrivalRate is a constant rate, or with ArrivalStages their start
	// rate (iterations per second); ArrivalRateSet tells 0 from absent.
	ArrivalRate    float64
	ArrivalRateSet bool
	ArrivalStages  []workload.ArrivalStage
	MaxUsers       int
}

// Open reports whether the script asks for the open model.
func (w Workload) Open() bool { return w.ArrivalRateSet || len(w.ArrivalStages) > 0 }

// stageValue is what stage(...) returns.
type stageValue struct {
	st      workload.Stage
	rateSet bool
}

func (s *stageValue) String() string {
	return fmt.Sprintf("stage(duration=%q, users=%d, spawn_rate=%g)", s.st.Duration, s.st.Users, s.st.SpawnRate)
}
func (s *stageValue) Type() string          { return "stage" }
func (s *stageValue) Freeze()               {}
func (s *stageValue) Truth() starlark.Bool  { return true }
func (s *stageValue) Hash() (uint32, error) { return 0, errors.New("unhashable: stage") }

// arrivalStageValue is what arrival_stage(...) returns.
type arrivalStageValue struct{ st workload.ArrivalStage }

func (s *arrivalStageValue) String() string {
	return fmt.Sprintf("arrival_stage(duration=%q, rate=%q)", s.st.Duration, workload.FormatRate(s.st.Rate))
}
func (s *arrivalStageValue) Type() string          { return "arrival_stage" }
func (s *arrivalStageValue) Freeze()               {}
func (s *arrivalStageValue) Truth() starlark.Bool  { return true }
func (s *arrivalStageValue) Hash() (uint32, error) { return 0, errors.New("unhashable: arrival_stage") }

// durationArg reads a duration given as "1m30s" or a number of seconds.
func durationArg(fn, name string, v starlark.Value) (time.Duration, error) {
	if s, ok := starlark.AsString(v); ok {
		d, err := workload.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%s: %s: %v", fn, name, err)
		}
		return d, nil
	}
	f, ok := starlark.AsFloat(v)
	if !ok {
		return 0, fmt.Errorf("%s: %s must be a duration like \"1m\" or a number of seconds, got %s", fn, name, v)
	}
	d, err := bounds.Seconds(f)
	if err != nil {
		return 0, fmt.Errorf("%s: %s %v", fn, name, err)
	}
	return d, nil
}

// rateArg reads a rate given as "100/s", "30/m" or a number per second.
func rateArg(fn, name string, v starlark.Value) (float64, error) {
	if s, ok := starlark.AsString(v); ok {
		r, err := workload.ParseRate(s)
		if err != nil {
			return 0, fmt.Errorf("%s: %s: %v", fn, name, err)
		}
		return r, nil
	}
	f, ok := starlark.AsFloat(v)
	if !ok {
		return 0, fmt.Errorf("%s: %s must be a rate like \"100/s\" or a number per second, got %s", fn, name, v)
	}
	if err := bounds.Float(f, 0, bounds.MaxArrivalRate); err != nil {
		return 0, fmt.Errorf("%s: %s %v", fn, name, err)
	}
	return f, nil
}

func newStage(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dur, rate starlark.Value = nil, starlark.None
	var users int
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "duration", &dur, "users", &users, "spawn_rate?", &rate); err != nil {
		return nil, err
	}
	d, err := durationArg("stage", "duration", dur)
	if err != nil {
		return nil, err
	}
	if d <= 0 {
		return nil, errors.New("stage: duration must be > 0")
	}
	if err := bounds.Int(int64(users), 0, bounds.MaxUsers); err != nil {
		return nil, fmt.Errorf("stage: users %v", err)
	}
	sv := &stageValue{st: workload.Stage{Duration: d, Users: users}}
	if rate != starlark.None {
		r, ok := starlark.AsFloat(rate)
		if !ok {
			return nil, fmt.Errorf("stage: spawn_rate must be a number > 0, got %s", rate)
		}
		if err := bounds.Positive(r, bounds.MaxSpawnRate); err != nil {
			return nil, fmt.Errorf("stage: spawn_rate %v", err)
		}
		sv.st.SpawnRate, sv.rateSet = r, true
	}
	return sv, nil
}

func newArrivalStage(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dur, rate starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "duration", &dur, "rate", &rate); err != nil {
		return nil, err
	}
	d, err := durationArg("arrival_stage", "duration", dur)
	if err != nil {
		return nil, err
	}
	r, err := rateArg("arrival_stage", "rate", rate)
	if err != nil {
		return nil, err
	}
	return &arrivalStageValue{st: workload.ArrivalStage{Duration: d, Rate: r}}, nil
}

// collectWorkload reads the workload globals.
func (s *Script) collectWorkload() error {
	w := &s.Workload
	if v, ok := s.Globals["stages"]; ok {
		list, ok := v.(*starlark.List)
		if !ok {
			return fmt.Errorf("stages must be a list of stage(...), got %s", v.Type())
		}
		prev := 0
		for i := 0; i < list.Len(); i++ {
			sv, ok := list.Index(i).(*stageValue)
			if !ok {
				return fmt.Errorf("stages[%d] must be stage(duration=..., users=..., spawn_rate=...), got %s", i, list.Index(i).Type())
			}
			st := sv.st
			if !sv.rateSet {
				st.SpawnRate = workload.DefaultSpawnRate(prev, st.Users, st.Duration)
			}
			prev = st.Users
			w.Stages = append(w.Stages, st)
		}
		if len(w.Stages) == 0 {
			return errors.New("stages is empty")
		}
	}
	if v, ok := s.Globals["shape"]; ok {
		fn, ok := v.(*starlark.Function)
		if !ok {
			return fmt.Errorf("shape must be a function shape(t) or shape(t, users), got %s", v.Type())
		}
		if n := fn.NumParams(); n < 1 || n > 2 {
			return fmt.Errorf("%s: shape must take (t) or (t, users), it takes %d parameters", fn.Position(), n)
		}
		if len(w.Stages) > 0 {
			return errors.New("both stages and shape are defined: keep one")
		}
		w.Shape = &scriptShape{s: s, fn: fn}
	}
	if v, ok := s.Globals["arrival_rate"]; ok {
		r, err := rateArg("arrival_rate", "value", v)
		if err != nil {
			return err
		}
		w.ArrivalRate, w.ArrivalRateSet = r, true
	}
	if v, ok := s.Globals["arrival_stages"]; ok {
		list, ok := v.(*starlark.List)
		if !ok {
			return fmt.Errorf("arrival_stages must be a list of arrival_stage(...), got %s", v.Type())
		}
		var total time.Duration
		for i := 0; i < list.Len(); i++ {
			sv, ok := list.Index(i).(*arrivalStageValue)
			if !ok {
				return fmt.Errorf("arrival_stages[%d] must be arrival_stage(duration=..., rate=...), got %s", i, list.Index(i).Type())
			}
			w.ArrivalStages = append(w.ArrivalStages, sv.st)
			total += sv.st.Duration
		}
		if total <= 0 {
			return errors.New("arrival_stages last 0s in all")
		}
	}
	if v, ok := s.Globals["max_users"]; ok {
		n, err := starlark.AsInt32(v)
		if err != nil || n <= 0 {
			return fmt.Errorf("max_users must be a whole number > 0, got %s", v)
		}
		w.MaxUsers = n
	}
	if w.Open() && (len(w.Stages) > 0 || w.Shape != nil) {
		return errors.New("the script defines both a closed-model load (stages or shape) and an open-model one (arrival_rate or arrival_stages): keep one")
	}
	return nil
}

// scriptShape calls the script's shape function.
type scriptShape struct {
	s  *Script
	fn *starlark.Function

	mu     sync.Mutex
	thread *starlark.Thread
}

func (sh *scriptShape) String() string { return "shape() at " + sh.fn.Position().String() }

// Next: a shape function can change its mind at any moment.
func (sh *scriptShape) Next(time.Duration) time.Duration { return 0 }

// Tick calls shape(t) or shape(t, users).
func (sh *scriptShape) Tick(elapsed time.Duration, users int) (workload.Target, bool, error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.thread == nil {
		sh.thread = &starlark.Thread{Name: "shape", Print: func(*starlark.Thread, string) {}}
		setRand(sh.thread, newRand(0, -2))
		limitThread(sh.thread, sh.s.opts.MaxSteps, sh.s.opts.MaxCallDepth)
	}
	resetSteps(sh.thread, sh.s.opts.MaxSteps)
	args := starlark.Tuple{starlark.Float(elapsed.Seconds())}
	if sh.fn.NumParams() == 2 {
		args = append(args, starlark.MakeInt(users))
	}
	v, err := callSafe(sh.thread, sh.fn, args)
	if err != nil {
		return workload.Target{}, false, fmt.Errorf("shape: %w", loadError(err))
	}
	t, done, err := sh.target(v)
	if err != nil {
		return workload.Target{}, false, fmt.Errorf("%s: shape returned %s: %v", sh.fn.Position(), v, err)
	}
	return t, done, nil
}

// target reads None, (users, spawn_rate) or (users, spawn_rate, classes).
func (sh *scriptShape) target(v starlark.Value) (workload.Target, bool, error) {
	if v == starlark.None {
		return workload.Target{}, true, nil
	}
	tup, ok := v.(starlark.Tuple)
	if !ok {
		if l, isList := v.(*starlark.List); isList {
			for i := 0; i < l.Len(); i++ {
				tup = append(tup, l.Index(i))
			}
			ok = true
		}
	}
	if !ok || len(tup) < 2 || len(tup) > 3 {
		return workload.Target{}, false, errors.New("want None, (users, spawn_rate) or (users, spawn_rate, classes)")
	}
	users, err := starlark.AsInt32(tup[0])
	if err != nil || users < 0 {
		return workload.Target{}, false, fmt.Errorf("users must be a whole number >= 0, got %s", tup[0])
	}
	rate, ok := starlark.AsFloat(tup[1])
	if !ok || !(rate > 0) || math.IsInf(rate, 0) {
		return workload.Target{}, false, fmt.Errorf("spawn_rate must be a number > 0, got %s", tup[1])
	}
	t := workload.Target{Users: users, SpawnRate: rate}
	if len(tup) == 3 {
		switch c := tup[2].(type) {
		case starlark.NoneType:
		case *starlark.Dict:
			t.Classes = make(map[string]int, c.Len())
			sum := 0
			for _, kv := range c.Items() {
				name, err := sh.className(kv[0])
				if err != nil {
					return t, false, err
				}
				n, err := starlark.AsInt32(kv[1])
				if err != nil || n < 0 {
					return t, false, fmt.Errorf("the count of class %s must be a whole number >= 0, got %s", name, kv[1])
				}
				t.Classes[name] = n
				sum += n
			}
			if sum != users {
				return t, false, fmt.Errorf("the class counts add up to %d, not to users=%d", sum, users)
			}
		case *starlark.List, starlark.Tuple:
			it := starlark.Iterate(c)
			var x starlark.Value
			for it.Next(&x) {
				name, err := sh.className(x)
				if err != nil {
					it.Done()
					return t, false, err
				}
				t.Only = append(t.Only, name)
			}
			it.Done()
			sort.Strings(t.Only)
			if len(t.Only) == 0 {
				return t, false, errors.New("the list of classes is empty")
			}
		default:
			return t, false, fmt.Errorf("classes must be a dict {class: count} or a list of classes, got %s", tup[2].Type())
		}
	}
	return t, false, nil
}

func (sh *scriptShape) className(v starlark.Value) (string, error) {
	name := ""
	switch x := v.(type) {
	case *UserClass:
		name = x.Name
	case starlark.String:
		name = string(x)
	default:
		return "", fmt.Errorf("a class must be a user class or its name, got %s", v.Type())
	}
	if sh.s.Class(name) == nil {
		return "", fmt.Errorf("%q is not a user class of the script", name)
	}
	return name, nil
}
