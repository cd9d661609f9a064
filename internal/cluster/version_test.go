package cluster

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestVersionsCompatible(t *testing.T) {
	t.Parallel()
	tests := []struct {
		master, worker string
		ok, same       bool
	}{
		{"v1.2.3", "v1.2.3", true, true},
		{"dev", "dev", true, true},
		{"v1.2.3", "v1.2.4", true, false},
		{"v1.2.3", "1.2.0", true, false},
		{"1.2.3", "v1.2.9-rc.1", true, false},
		{"v1.2.3", "v1.3.0", false, false},
		{"v1.2.3", "v2.2.3", false, false},
		{"v1.2.3", "dev", false, false},
		{"dev", "v1.2.3", false, false},
		{"v1.2", "v1.2.1", false, false},
		{"v1.x.3", "v1.x.4", false, false},
	}
	for _, tc := range tests {
		ok, same := versionsCompatible(tc.master, tc.worker)
		if ok != tc.ok || same != tc.same {
			t.Errorf("versionsCompatible(%q, %q) = %v, %v; want %v, %v", tc.master, tc.worker, ok, same, tc.ok, tc.same)
		}
	}
}

// A worker from another patch release joins; one from another minor
// release is refused with a reason that names both versions.
func TestWorkerVersionPolicy(t *testing.T) {
	t.Parallel()
	m, addr := startMaster(t, MasterConfig{Script: testScript(t), Version: "v1.2.3"})

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	w := NewWorker(WorkerConfig{MasterAddr: addr, ID: "patch", Region: "eu", Version: "v1.2.4", Log: quietLog()})
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	if err := m.WaitWorkers(ctx, 1); err != nil {
		t.Fatalf("a worker of the same major.minor was not accepted: %v", err)
	}
	cancel()
	<-done

	err := runWorker(t, WorkerConfig{MasterAddr: addr, ID: "minor", Region: "eu", Version: "v1.3.0"})
	var rej *RejectedError
	if !errors.As(err, &rej) || !strings.Contains(err.Error(), "worker minor runs stampede v1.3.0, the master runs v1.2.3") {
		t.Fatalf("got %v, want a refusal naming both versions", err)
	}
}
