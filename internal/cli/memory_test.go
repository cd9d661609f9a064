package cli

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A real process whose script keeps growing its memory passes the
// memory limit (--max-memory, or 90% of GOMEMLIMIT): the guard stops the
// test as failed and the CSV and JSON results are written and uploaded,
// where the kernel would have killed it with every result.
func TestMemoryGuardWritesResults(t *testing.T) {
	host := target(t)
	script := writeStar(t, `
def grow(u):
    if "kept" not in u.state:
        u.state["kept"] = []
    u.state["kept"].append("x" * 1000000)  # 1 MB a task, kept
    u.http.get("/")

hog = user(tasks=[grow], wait_time=constant(0.002))
`)
	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"max-memory", nil, []string{"--max-memory", "150MiB"}},
		{"GOMEMLIMIT", []string{"GOMEMLIMIT=250MiB"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			jsonFile, prefix, dest := filepath.Join(dir, "out.json"), filepath.Join(dir, "out"), t.TempDir()
			args, _ := json.Marshal(append([]string{"run", "-f", script, "--headless", "-u", "4", "-r", "100", "-t", "60s",
				"--host", host, "--json", jsonFile, "--csv", prefix, "--results-url", "file://" + dest, "--run-id", "mem"}, tc.args...))
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessMain$")
			cmd.Env = append(append(os.Environ(), "STAMPEDE_HELPER_MAIN_ARGS="+string(args)), tc.env...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			start := time.Now()
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != ExitFailed {
				t.Fatalf("exit %v, want %d\n%s", err, ExitFailed, stderr.String())
			}
			if el := time.Since(start); el > 40*time.Second {
				t.Errorf("the guard took %v to stop a test growing ~2 GB/s", el)
			}
			doc := readSummary(t, jsonFile)
			if !strings.HasPrefix(doc.Run.StopReason, "memory limit: ") || doc.Stats.Total.Requests == 0 {
				t.Errorf("stop reason %q, %d requests", doc.Run.StopReason, doc.Stats.Total.Requests)
			}
			csv, err := os.ReadFile(prefix + "_stats.csv")
			if err != nil || !strings.Contains(string(csv), "GET,/,") {
				t.Errorf("stats CSV: %v\n%s", err, csv)
			}
			uploaded := strings.Join(listFiles(t, dest), " ")
			for _, want := range []string{"mem/out.json", "mem/out_stats.csv", "mem/mem.html"} {
				if !strings.Contains(uploaded, want) {
					t.Errorf("the upload lacks %s (has %s)", want, uploaded)
				}
			}
			if !strings.Contains(stderr.String(), "passed its limit") {
				t.Errorf("no memory error logged:\n%s", stderr.String())
			}
		})
	}
}

// One output that panics becomes that output's error; the others are
// still written by finish.
func TestOutputSafely(t *testing.T) {
	if err := outputSafely(func() error { panic("writer bug") }); err == nil || !strings.Contains(err.Error(), "panic: writer bug") {
		t.Errorf("panic: %v", err)
	}
	want := errors.New("disk full")
	if err := outputSafely(func() error { return want }); err != want {
		t.Errorf("error: %v", err)
	}
	if err := outputSafely(func() error { return nil }); err != nil {
		t.Errorf("nil: %v", err)
	}
}

// A process killed outright, as the kernel's OOM killer kills one over
// its cgroup's memory limit (SIGKILL: nothing runs after it), still
// leaves its results up to the last second: the CSV files are rewritten
// every second, as Locust does, and the history holds whole rows. Before,
// only the history survived; _stats.csv and _failures.csv did not exist.
func TestKilledProcessLeavesCSV(t *testing.T) {
	host := target(t)
	script := writeStar(t, `
def t(u):
    u.http.get("/")
    u.http.get("/missing")
visitor = user(tasks=[t], wait_time=constant(0.01))
`)
	prefix := filepath.Join(t.TempDir(), "out")
	cmd, _ := helperProcess(t, "test started", "run", "-f", script, "--headless", "-u", "2", "-r", "100", "-t", "60s",
		"--host", host, "--csv", prefix, "--max-memory", "-1")
	time.Sleep(2500 * time.Millisecond)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	for _, tc := range []struct{ suffix, want string }{
		{"_stats.csv", "GET,/,"},
		{"_stats.csv", ",Aggregated,"},
		{"_failures.csv", "GET,/missing,"},
		{"_stats_history.csv", ",Aggregated,"},
	} {
		b, err := os.ReadFile(prefix + tc.suffix)
		if err != nil || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s after SIGKILL: %v, want a row with %q:\n%s", tc.suffix, err, tc.want, b)
		}
	}
}
