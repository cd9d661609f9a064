package workload

import (
	"sync"
	"sync/atomic"
)

// Iterations is a test's budget of task executions (-i/--iterations) in
// one process. Every user takes one before each task and finishes it
// after; once as many have finished as the budget holds, OnDone is
// called (once, on its own goroutine). A nil *Iterations is no budget.
type Iterations struct {
	total  int64
	left   atomic.Int64
	done   atomic.Int64
	once   sync.Once
	onDone func()
}

// NewIterations returns a budget of n task executions. A budget of 0 is
// done at once (a worker whose share is nothing).
func NewIterations(n int64, onDone func()) *Iterations {
	it := &Iterations{total: max(n, 0), onDone: onDone}
	it.left.Store(it.total)
	if it.total == 0 {
		it.fire()
	}
	return it
}

// Take reserves one task execution; false means the budget is spent and
// the user must run no more tasks.
func (it *Iterations) Take() bool {
	return it == nil || it.left.Add(-1) >= 0
}

// Finish records that a task taken with Take has ended.
func (it *Iterations) Finish() {
	if it != nil && it.done.Add(1) == it.total {
		it.fire()
	}
}

// Done is the number of task executions that have ended.
func (it *Iterations) Done() int64 {
	if it == nil {
		return 0
	}
	return it.done.Load()
}

func (it *Iterations) fire() {
	it.once.Do(func() {
		if it.onDone != nil {
			go it.onDone()
		}
	})
}
