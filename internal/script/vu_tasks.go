package script

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"go.starlark.net/starlark"
)

// frame is a task list the user is running: the class's own, or a task
// set it entered.
type frame struct {
	set  *TaskSet
	next int // position in set.order, for a sequential set
}

// errLeave is raised by u.interrupt(): the task ends there and the user
// leaves its task set (Locust's InterruptTaskSet).
var errLeave = errors.New("u.interrupt(): leaving the task set")

// current is the innermost task list the user is in.
func (v *VU) current() *frame {
	if n := len(v.stack); n > 0 {
		return &v.stack[n-1]
	}
	return &v.root
}

// pick chooses the next task of the current list.
func (v *VU) pick() *Task {
	f := v.current()
	s := f.set
	if s.Sequential {
		i := s.order[f.next]
		if f.next++; f.next == len(s.order) {
			f.next = 0
		}
		return &s.Tasks[i]
	}
	if len(s.Tasks) == 1 {
		return &s.Tasks[0]
	}
	r := v.rng.IntN(s.cum[len(s.cum)-1])
	for i, w := range s.cum {
		if r < w {
			return &s.Tasks[i]
		}
	}
	return &s.Tasks[len(s.Tasks)-1]
}

// runNext runs the next task function, entering the task sets picked on
// the way to it (a set's first task runs at once, with no wait, as in
// Locust), and leaves the set when the task called u.interrupt().
func (v *VU) runNext(ctx context.Context) {
	t := v.pick()
	for t.Set != nil {
		if !v.enter(ctx, t.Set) {
			return
		}
		t = v.pick()
	}
	if v.call(ctx, t.Fn) == left {
		v.skipWait = v.reschedule
		v.leave(ctx)
	}
}

// enter pushes s and runs its on_start. A set whose on_start did not
// return (it raised, interrupted, or the user is stopping) is not
// entered and its on_stop does not run, as in Locust.
func (v *VU) enter(ctx context.Context, s *TaskSet) bool {
	v.stack = append(v.stack, frame{set: s})
	if s.OnStart == nil {
		return true
	}
	o := v.call(ctx, s.OnStart)
	if o == returned {
		return true
	}
	v.pop()
	if o == left {
		v.skipWait = v.reschedule
	}
	return false
}

// leave pops the innermost set and runs its on_stop.
func (v *VU) leave(ctx context.Context) {
	s := v.pop()
	if s.OnStop != nil {
		v.noLeave = true
		v.call(ctx, s.OnStop)
		v.noLeave = false
	}
}

func (v *VU) pop() *TaskSet {
	n := len(v.stack) - 1
	s := v.stack[n].set
	v.stack[n] = frame{}
	v.stack = v.stack[:n]
	return s
}

// NextWait is the wait after a task that took taskTime: none after
// u.interrupt(reschedule=True), else the wait time of the innermost set
// that has one, else the class's (Locust's TaskSet.wait_time falls back
// to the user's, not to the parent set's).
func (v *VU) NextWait(ctx context.Context, taskTime time.Duration) time.Duration {
	if v.skipWait {
		v.skipWait = false
		return 0
	}
	w := v.Class.Wait
	if n := len(v.stack); n > 0 && v.stack[n-1].set.Wait != nil {
		w = v.stack[n-1].set.Wait
	}
	if w.Kind != WaitFunc {
		return w.Next(v.rng, taskTime)
	}
	return v.waitFunc(ctx, w.Fn)
}

// maxSeconds bounds a wait or sleep (about 31 years) so that converting
// it to a time.Duration cannot overflow.
const maxSeconds = 1e9

// waitSeconds reads a wait or sleep: a finite number of seconds >= 0,
// capped at maxSeconds; ok is false for anything else.
func waitSeconds(v starlark.Value) (d time.Duration, ok bool) {
	f, ok := starlark.AsFloat(v)
	if !ok || math.IsNaN(f) || f < 0 || math.IsInf(f, 0) {
		return 0, false
	}
	return time.Duration(min(f, maxSeconds) * float64(time.Second)), true
}

// waitFunc calls a wait_time function. A result that is not a finite
// number >= 0 is recorded as an exception naming the function, and the
// user does not wait.
func (v *VU) waitFunc(ctx context.Context, fn starlark.Callable) time.Duration {
	v.noLeave = true
	res, o := v.invoke(ctx, fn)
	v.noLeave = false
	if o != returned {
		return 0
	}
	d, ok := waitSeconds(res)
	if !ok {
		pos := ""
		if sf, ok := fn.(*starlark.Function); ok {
			pos = sf.Position().String() + ": "
		}
		v.shard.Exception(fmt.Sprintf("%swait_time function %s returned %s: want a finite number of seconds >= 0", pos, fn.Name(), res), "")
		return 0
	}
	return d
}

// interruptBuiltin is u.interrupt(reschedule=True).
func (v *VU) interruptBuiltin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	reschedule := true
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "reschedule?", &reschedule); err != nil {
		return nil, err
	}
	if len(v.stack) == 0 || v.noLeave {
		return nil, errors.New("no task set to leave here: u.interrupt() leaves a taskset(...) for its parent, called from one of the set's tasks or its on_start (not from a user's own tasks, an on_stop or a wait_time function; to end a task early, return)")
	}
	v.reschedule = reschedule
	return nil, errLeave
}

// sleepBuiltin is u.sleep(seconds): it pauses the user inside a task,
// and raises the interrupt (ending the task) as soon as the user is
// stopped.
//
// The goroutine blocks in a select on a timer and the user's done
// channel: the Go scheduler parks it, so a sleeping user holds no OS
// thread, only its goroutine's stack, however long the sleep. That is
// what the runner's parking between tasks saves too, and a sleep inside
// a task cannot end the goroutine (the Starlark call is on its stack).
func (v *VU) sleepBuiltin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var secs starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &secs); err != nil {
		return nil, err
	}
	d, ok := waitSeconds(secs)
	if !ok {
		return nil, fmt.Errorf("seconds must be a finite number >= 0, got %s", secs)
	}
	var ctxDone <-chan struct{}
	if v.ctx != nil {
		ctxDone = v.ctx.Done()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return starlark.None, nil
	case <-v.done:
	case <-ctxDone:
		v.Interrupt()
	}
	return nil, errInterrupted
}
