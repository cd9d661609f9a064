package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHelperProcessMain is not a test: run as a subprocess by
// helperProcess, it runs the command line given in
// STAMPEDE_HELPER_MAIN_ARGS (JSON) and exits with its code, so a real
// signal can be sent to a real process.
func TestHelperProcessMain(t *testing.T) {
	raw := os.Getenv("STAMPEDE_HELPER_MAIN_ARGS")
	if raw == "" {
		return
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		os.Exit(99)
	}
	os.Exit(Main(args, os.Stdout, os.Stderr))
}

// helperProcess runs the command line in a real process (see
// TestHelperProcessMain) and returns once its log shows waitFor, with that
// log line.
func helperProcess(t *testing.T, waitFor string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	raw, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessMain$")
	cmd.Env = append(os.Environ(), "STAMPEDE_HELPER_MAIN_ARGS="+string(raw))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	seen := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		once := false
		for sc.Scan() {
			if !once && strings.Contains(sc.Text(), waitFor) {
				once = true
				seen <- sc.Text()
			}
		}
	}()
	select {
	case line := <-seen:
		return cmd, line
	case <-time.After(30 * time.Second):
		t.Fatalf("no %q in the log within 30 s", waitFor)
	}
	return nil, ""
}

// exitCode sends sig to cmd and returns its exit code.
func exitCode(t *testing.T, cmd *exec.Cmd, sig os.Signal) int {
	t.Helper()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatal("no exit within 30 s of the signal")
	}
	return -1
}

func TestInterruptWritesAndUploads(t *testing.T) {
	host := target(t)
	dir := t.TempDir()
	dest := t.TempDir()
	html := filepath.Join(dir, "report.html")
	cmd, _ := helperProcess(t, "test started", "run", "-f", testScript(t, false), "--headless", "-u", "2", "-r", "10", "-t", "60s",
		"--host", host, "--html", html, "--results-url", "file://"+dest, "--run-id", "sig-1", "--threshold", "p95<10s")
	time.Sleep(1500 * time.Millisecond) // let some requests happen
	if code := exitCode(t, cmd, syscall.SIGINT); code != ExitAborted {
		t.Fatalf("exit %d, want %d", code, ExitAborted)
	}
	page, err := os.ReadFile(html)
	if err != nil || !strings.Contains(string(page), "interrupted by interrupt") {
		t.Errorf("HTML report after SIGINT: %v (stop reason missing)", err)
	}
	got := strings.Join(listFiles(t, dest), " ")
	for _, want := range []string{"sig-1/report.html", "sig-1/sig-1.json", "sig-1/sig-1.log", "sig-1/sig-1_stats.csv", "sig-1/sig-1_stats_history.csv"} {
		if !strings.Contains(got, want) {
			t.Errorf("upload after SIGINT lacks %s (has %s)", want, got)
		}
	}
}
