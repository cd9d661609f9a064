package workload

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestIterationsExact(t *testing.T) {
	for _, n := range []int64{0, 1, 7, 1000} {
		var fired atomic.Int32
		done := make(chan struct{})
		it := NewIterations(n, func() { fired.Add(1); close(done) })
		var ran atomic.Int64
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for it.Take() {
					ran.Add(1)
					it.Finish()
				}
			}()
		}
		wg.Wait()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("n=%d: OnDone not called", n)
		}
		if ran.Load() != n || it.Done() != n || fired.Load() != 1 {
			t.Errorf("n=%d: ran %d, done %d, fired %d", n, ran.Load(), it.Done(), fired.Load())
		}
	}
	var none *Iterations
	if !none.Take() || none.Done() != 0 {
		t.Error("a nil budget limits")
	}
	none.Finish()
}
