package script

import (
	"errors"
	"fmt"
	"sync/atomic"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// The module is frozen once loaded, so what users share and change goes
// through these Go values: their state is atomic, not Starlark's.

// Partition is this process's share of every shared.queue in a
// distributed test: the items i with i % Count == Index. A zero
// Partition is the whole queue (a local test); Index < 0 is none (a
// worker that joined after the items were shared out).
type Partition struct{ Index, Count int }

// resetter is a shared value that starts afresh with every test.
type resetter interface{ reset(Partition) }

// StartTest gets the script's shared values ready for a new test: queues
// start from their first item, restricted to p; counters go back to their
// start. Call it before any user of the test runs.
func (s *Script) StartTest(p Partition) {
	if p.Count <= 0 {
		p = Partition{Index: 0, Count: 1}
	}
	s.part = p
	for _, r := range s.shared {
		r.reset(p)
	}
}

func sharedModule() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "shared", Members: starlark.StringDict{
		"queue":   starlark.NewBuiltin("shared.queue", newQueue),
		"counter": starlark.NewBuiltin("shared.counter", newCounter),
	}}
}

// queueValue is what shared.queue(items, cycle=True) returns.
type queueValue struct {
	items []starlark.Value
	cycle bool
	next  *starlark.Builtin
	// part is set by StartTest before users run, and only read after.
	part Partition
	pos  atomic.Int64
}

var _ starlark.HasAttrs = (*queueValue)(nil)

func newQueue(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var items starlark.Iterable
	cycle := true
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "items", &items, "cycle?", &cycle); err != nil {
		return nil, err
	}
	ld, err := topLevel(t, b.Name())
	if err != nil {
		return nil, err
	}
	q := &queueValue{cycle: cycle, part: Partition{Index: 0, Count: 1}}
	it := items.Iterate()
	defer it.Done()
	var x starlark.Value
	for it.Next(&x) {
		x.Freeze()
		q.items = append(q.items, x)
	}
	if len(q.items) == 0 {
		return nil, fmt.Errorf("%s: no items: a queue needs at least one", b.Name())
	}
	q.next = starlark.NewBuiltin("next", q.nextItem)
	ld.l.shared = append(ld.l.shared, q)
	return q, nil
}

func (q *queueValue) String() string {
	return fmt.Sprintf("<shared.queue %d items, cycle=%t>", len(q.items), q.cycle)
}
func (q *queueValue) Type() string          { return "shared.queue" }
func (q *queueValue) Freeze()               {}
func (q *queueValue) Truth() starlark.Bool  { return true }
func (q *queueValue) Hash() (uint32, error) { return 0, errors.New("unhashable: shared.queue") }
func (q *queueValue) AttrNames() []string   { return []string{"next"} }
func (q *queueValue) Attr(name string) (starlark.Value, error) {
	if name == "next" {
		return q.next, nil
	}
	return nil, nil
}

func (q *queueValue) reset(p Partition) {
	q.part = p
	q.pos.Store(0)
}

// mine is how many items the partition holds.
func (q *queueValue) mine() int64 {
	p := q.part
	if p.Index < 0 || p.Index >= len(q.items) {
		return 0
	}
	return int64((len(q.items) - p.Index + p.Count - 1) / p.Count)
}

// nextItem hands out the partition's items in order, each to one caller;
// with cycle it starts over after the last, without it returns None.
func (q *queueValue) nextItem(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	n := q.mine()
	if n == 0 {
		if !q.cycle {
			return starlark.None, nil
		}
		return nil, fmt.Errorf("shared.queue: this worker has no items of the queue (%d items shared by %d workers, or it joined after they were shared out; see docs/distributed.md)",
			len(q.items), q.part.Count)
	}
	k := q.pos.Add(1) - 1
	if k >= n {
		if !q.cycle {
			q.pos.Store(n) // keep the position from growing without bound
			return starlark.None, nil
		}
		k %= n
	}
	return q.items[q.part.Index+int(k)*q.part.Count], nil
}

// counterValue is what shared.counter(start=0) returns.
type counterValue struct {
	start    int64
	n        atomic.Int64
	add, val *starlark.Builtin
}

var _ starlark.HasAttrs = (*counterValue)(nil)

func newCounter(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var start int64
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "start?", &start); err != nil {
		return nil, err
	}
	ld, err := topLevel(t, b.Name())
	if err != nil {
		return nil, err
	}
	c := &counterValue{start: start}
	c.n.Store(start)
	c.add = starlark.NewBuiltin("add", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		n := int64(1)
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "n?", &n); err != nil {
			return nil, err
		}
		return starlark.MakeInt64(c.n.Add(n)), nil
	})
	c.val = starlark.NewBuiltin("value", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
			return nil, err
		}
		return starlark.MakeInt64(c.n.Load()), nil
	})
	ld.l.shared = append(ld.l.shared, c)
	return c, nil
}

func (c *counterValue) String() string        { return fmt.Sprintf("<shared.counter %d>", c.n.Load()) }
func (c *counterValue) Type() string          { return "shared.counter" }
func (c *counterValue) Freeze()               {}
func (c *counterValue) Truth() starlark.Bool  { return true }
func (c *counterValue) Hash() (uint32, error) { return 0, errors.New("unhashable: shared.counter") }
func (c *counterValue) AttrNames() []string   { return []string{"add", "value"} }
func (c *counterValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "add":
		return c.add, nil
	case "value":
		return c.val, nil
	}
	return nil, nil
}

func (c *counterValue) reset(Partition) { c.n.Store(c.start) }
