package gcfloor

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const mb = 1 << 20
	for _, tc := range []struct {
		live uint64
		want int
	}{
		{0, 100},              // nothing measured yet: the default
		{4 * mb, 700},         // next collection at 32 MB
		{8 * mb, 300},         // at 32 MB
		{16 * mb, 100},        // twice the live heap reaches the floor: default
		{60 * mb, 100},        // many users: unchanged
		{1 << 10, maxPercent}, // a tiny heap: bounded
	} {
		if got := Percent(tc.live, 32*mb); got != tc.want {
			t.Errorf("Percent(%d MB) = %d, want %d", tc.live/mb, got, tc.want)
		}
	}
}

func gogc() uint64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestRunRaisesAndRestores: with this test binary's small heap, Run raises
// GOGC, and puts back the default when its context ends.
func TestRunRaisesAndRestores(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	runtime.GC()
	defer debug.SetGCPercent(100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Run(ctx, 10*time.Millisecond); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for gogc() == 100 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := gogc(); got <= 100 {
		t.Errorf("GOGC %d with a small heap, want more than 100", got)
	}
	cancel()
	<-done
	if got := gogc(); got != 100 {
		t.Errorf("GOGC %d after Run ended, want 100", got)
	}
}

func TestUserSettingWins(t *testing.T) {
	t.Setenv("GOGC", "50")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	before := gogc()
	Run(ctx, time.Millisecond) // returns at once
	if ctx.Err() != nil {
		t.Error("Run waited for its context although GOGC is set")
	}
	if gogc() != before {
		t.Errorf("GOGC changed from %d to %d although the user set it", before, gogc())
	}
}
