package load

import (
	"errors"
	"fmt"
	"time"

	"github.com/stampede-load/stampede/internal/script"
)

// Class is a kind of user written in Go, with T the type of one user's
// own state (Locust's User subclass and its instance attributes). Every
// virtual user of the class gets a fresh T from New and runs the tasks
// with it.
type Class[T any] struct {
	// Name is the class name in statistics, the web UI, -T/-E and the
	// CLASS arguments of run; it must differ from every other class,
	// Go or Starlark.
	Name string
	// Weight is the class's share of the users (0 means 1), as user(weight=).
	Weight int
	// FixedCount, when > 0, runs exactly this many users of the class
	// whatever the total, as user(fixed_count=).
	FixedCount int
	// Host is the base URL of this class's requests when --host is not
	// given, as user(host=).
	Host string
	// Wait is the pause between two tasks (zero: none, Locust's default).
	Wait Wait
	// Tags apply to every task of the class (-T/--tags, -E/--exclude-tags).
	Tags []string
	// New makes the state of one new user (nil: T's zero value).
	New func() T
	// OnStart runs when a user starts, before its first task; OnStop
	// when it stops (also after an interrupt, so it can log out).
	OnStart, OnStop func(T, *User) error
	// Tasks are picked at random by weight, one after the other with
	// Wait in between. A task that returns an error (or panics) counts
	// as an exception, as a script error does; the user goes on.
	Tasks []Task[T]
}

// Task is one task of a Class.
type Task[T any] struct {
	// Name names the task in the task ratios and in errors.
	Name string
	// Weight is the task's share of the picks (0 means 1).
	Weight int
	// Tags select the task with -T/--tags and -E/--exclude-tags.
	Tags []string
	// Fn is the task: typically a method expression such as
	// (*Shopper).Browse.
	Fn func(T, *User) error
}

// UserClass is a Class of any user type, as Main and Run take it.
type UserClass interface {
	class() (*script.UserClass, error)
}

// instance is one virtual user's T and its *User.
type instance[T any] struct {
	state T
	user  User
}

func (c Class[T]) class() (*script.UserClass, error) {
	what := "Go user class " + c.Name
	if c.Wait.err != nil {
		return nil, fmt.Errorf("%s: Wait: %w", what, c.Wait.err)
	}
	g := script.GoClass{Name: c.Name, Weight: orOne(c.Weight), FixedCount: c.FixedCount, Host: c.Host,
		Wait: c.Wait.w, Tags: c.Tags}
	g.New = func(v *script.VU) any {
		in := &instance[T]{user: User{vu: v}}
		if c.New != nil {
			in.state = c.New()
		}
		return in
	}
	for _, t := range c.Tasks {
		if t.Fn == nil {
			return nil, fmt.Errorf("%s: task %q has no Fn", what, t.Name)
		}
		g.Tasks = append(g.Tasks, script.GoTask{Name: t.Name, Weight: orOne(t.Weight), Tags: t.Tags, Fn: call(t.Fn)})
	}
	if c.OnStart != nil {
		g.OnStart = call(c.OnStart)
	}
	if c.OnStop != nil {
		g.OnStop = call(c.OnStop)
	}
	return script.NewGoClass(g)
}

// call adapts a function of the user's state to the VU that runs it.
func call[T any](fn func(T, *User) error) func(*script.VU) error {
	return func(v *script.VU) error {
		in := v.Native().(*instance[T])
		return fn(in.state, &in.user)
	}
}

func orOne(n int) int {
	if n == 0 {
		return 1
	}
	return n
}

// Wait is the pause of a user between two tasks. The zero Wait is no
// pause.
type Wait struct {
	w   *script.WaitTime
	err error
}

// Constant waits d after every task (Locust's constant).
func Constant(d time.Duration) Wait {
	return wait(script.WaitTime{Kind: script.WaitConstant, Min: d, Max: d})
}

// Between waits a random time from min to max (Locust's between).
func Between(min, max time.Duration) Wait {
	return wait(script.WaitTime{Kind: script.WaitBetween, Min: min, Max: max})
}

// ConstantPacing makes each task start d after the previous one started
// (Locust's constant_pacing): the wait is d minus the task's time.
func ConstantPacing(d time.Duration) Wait {
	return wait(script.WaitTime{Kind: script.WaitPacing, Min: d, Max: d})
}

// ConstantThroughput runs at most perSecond tasks a second per user
// (Locust's constant_throughput).
func ConstantThroughput(perSecond float64) Wait {
	if !(perSecond > 0) || perSecond > 1e9 {
		return Wait{err: fmt.Errorf("ConstantThroughput: tasks per second must be a positive number up to 1e9, got %v", perSecond)}
	}
	return ConstantPacing(time.Duration(float64(time.Second) / perSecond))
}

func wait(w script.WaitTime) Wait {
	if w.Min < 0 || w.Max < w.Min {
		return Wait{err: errors.New("durations must be >= 0 and min <= max, got " + w.String())}
	}
	return Wait{w: &w}
}
