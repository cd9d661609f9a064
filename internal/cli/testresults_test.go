package cli

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// In web UI mode with --results-url, every test is written and uploaded
// when it stops, under its own run id: here one stopped by its run time
// and one stopped through the API, in one process. The counts in each
// test's summary add up to what the target received.
func TestWebUIUploadsEveryTest(t *testing.T) {
	var hits atomic.Int64
	tg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprintln(w, "ok")
	}))
	defer tg.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	bucket := t.TempDir()

	done := make(chan result, 1)
	go func() {
		done <- runMain(t, "run", "-f", testScript(t, false), "--host", tg.URL, "-u", "2", "-r", "50", "-t", "1s",
			"--web-host", "127.0.0.1", "--web-port", port, "--autostart", "--autoquit", "4",
			"--results-url", "file://"+bucket, "--run-id", "web")
	}()

	// the first test ends by its run time: its folder appears
	first := waitFolders(t, bucket, 1)
	// a second test, stopped through the API
	ui := "http://127.0.0.1:" + port
	resp, err := http.PostForm(ui+"/swarm", url.Values{"user_count": {"2"}, "spawn_rate": {"50"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /swarm: %s", resp.Status)
	}
	time.Sleep(1200 * time.Millisecond)
	resp, err = http.Post(ui+"/stop", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	folders := waitFolders(t, bucket, 2)

	var r result
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the web UI did not quit after --autoquit")
	}
	if r.code != ExitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if folders[0] != first[0] {
		t.Fatalf("folders %v, first %v", folders, first)
	}
	var total int64
	for i, f := range folders {
		if !strings.HasPrefix(f, "web-") {
			t.Errorf("run id %q: want web-<start time>", f)
		}
		var doc struct {
			Run struct {
				ID         string `json:"id"`
				StopReason string `json:"stop_reason"`
			} `json:"run"`
			Stats struct {
				Total struct {
					Requests int64 `json:"num_requests"`
				} `json:"total"`
			} `json:"stats"`
		}
		b, err := os.ReadFile(filepath.Join(bucket, f, f+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Run.ID != f || doc.Stats.Total.Requests == 0 {
			t.Errorf("test %d: run id %q, %d requests", i, doc.Run.ID, doc.Stats.Total.Requests)
		}
		// the log is the process's, up to the end of this test
		for _, name := range []string{f + ".html", f + "_stats.csv", f + "_failures.csv", "web.log"} {
			if _, err := os.Stat(filepath.Join(bucket, f, name)); err != nil {
				t.Errorf("test %d: %v", i, err)
			}
		}
		total += doc.Stats.Total.Requests
		t.Logf("%s: %d requests, stopped by %q", f, doc.Stats.Total.Requests, doc.Run.StopReason)
	}
	if got := hits.Load(); got != total {
		t.Errorf("the target received %d requests, the two summaries count %d", got, total)
	}
	// nothing else but the start-up write check's empty folder
	entries, _ := os.ReadDir(bucket)
	for _, e := range entries {
		if inside, _ := os.ReadDir(filepath.Join(bucket, e.Name())); len(inside) > 0 && e.Name() != folders[0] && e.Name() != folders[1] {
			t.Errorf("unexpected folder %s in the bucket: %v", e.Name(), inside)
		}
	}
}

// waitFolders waits until the bucket holds n run folders with a JSON
// summary, and returns them sorted.
func waitFolders(t *testing.T, bucket string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var names []string
		entries, _ := os.ReadDir(bucket)
		for _, e := range entries {
			if _, err := os.Stat(filepath.Join(bucket, e.Name(), e.Name()+".json")); err == nil {
				names = append(names, e.Name())
			}
		}
		if len(names) >= n {
			sort.Strings(names)
			return names
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d test folders in the bucket after 20s: %v", len(names), n, names)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
