package stats

import "time"

// ErrorKey groups failures the way Locust does: by method, name and error.
type ErrorKey struct {
	Method string
	Name   string
	Error  string
}

// ExceptionKey groups script errors by message and Starlark backtrace.
type ExceptionKey struct {
	Message   string
	Traceback string
}

// Delta is what happened during one interval. Deltas merge exactly, which
// is what lets workers ship them to a master without losing precision.
type Delta struct {
	Start, End time.Time
	Entries    map[Key]*Entry
	Errors     map[ErrorKey]int64
	Exceptions map[ExceptionKey]int64
	// Dropped counts open-model iterations that could not be started
	// because the queue in front of the user pool was full.
	Dropped int64
	// Truncated counts response bodies cut at --max-body.
	Truncated int64
}

// NewDelta returns an empty delta starting at start.
func NewDelta(start time.Time) *Delta {
	return &Delta{
		Start:      start,
		Entries:    make(map[Key]*Entry),
		Errors:     make(map[ErrorKey]int64),
		Exceptions: make(map[ExceptionKey]int64),
	}
}

// Empty reports whether nothing was recorded.
func (d *Delta) Empty() bool {
	return len(d.Entries) == 0 && len(d.Errors) == 0 && len(d.Exceptions) == 0 && d.Dropped == 0 && d.Truncated == 0
}

// Requests is the number of requests in the delta.
func (d *Delta) Requests() int64 {
	var n int64
	for _, e := range d.Entries {
		n = AddCounts(n, e.Requests)
	}
	return n
}

// Merge adds o into d and widens d's interval to cover o's.
func (d *Delta) Merge(o *Delta) {
	if d.Start.IsZero() || (!o.Start.IsZero() && o.Start.Before(d.Start)) {
		d.Start = o.Start
	}
	if o.End.After(d.End) {
		d.End = o.End
	}
	for k, e := range o.Entries {
		d.entry(k).Merge(e)
	}
	for k, n := range o.Errors {
		d.Errors[k] = AddCounts(d.Errors[k], n)
	}
	for k, n := range o.Exceptions {
		d.Exceptions[k] = AddCounts(d.Exceptions[k], n)
	}
	d.Dropped = AddCounts(d.Dropped, o.Dropped)
	d.Truncated = AddCounts(d.Truncated, o.Truncated)
}

func (d *Delta) entry(k Key) *Entry {
	e := d.Entries[k]
	if e == nil {
		e = NewEntry()
		d.Entries[k] = e
	}
	return e
}
