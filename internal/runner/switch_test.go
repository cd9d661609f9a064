package runner

import (
	"sync/atomic"
	"testing"
	"time"
)

// A switch from one class to another (a load shape's next stage) at a
// low spawn rate never runs more users than the total target: the old
// class's users stop as the new ones start, and the peak is what ran.
func TestClassSwitchNeverExceedsTarget(t *testing.T) {
	r := start(t, Config{Script: load(t, idle)})
	r.SetTargets(map[string]int{"a": 6}, 100)
	waitFor(t, 5*time.Second, "6 users of a", func() bool { return r.UsersByClass()["a"] == 6 })
	var most atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for r.UsersByClass()["b"] < 6 {
			if n := int64(r.Users()); n > most.Load() {
				most.Store(n)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	begin := time.Now()
	r.SetTargets(map[string]int{"a": 0, "b": 6}, 10)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the switch did not finish")
	}
	if most.Load() > 6 {
		t.Errorf("%d users ran during the switch; the target total is 6", most.Load())
	}
	// 6 starts at 10/s: about 0.5 s, not twice that (stops are not paced)
	if el := time.Since(begin); el > 2*time.Second {
		t.Errorf("the switch took %v", el)
	}
	waitFor(t, time.Second, "a to be empty", func() bool { return r.UsersByClass()["a"] == 0 })
	if p := r.PeakUsers(); p != 6 {
		t.Errorf("PeakUsers() = %d, want 6", p)
	}
	// a partial switch with a larger total: the total target is reached
	// by starting, then the rest are swapped
	r.SetTargets(map[string]int{"a": 4, "b": 4}, 50)
	waitFor(t, 5*time.Second, "4 + 4", func() bool { c := r.UsersByClass(); return c["a"] == 4 && c["b"] == 4 })
	if p := r.PeakUsers(); p != 8 {
		t.Errorf("PeakUsers() = %d, want 8", p)
	}
}
