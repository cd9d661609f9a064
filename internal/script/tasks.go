package script

import (
	"fmt"
	"slices"
	"strings"

	"go.starlark.net/starlark"
)

// Task is one entry of a task list: a function, or a task set the user
// enters when it is picked (Locust's nested TaskSet).
type Task struct {
	Name string
	Fn   starlark.Callable // nil when Set is not
	Set  *TaskSet
	// Weight is the task's share of its list (or, in a sequential list,
	// how many times in a row it runs, as Locust's SequentialTaskSet).
	Weight int
	// Tags are the task's own tags, from task(..., tags=); the tags of
	// the sets around it apply too (Locust's @tag on a TaskSet tags all
	// its tasks), see SelectTags.
	Tags []string
}

// TaskSet is a list of tasks with how to run them: taskset(...), and the
// top level of every user class. Once built it is never changed: a tag
// selection makes new ones.
type TaskSet struct {
	Tasks      []Task
	Sequential bool
	// Wait is nil in a task set without its own wait_time: the user's
	// applies (Locust's TaskSet.wait_time defaults to the user's).
	Wait            *WaitTime
	OnStart, OnStop starlark.Callable
	// timed: a wait time of this set or of a set under it is
	// constant_pacing, which needs to know how long each task took
	timed bool

	name  string
	cum   []int // cumulative weights, for weighted picking
	order []int // task indices in sequence, each repeated by its weight
}

// TotalTaskWeight is the sum of the task weights.
func (s *TaskSet) TotalTaskWeight() int {
	if len(s.cum) == 0 {
		return 0
	}
	return s.cum[len(s.cum)-1]
}

// index precomputes what picking needs (Sequential must be set).
func (s *TaskSet) index() {
	s.cum, s.order = s.cum[:0], s.order[:0]
	total := 0
	for i, t := range s.Tasks {
		total += t.Weight
		s.cum = append(s.cum, total)
		if s.Sequential {
			for range t.Weight {
				s.order = append(s.order, i)
			}
		}
	}
}

// The maximum weight of one task: the sequential order repeats a task
// weight times, so a weight must not be able to allocate without bound.
const maxTaskWeight = 10_000

var _ starlark.Value = (*TaskSet)(nil)

func (s *TaskSet) String() string        { return fmt.Sprintf("<taskset %s>", s.name) }
func (s *TaskSet) Type() string          { return "taskset" }
func (s *TaskSet) Freeze()               {}
func (s *TaskSet) Truth() starlark.Bool  { return true }
func (s *TaskSet) Hash() (uint32, error) { return starlark.String(s.name).Hash() }

// taskValue is what task(fn, weight=, tags=) returns.
type taskValue struct{ t Task }

var _ starlark.Value = (*taskValue)(nil)

func (v *taskValue) String() string        { return fmt.Sprintf("<task %s>", v.t.Name) }
func (v *taskValue) Type() string          { return "task" }
func (v *taskValue) Freeze()               {}
func (v *taskValue) Truth() starlark.Bool  { return true }
func (v *taskValue) Hash() (uint32, error) { return starlark.String(v.t.Name).Hash() }

// newTask is task(fn, weight=1, tags=[]).
func newTask(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		fn     starlark.Value
		weight                = 1
		tags   starlark.Value = starlark.None
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "fn", &fn, "weight?", &weight, "tags?", &tags); err != nil {
		return nil, err
	}
	t, err := asTask("task", fn)
	if err != nil {
		return nil, err
	}
	if weight < 0 || weight > maxTaskWeight {
		return nil, fmt.Errorf("task: weight of %s must be between 0 and %d, got %d", t.Name, maxTaskWeight, weight)
	}
	t.Weight = weight
	if tags != starlark.None {
		names, err := stringList("task: tags", tags)
		if err != nil {
			return nil, err
		}
		t.Tags = appendTags(t.Tags, names...)
	}
	return &taskValue{t}, nil
}

// newTaskSet is taskset(tasks, sequential=False, wait_time=None,
// on_start=None, on_stop=None, name=None).
func newTaskSet(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		tasks           starlark.Value
		sequential      bool
		waitTime        starlark.Value = starlark.None
		onStart, onStop starlark.Value = starlark.None, starlark.None
		name            starlark.Value = starlark.None
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "tasks", &tasks, "sequential?", &sequential,
		"wait_time?", &waitTime, "on_start?", &onStart, "on_stop?", &onStop, "name?", &name); err != nil {
		return nil, err
	}
	s := &TaskSet{Sequential: sequential}
	if err := s.fill("taskset", tasks, waitTime, onStart, onStop); err != nil {
		return nil, err
	}
	n, err := optName("taskset", name)
	if err != nil {
		return nil, err
	}
	if n == "" {
		n = defaultSetName(s.Tasks)
	}
	s.name = n
	return s, nil
}

// fill reads the arguments that user() and taskset() share.
func (s *TaskSet) fill(what string, tasks, waitTime, onStart, onStop starlark.Value) error {
	var err error
	if s.Tasks, err = parseTasks(what, tasks); err != nil {
		return err
	}
	if err := s.finish(what); err != nil {
		return err
	}
	if waitTime != starlark.None {
		if s.Wait, err = parseWait(what, waitTime); err != nil {
			return err
		}
	}
	s.markTimed()
	if s.OnStart, err = optCallable(what, "on_start", onStart); err != nil {
		return err
	}
	s.OnStop, err = optCallable(what, "on_stop", onStop)
	return err
}

// optName reads name=: None ("") or a non-empty string.
func optName(what string, v starlark.Value) (string, error) {
	if v == starlark.None {
		return "", nil
	}
	n, ok := starlark.AsString(v)
	if !ok || n == "" {
		return "", fmt.Errorf("%s: name must be a non-empty string", what)
	}
	return n, nil
}

// defaultSetName names an unnamed task set after its first tasks.
func defaultSetName(tasks []Task) string {
	names := make([]string, 0, 3)
	for i, t := range tasks {
		if i == 3 {
			names = append(names, "…")
			break
		}
		names = append(names, t.Name)
	}
	return "taskset[" + strings.Join(names, ",") + "]"
}

// markTimed sets timed, once Wait and the tasks are known.
func (s *TaskSet) markTimed() {
	s.timed = s.Wait != nil && s.Wait.Kind == WaitPacing
	for _, t := range s.Tasks {
		s.timed = s.timed || t.Set != nil && t.Set.timed
	}
}

// finish checks a task list can run and indexes it.
func (s *TaskSet) finish(what string) error {
	s.index()
	if s.TotalTaskWeight() == 0 {
		return fmt.Errorf("%s: needs at least one task with a positive weight", what)
	}
	return nil
}

// parseTasks reads tasks=: a function, task(...) or taskset(...); a list
// of those; or a dict of those to weights.
func parseTasks(what string, v starlark.Value) ([]Task, error) {
	var out []Task
	switch v := v.(type) {
	case *starlark.Dict:
		for _, item := range v.Items() {
			t, err := asTask(what, item[0])
			if err != nil {
				return nil, fmt.Errorf("%w (as a key of the tasks dict)", err)
			}
			w, err := starlark.AsInt32(item[1])
			if err != nil || w < 0 || w > maxTaskWeight {
				return nil, fmt.Errorf("%s: weight of task %s must be an int between 0 and %d, got %s", what, t.Name, maxTaskWeight, item[1])
			}
			t.Weight = w
			out = append(out, t)
		}
	case *starlark.List, starlark.Tuple:
		it := starlark.Iterate(v)
		defer it.Done()
		var x starlark.Value
		for it.Next(&x) {
			t, err := asTask(what, x)
			if err != nil {
				return nil, err
			}
			out = append(out, t)
		}
	default:
		t, err := asTask(what, v)
		if err != nil {
			return nil, fmt.Errorf("%s: tasks must be a function, task(...), taskset(...), a list of those or a dict {task: weight}, got %s", what, v.Type())
		}
		out = []Task{t}
	}
	return out, nil
}

// asTask reads one task: a function (weight 1), task(...) or taskset(...).
func asTask(what string, v starlark.Value) (Task, error) {
	switch v := v.(type) {
	case *taskValue:
		t := v.t
		t.Tags = append([]string(nil), t.Tags...)
		return t, nil
	case *TaskSet:
		return Task{Name: v.name, Set: v, Weight: 1}, nil
	case starlark.Callable:
		return Task{Name: v.Name(), Fn: v, Weight: 1}, nil
	}
	return Task{}, fmt.Errorf("%s: a task must be a function, task(...) or taskset(...), got %s", what, v.Type())
}

// stringList reads a list (or tuple) of non-empty strings.
func stringList(what string, v starlark.Value) ([]string, error) {
	it, ok := v.(starlark.Iterable)
	if _, isStr := v.(starlark.String); isStr || !ok {
		return nil, fmt.Errorf("%s must be a list of strings, got %s", what, v.Type())
	}
	iter := it.Iterate()
	defer iter.Done()
	var out []string
	var x starlark.Value
	for iter.Next(&x) {
		s, ok := starlark.AsString(x)
		if !ok || s == "" {
			return nil, fmt.Errorf("%s must be a list of non-empty strings, got %s", what, x)
		}
		out = append(out, s)
	}
	return out, nil
}

// appendTags adds tags that are not there yet.
func appendTags(to []string, tags ...string) []string {
	for _, t := range tags {
		if !slices.Contains(to, t) {
			to = append(to, t)
		}
	}
	return to
}
