package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Ctrl-C in web-UI mode while a test runs is an interruption, as in
// headless mode: exit 3 and "interrupted": true. Closing the UI after the
// test ended is not.
func TestWebUIInterruptExitCode(t *testing.T) {
	host := target(t)
	script := testScript(t, false)
	for _, tc := range []struct {
		name        string
		flags       []string
		waitFor     string
		code        int
		interrupted bool
	}{
		{"running", []string{"-u", "2", "-r", "10"}, "test started", ExitAborted, true},
		{"running with a run time", []string{"-u", "2", "-r", "10", "-t", "60s"}, "test started", ExitAborted, true},
		{"after the test ended", []string{"-u", "1", "-r", "10", "-t", "1s"}, "stopping test", ExitOK, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			js := filepath.Join(t.TempDir(), "run.json")
			args := append([]string{"run", "-f", script, "--host", host, "--web-host", "127.0.0.1", "--web-port", "0",
				"--autostart", "--json", js}, tc.flags...)
			cmd, _ := helperProcess(t, tc.waitFor, args...)
			time.Sleep(time.Second)
			if code := exitCode(t, cmd, syscall.SIGINT); code != tc.code {
				t.Fatalf("exit %d, want %d", code, tc.code)
			}
			b, err := os.ReadFile(js)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Run struct {
					Interrupted bool   `json:"interrupted"`
					StopReason  string `json:"stop_reason"`
				} `json:"run"`
			}
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Run.Interrupted != tc.interrupted {
				t.Errorf("interrupted = %v, want %v (stop reason %q)", doc.Run.Interrupted, tc.interrupted, doc.Run.StopReason)
			}
			if tc.interrupted && doc.Run.StopReason != "interrupted by interrupt" {
				t.Errorf("stop reason %q", doc.Run.StopReason)
			}
		})
	}
}
