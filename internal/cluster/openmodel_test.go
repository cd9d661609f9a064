package cluster_test

import (
	"math"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/output"
)

// The open model over two workers: each runs half of the rate, and the
// cluster sends the schedule's count, checked against the target.
func TestOpenModelTwoWorkers(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	script := writeScript(t, testScript)
	port := freePort(t)
	out := filepath.Join(t.TempDir(), "run")
	m := start(t, "master", nil, nil, masterArgs(script, port, tg, out, "--arrival-rate", "300/s", "-t", "5s", "--max-users", "40", "--expect-workers", "2")...)
	a := start(t, "worker-a", nil, nil, workerArgs(port, "eu", "w-a")...)
	b := start(t, "worker-b", nil, nil, workerArgs(port, "us", "w-b")...)
	if code := m.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("master exit code %d", code)
	}
	a.wait(t, 15*time.Second)
	b.wait(t, 15*time.Second)
	doc := readDoc(t, out+".json")
	checkExact(t, doc, tg)
	total := tg.total.Load()
	if math.Abs(float64(total)-1500) > 1500*0.02 {
		t.Errorf("the target saw %d requests, want 1,500 ± 2%%", total)
	}
	for _, id := range []string{"w-a", "w-b"} {
		if n := workerTotal(doc, id); math.Abs(float64(n)-750) > 750*0.05 {
			t.Errorf("%s sent %d, want half of the rate (750 ± 5%%)", id, n)
		}
	}
	if doc.Run.Model != output.ModelOpen || doc.Run.ArrivalRate != "300/s" || doc.Run.Users != 40 {
		t.Errorf("run info %+v", doc.Run)
	}
	if doc.Stats.Total.Service == nil {
		t.Error("no service times from the workers")
	}
}

// A worker lost during an open-model test: its share moves to the other
// worker, so the cluster's rate returns to the target.
func TestOpenModelRebalance(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	script := writeScript(t, testScript)
	port := freePort(t)
	out := filepath.Join(t.TempDir(), "run")
	m := start(t, "master", nil, nil, masterArgs(script, port, tg, out, "--arrival-rate", "200/s", "-t", "10s", "--expect-workers", "2")...)
	a := start(t, "worker-a", nil, nil, workerArgs(port, "eu", "w-a")...)
	waitFor(t, 20*time.Second, "w-a to connect", func() bool { return strings.Contains(m.stderr.String(), "worker=w-a") })
	b := start(t, "worker-b", nil, nil, workerArgs(port, "us", "w-b")...)
	waitFor(t, 20*time.Second, "load from w-b", func() bool {
		n, _ := tg.workerCount(1, time.Time{}, time.Now())
		return n > 50
	})
	time.Sleep(time.Second)
	now := time.Now()
	_, beforeA := tg.workerCount(0, now.Add(-time.Second), now)
	killedAt := time.Now()
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	b.wait(t, 10*time.Second)
	// missing after 3 s, then the shares are recomputed
	waitFor(t, 15*time.Second, "w-b to be marked missing", func() bool { return strings.Contains(m.stderr.String(), "worker missing") })
	time.Sleep(1500 * time.Millisecond)
	now = time.Now()
	_, afterA := tg.workerCount(0, now.Add(-time.Second), now)
	if code := m.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("master exit %d", code)
	}
	a.wait(t, 15*time.Second)
	if math.Abs(float64(beforeA)-100) > 20 {
		t.Errorf("w-a sent %d/s with two workers, want 100 (half of 200/s)", beforeA)
	}
	if math.Abs(float64(afterA)-200) > 30 {
		t.Errorf("w-a sent %d/s after w-b was lost, want the whole 200/s", afterA)
	}
	doc := readDoc(t, out+".json")
	if len(doc.Lost) != 1 || doc.Lost[0].ID != "w-b" || doc.Lost[0].LostAt.Before(killedAt) {
		t.Errorf("lost: %+v", doc.Lost)
	}
	t.Logf("w-a: %d/s before, %d/s after the loss", beforeA, afterA)
}

// Stages over a cluster: the shape drives the master, which places the
// users on the workers, and ends the test.
func TestStagesDistributed(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	script := writeScript(t, testScript)
	port := freePort(t)
	out := filepath.Join(t.TempDir(), "run")
	m := start(t, "master", nil, nil, masterArgs(script, port, tg, out, "--stages", "2s:4:50,2s:8:50", "--expect-workers", "2")...)
	a := start(t, "worker-a", nil, nil, workerArgs(port, "eu", "w-a")...)
	b := start(t, "worker-b", nil, nil, workerArgs(port, "us", "w-b")...)
	if code := m.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("master exit code %d", code)
	}
	a.wait(t, 15*time.Second)
	b.wait(t, 15*time.Second)
	doc := readDoc(t, out+".json")
	checkExact(t, doc, tg)
	if doc.Run.StopReason != "shape finished" || doc.Run.Stages != "2s:4:50,2s:8:50" || doc.Run.Users != 8 {
		t.Errorf("run info %+v", doc.Run)
	}
	if d := doc.Run.DurationSeconds; d < 3.5 || d > 6 {
		t.Errorf("the test lasted %.1f s, want about 4", d)
	}
	for _, id := range []string{"w-a", "w-b"} {
		if workerTotal(doc, id) <= 0 {
			t.Errorf("%s made no request", id)
		}
	}
	maxUsers := 0
	for _, p := range doc.Stats.History {
		maxUsers = max(maxUsers, p.Users)
	}
	if maxUsers != 8 {
		t.Errorf("peak users in the history %d, want 8", maxUsers)
	}
}

// Ramping arrival stages over two workers end the test by themselves,
// after the schedule's count.
func TestArrivalStagesDistributed(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	script := writeScript(t, testScript)
	port := freePort(t)
	out := filepath.Join(t.TempDir(), "run")
	m := start(t, "master", nil, nil, masterArgs(script, port, tg, out, "--arrival-stages", "0s:100/s,2s:100/s,1s:300/s", "--expect-workers", "2")...)
	a := start(t, "worker-a", nil, nil, workerArgs(port, "eu", "w-a")...)
	b := start(t, "worker-b", nil, nil, workerArgs(port, "us", "w-b")...)
	if code := m.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("master exit code %d", code)
	}
	a.wait(t, 15*time.Second)
	b.wait(t, 15*time.Second)
	doc := readDoc(t, out+".json")
	checkExact(t, doc, tg)
	// 100/s for 2 s, then 100 → 300/s over 1 s: 200 + 200
	if total := tg.total.Load(); math.Abs(float64(total)-400) > 8 {
		t.Errorf("the target saw %d requests, want 400 ± 2%%", total)
	}
	if doc.Run.StopReason != "arrival stages finished" || doc.Run.Stages != "0s:100/s,2s:100/s,1s:300/s" || doc.Run.Model != output.ModelOpen {
		t.Errorf("run info %+v", doc.Run)
	}
}

// A script's shape function with per-class counts, over two workers.
func TestScriptShapeDistributed(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	script := writeScript(t, `
def hit(u):
    u.http.get("/hit", headers={"X-User": str(u.id)})

a = user(tasks=[hit], wait_time=constant(0.05))
b = user(tasks=[hit], wait_time=constant(0.05))

def shape(t):
    if t < 2:
        return (6, 50, {"a": 6, "b": 0})
    if t < 4:
        return (4, 50, {"a": 0, "b": 4})
    return None
`)
	port := freePort(t)
	out := filepath.Join(t.TempDir(), "run")
	m := start(t, "master", nil, nil, masterArgs(script, port, tg, out, "--expect-workers", "2")...)
	wa := start(t, "worker-a", nil, nil, workerArgs(port, "eu", "w-a")...)
	wb := start(t, "worker-b", nil, nil, workerArgs(port, "us", "w-b")...)
	if code := m.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("master exit code %d", code)
	}
	wa.wait(t, 15*time.Second)
	wb.wait(t, 15*time.Second)
	doc := readDoc(t, out+".json")
	checkExact(t, doc, tg)
	if doc.Run.StopReason != "shape finished" || !strings.HasPrefix(doc.Run.Stages, "shape() at ") || doc.Run.Users != 6 {
		t.Errorf("run info %+v", doc.Run)
	}
	if !strings.Contains(m.stderr.String(), "users=6") || !strings.Contains(m.stderr.String(), "users=4") {
		t.Errorf("the master log does not show both targets")
	}
}
