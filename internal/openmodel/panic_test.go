package openmodel

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/workload"
)

// A panic while a user runs an iteration is that user's exception and
// ends that user alone: the schedule goes on with new users, every
// iteration that did not panic is sent, and the process keeps running.
func TestPanicInIteration(t *testing.T) {
	tg := newTarget(t)
	sc := loadScript(t, oneGet, map[string]string{"path": "/p"})
	var n atomic.Int64
	s, d := run(t, Config{Script: sc, Host: tg.URL, Schedule: workload.Constant(100), End: time.Second, MaxUsers: 20,
		OnIteration: func(time.Time, time.Time) {
			if n.Add(1)%10 == 0 {
				panic("iteration bug")
			}
		}}, nil)
	if len(d.Exceptions) != 1 {
		t.Fatalf("exceptions %v, want one row", d.Exceptions)
	}
	for k, c := range d.Exceptions {
		if k.Message != "panic: iteration bug" || c != 10 || !strings.Contains(k.Traceback, "openmodel.(*Scheduler).iterate") {
			t.Errorf("exception %q x%d:\n%s", k.Message, c, k.Traceback)
		}
	}
	if got := tg.count("/p"); got != 90 || d.Requests() != 90 {
		t.Errorf("target counted %d requests, stats %d; want 90 (100 due, 10 panicked)", got, d.Requests())
	}
	if st := s.Status(); st.Users != 0 {
		t.Errorf("%d users left after the stop", st.Users)
	}
}
