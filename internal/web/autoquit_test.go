package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAutostartAutoquit runs the real binary with the web UI, --autostart
// and --autoquit: the test starts without a click, ends after its run
// time, the process exits by itself and the --csv/--json outputs are there.
// Bound to all interfaces without a password, it must warn.
func TestAutostartAutoquit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real binary")
	}
	tmp := t.TempDir()
	bin := buildBinary(t, tmp)
	tgt := target(t)
	scriptFile := filepath.Join(tmp, "auto.star")
	if err := os.WriteFile(scriptFile, []byte(fmt.Sprintf(browserScript, tgt.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	prefix := filepath.Join(tmp, "out", "auto")
	p := startStampede(t, bin, "run", "-f", scriptFile, "--web-host", "0.0.0.0", "--web-insecure-no-auth", "--web-port", "0",
		"--autostart", "-u", "4", "-r", "4", "-t", "3s", "--autoquit", "1", "--csv", prefix, "--json", prefix+".json",
		"--exit-code-on-error", "0", // the script fails some requests on purpose
		"-E", "admin") // as the browser test's start form: checkStatsCSV expects it
	url := strings.Replace(p.url, "localhost", "127.0.0.1", 1)
	client := &http.Client{Timeout: 15 * time.Second}
	// While it runs, the API shows the autostarted test.
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := client.Get(url + "/stats/requests")
		if err != nil {
			t.Fatal(err)
		}
		var st struct {
			State     string `json:"state"`
			UserCount int    `json:"user_count"`
		}
		err = json.NewDecoder(res.Body).Decode(&st)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if st.State == "running" && st.UserCount == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("autostarted test not running with 4 users: %+v\n%s", st, p.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, p.log())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("--autoquit did not end the process\n%s", p.log())
	}
	if !strings.Contains(p.log(), "without a password") {
		t.Errorf("no warning about a public bind without auth:\n%s", p.log())
	}
	checkStatsCSV(t, prefix+"_stats.csv")
	b, err := os.ReadFile(prefix + ".json")
	if err != nil || !strings.Contains(string(b), `"stop_reason": "run time elapsed"`) {
		t.Errorf("json summary: %v\n%.400s", err, b)
	}
}
