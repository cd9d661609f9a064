package memguard

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCgroupLimit(t *testing.T) {
	for _, tc := range []struct {
		name, cgroup, file, value string
		want                      int64
	}{
		{"v2", "0::/app.slice/x\n", "sys/fs/cgroup/app.slice/x/memory.max", "536870912\n", 512 << 20},
		{"v2 max", "0::/x\n", "sys/fs/cgroup/x/memory.max", "max\n", 0},
		{"v1", "4:memory:/docker/abc\n1:cpu:/\n", "sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "1073741824", 1 << 30},
		{"v1 joined controllers", "3:memory,hugetlb:/k\n", "sys/fs/cgroup/memory/k/memory.limit_in_bytes", "2048", 2048},
		{"v1 unlimited", "4:memory:/\n", "sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712", 0},
		{"none", "1:cpu:/\n", "sys/fs/cgroup/cpu/x", "1", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			write(t, filepath.Join(root, "proc/self/cgroup"), tc.cgroup)
			write(t, filepath.Join(root, tc.file), tc.value)
			if got := CgroupLimit(root); got != tc.want {
				t.Errorf("CgroupLimit = %d, want %d", got, tc.want)
			}
		})
	}
	if got := CgroupLimit(t.TempDir()); got != 0 {
		t.Errorf("no /proc: %d", got)
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The guard fires once while use stays over the limit, and never when
// the limit is far above.
func TestWatch(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "off") // leave the runtime's soft limit alone
	var fired []int64
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	Watch(ctx, 1, time.Millisecond, func(used int64) { fired = append(fired, used) })
	if len(fired) != 1 || fired[0] <= 1 {
		t.Errorf("fired %v; want once, with what was used", fired)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	Watch(ctx, 1<<50, time.Millisecond, func(int64) { t.Error("fired below the limit") })
}
