package script

import (
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/workload"
)

func loadWorkload(t *testing.T, src string) *Script {
	t.Helper()
	s, err := LoadFiles("w.star", map[string][]byte{"w.star": []byte("def t(u):\n    pass\na = user(tasks=[t])\nb = user(tasks=[t])\n" + src)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestWorkloadGlobals(t *testing.T) {
	s := loadWorkload(t, `
stages = [stage(duration="1m", users=10), stage(duration=30, users=40, spawn_rate=2), stage(duration="10s", users=0)]
`)
	want := []workload.Stage{{Duration: time.Minute, Users: 10, SpawnRate: 1}, {Duration: 30 * time.Second, Users: 40, SpawnRate: 2}, {Duration: 10 * time.Second, Users: 0, SpawnRate: 4}}
	if len(s.Workload.Stages) != 3 {
		t.Fatalf("stages %v", s.Workload.Stages)
	}
	for i, st := range s.Workload.Stages {
		if st != want[i] {
			t.Errorf("stage %d = %+v, want %+v", i, st, want[i])
		}
	}
	if s.Workload.Open() {
		t.Error("closed script reported as open")
	}

	s = loadWorkload(t, `
arrival_rate = "30/m"
arrival_stages = [arrival_stage(duration="1m", rate=100), arrival_stage(duration=0, rate="2/100ms")]
max_users = 50
`)
	w := s.Workload
	if !w.Open() || w.ArrivalRate != 0.5 || !w.ArrivalRateSet || w.MaxUsers != 50 || len(w.ArrivalStages) != 2 || w.ArrivalStages[1].Rate != 20 {
		t.Errorf("open workload %+v", w)
	}
}

func TestShapeFunction(t *testing.T) {
	s := loadWorkload(t, `
def shape(t, users):
    if t < 1:
        return (2, 5)
    if t < 2:
        return [3, 1.5, {"a": 1, "b": 2}]
    if t < 3:
        return (4, 1, [b, "a"])
    if t < 4:
        return (users + 1, 1)
    return None
`)
	sh := s.Workload.Shape
	if sh == nil {
		t.Fatal("no shape")
	}
	tests := []struct {
		at    time.Duration
		users int
		want  workload.Target
		done  bool
	}{
		{0, 0, workload.Target{Users: 2, SpawnRate: 5}, false},
		{1500 * time.Millisecond, 0, workload.Target{Users: 3, SpawnRate: 1.5, Classes: map[string]int{"a": 1, "b": 2}}, false},
		{2500 * time.Millisecond, 0, workload.Target{Users: 4, SpawnRate: 1, Only: []string{"a", "b"}}, false},
		{3500 * time.Millisecond, 7, workload.Target{Users: 8, SpawnRate: 1}, false},
		{4 * time.Second, 0, workload.Target{}, true},
	}
	for _, tt := range tests {
		got, done, err := sh.Tick(tt.at, tt.users)
		if err != nil || done != tt.done || !got.Equal(tt.want) {
			t.Errorf("Tick(%v, %d) = %+v, %v, %v; want %+v, %v", tt.at, tt.users, got, done, err, tt.want, tt.done)
		}
	}
	bad := loadWorkload(t, "def shape(t):\n    return (3, 1, {\"a\": 1})\n")
	if _, _, err := bad.Workload.Shape.Tick(0, 0); err == nil {
		t.Error("class counts not adding up to users accepted")
	}
}

// Numbers in the workload globals get the command line's bounds.
func TestWorkloadRefusesAbsurdNumbers(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`stages = [stage(duration=float("inf"), users=1)]`, "must be a number of seconds"},
		{`stages = [stage(duration=1e300, users=1)]`, "must be a number of seconds"},
		{`stages = [stage(duration="1m", users=100000000000)]`, "users must be a whole number from 0 to 10000000"},
		{`stages = [stage(duration="1m", users=1, spawn_rate=float("nan"))]`, "spawn_rate must be a number above 0"},
		{`stages = [stage(duration="1m", users=1, spawn_rate=1e300)]`, "spawn_rate must be a number above 0 and at most 10000000"},
		{`arrival_rate = float("inf")`, "must be a number from 0 to 10000000"},
		{`arrival_rate = 1e12`, "must be a number from 0 to 10000000"},
		{`arrival_stages = [arrival_stage(duration=float("nan"), rate=1)]`, "must be a number of seconds"},
	} {
		_, err := LoadFiles("w.star", map[string][]byte{"w.star": []byte("def t(u):\n    pass\na = user(tasks=[t])\n" + tc.src + "\n")}, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.src, err, tc.want)
		}
	}
}
