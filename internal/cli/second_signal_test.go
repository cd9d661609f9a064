package cli

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A second Ctrl-C while a user is still finishing (here: in a request
// the target holds for 20 s, with --stop-timeout 60s) no longer exits
// without results: the process exits 3 at once, with the CSV and JSON
// holding the requests collected so far. Before, it wrote no output.
func TestSecondSignalStillWritesResults(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-release:
			case <-r.Context().Done():
			case <-time.After(20 * time.Second):
			}
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	script := writeStar(t, `
def fast(u):
    u.http.get("/fast")
def slow(u):
    u.http.get("/slow")
quick = user(tasks=[fast], wait_time=constant(0.05))
stuck = user(tasks=[slow])
`)
	for _, tc := range []struct {
		name, waitFor string
		args          []string
	}{
		{"headless", "test started", []string{"--headless"}},
		{"web UI", "test started", []string{"--autostart", "--web-port", "0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			jsonFile, prefix := filepath.Join(dir, "out.json"), filepath.Join(dir, "out")
			args := append([]string{"run", "-f", script, "--host", srv.URL, "-u", "2", "-r", "100", "-t", "60s",
				"--stop-timeout", "60s", "--json", jsonFile, "--csv", prefix}, tc.args...)
			cmd, _ := helperProcess(t, tc.waitFor, args...)
			time.Sleep(1500 * time.Millisecond) // a collection has run
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			time.Sleep(500 * time.Millisecond)
			start := time.Now()
			if code := exitCode(t, cmd, syscall.SIGINT); code != ExitAborted {
				t.Fatalf("exit %d, want %d", code, ExitAborted)
			}
			if el := time.Since(start); el > 10*time.Second {
				t.Errorf("the second signal took %v to exit", el)
			}
			doc := readSummary(t, jsonFile)
			var fast int64
			for _, e := range doc.Stats.Entries {
				if e.Name == "/fast" {
					fast = e.Requests
				}
			}
			if fast == 0 || !doc.Run.Interrupted {
				t.Errorf("JSON: %d requests of /fast, interrupted %v", fast, doc.Run.Interrupted)
			}
			csv, err := os.ReadFile(prefix + "_stats.csv")
			if err != nil || !strings.Contains(string(csv), fmt.Sprintf("GET,/fast,%d,", fast)) {
				t.Errorf("stats CSV: %v\n%s", err, csv)
			}
		})
	}
}
