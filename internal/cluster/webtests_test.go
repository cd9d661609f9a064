package cluster_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/output"
)

// A master in web UI mode runs two tests: the first with workers in eu and
// us, the second after the us worker shut down. Each test's results (the
// per-test folder under --results-url, the UI's summary and report after
// the test, and --html/--json at exit) name the workers and regions of
// that test only, and count exactly what the target received during it.
func TestWebMasterTestResultsNameTheirOwnWorkers(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	script := writeScript(t, testScript)
	port, webPort := freePort(t), freePort(t)
	dir := t.TempDir()
	bucket, out := filepath.Join(dir, "bucket"), filepath.Join(dir, "exit")
	if err := os.Mkdir(bucket, 0o755); err != nil {
		t.Fatal(err)
	}
	m := start(t, "master", nil, nil, "master", "-f", script, "--host", tg.URL,
		"--master-bind-host", "127.0.0.1", "--master-bind-port", strconv.Itoa(port),
		"--web-host", "127.0.0.1", "--web-port", strconv.Itoa(webPort),
		"--results-url", "file://"+bucket, "--run-id", "t",
		"--html", out+".html", "--json", out+".json", "--loglevel", "debug")
	eu := start(t, "worker-eu", nil, nil, workerArgs(port, "eu", "w-eu")...)
	us := start(t, "worker-us", nil, nil, workerArgs(port, "us", "w-us")...)
	ui := "http://127.0.0.1:" + strconv.Itoa(webPort)
	// one deadline for every wait: the whole test stays bounded even on a
	// loaded machine where each step is slow
	deadline := time.Now().Add(45 * time.Second)
	left := func() time.Duration { return time.Until(deadline) }

	var live struct {
		State       string `json:"state"`
		WorkerCount int    `json:"worker_count"`
	}
	poll := func() bool {
		resp, err := http.Get(ui + "/stats/requests")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&live) == nil
	}
	waitFor(t, left(), "the UI with two workers", func() bool { return poll() && live.WorkerCount == 2 })

	// runTest starts a test of 4 users, lets it make requests, stops it,
	// waits for its results folder and returns the target's count of it.
	runTest := func(n, workers int) int64 {
		t.Helper()
		before, since := tg.total.Load(), time.Now()
		uiPost(t, ui+"/swarm", url.Values{"user_count": {"4"}, "spawn_rate": {"100"}})
		waitFor(t, left(), "requests from every worker", func() bool {
			return tg.total.Load()-before >= 40 && tg.workersSince(since) >= workers
		})
		uiPost(t, ui+"/stop", nil)
		waitFor(t, left(), "the test to stop", func() bool { return poll() && live.State == "stopped" })
		waitRunFolders(t, bucket, n, left())
		return tg.total.Load() - before
	}
	n1 := runTest(1, 2)

	us.signal(syscall.SIGTERM)
	if code := us.wait(t, left()); code != 0 {
		t.Errorf("the us worker exited %d after SIGTERM", code)
	}
	waitFor(t, left(), "the master to show one worker", func() bool { return poll() && live.WorkerCount == 1 })
	n2 := runTest(2, 1)

	// the UI's own view of the last test, fetched before the master exits
	uiSummary := uiGet(t, ui+"/stats/summary.json")
	uiReport := uiGet(t, ui+"/stats/report")

	m.signal(syscall.SIGTERM)
	if code := m.wait(t, left()); code != 0 {
		t.Fatalf("master exit code %d", code)
	}
	if code := eu.wait(t, left()); code != 0 {
		t.Errorf("the eu worker exited %d after the master's quit", code)
	}

	folders := waitRunFolders(t, bucket, 2, left())
	if len(folders) != 2 {
		t.Fatalf("results folders %v, want one per test", folders)
	}
	readFolder := func(f string) (*output.Document, string) {
		html, err := os.ReadFile(filepath.Join(bucket, f, f+".html"))
		if err != nil {
			t.Fatal(err)
		}
		return readDoc(t, filepath.Join(bucket, f, f+".json")), string(html)
	}
	var summaryDoc output.Document
	if err := json.Unmarshal([]byte(uiSummary), &summaryDoc); err != nil {
		t.Fatalf("/stats/summary.json: %v", err)
	}
	exitHTML, err := os.ReadFile(out + ".html")
	if err != nil {
		t.Fatal(err)
	}
	doc1, html1 := readFolder(folders[0])
	doc2, html2 := readFolder(folders[1])
	checks := []struct {
		what    string
		doc     *output.Document
		html    string // the HTML report, when there is one
		workers []string
		n       int64
	}{
		{"test 1's results folder", doc1, html1, []string{"eu", "us"}, n1},
		{"test 2's results folder", doc2, html2, []string{"eu"}, n2},
		{"/stats/summary.json after test 2", &summaryDoc, "", []string{"eu"}, n2},
		{"/stats/report after test 2", embeddedDoc(t, uiReport), uiReport, []string{"eu"}, n2},
		{"--json at exit", readDoc(t, out+".json"), "", []string{"eu"}, n2},
		{"--html at exit", embeddedDoc(t, string(exitHTML)), string(exitHTML), []string{"eu"}, n2},
	}
	for _, c := range checks {
		d := c.doc
		if got := d.Stats.Total.Requests; got != c.n {
			t.Errorf("%s: %d requests, the target received %d during the test", c.what, got, c.n)
		}
		var ws, wts, rs []string
		for _, w := range d.Workers {
			if w.ID != "w-"+w.Region {
				t.Errorf("%s: worker %s in region %s", c.what, w.ID, w.Region)
			}
			ws = append(ws, w.Region)
		}
		for _, w := range d.Stats.WorkerTotals {
			wts = append(wts, strings.TrimPrefix(w.Worker, "w-"))
		}
		for _, r := range d.Stats.Regions {
			rs = append(rs, r.Region)
		}
		sort.Strings(ws)
		sort.Strings(wts)
		sort.Strings(rs)
		if !slices.Equal(ws, c.workers) || !slices.Equal(wts, c.workers) || !slices.Equal(rs, c.workers) ||
			!slices.Equal(d.Run.Regions, c.workers) || d.Run.WorkerCount != len(c.workers) || len(d.Lost) != 0 {
			t.Errorf("%s: workers %v, worker totals %v, region stats %v, run regions %v, worker count %d, lost %v; want %v",
				c.what, ws, wts, rs, d.Run.Regions, d.Run.WorkerCount, d.Lost, c.workers)
		}
		if c.html == "" {
			continue
		}
		// the rendered tables, not only the embedded data
		for _, r := range []string{"eu", "us"} {
			want := slices.Contains(c.workers, r)
			if got := strings.Contains(c.html, `<td class="l">w-`+r+`</td>`); got != want {
				t.Errorf("%s: a worker row for w-%s: %v, want %v", c.what, r, got, want)
			}
			if got := strings.Contains(c.html, "<h3>"+r+"</h3>"); got != want {
				t.Errorf("%s: a region table for %s: %v, want %v", c.what, r, got, want)
			}
		}
	}
}

// workersSince is the number of workers whose requests arrived after since.
func (tg *target) workersSince(since time.Time) int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	n := 0
	for _, ts := range tg.byW {
		if len(ts) > 0 && ts[len(ts)-1].After(since) {
			n++
		}
	}
	return n
}

func uiPost(t *testing.T, u string, form url.Values) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %s %s", u, resp.Status, b)
	}
}

func uiGet(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", u, resp.Status, err)
	}
	return string(b)
}

// embeddedDoc is the JSON summary an HTML report embeds.
func embeddedDoc(t *testing.T, html string) *output.Document {
	t.Helper()
	const open = `<script type="application/json" id="stampede-data">`
	_, rest, ok := strings.Cut(html, open)
	js, _, ok2 := strings.Cut(rest, "</script>")
	if !ok || !ok2 {
		t.Fatal("the HTML report embeds no stampede-data")
	}
	var d output.Document
	if err := json.Unmarshal([]byte(js), &d); err != nil {
		t.Fatalf("the HTML report's embedded data: %v", err)
	}
	return &d
}

// waitRunFolders waits until the bucket holds n run folders with their
// JSON and HTML, and returns them sorted (by start time: the run ids end
// with it).
func waitRunFolders(t *testing.T, bucket string, n int, d time.Duration) []string {
	t.Helper()
	var names []string
	waitFor(t, d, strconv.Itoa(n)+" test results folders", func() bool {
		names = names[:0]
		entries, _ := os.ReadDir(bucket)
		for _, e := range entries {
			_, errJ := os.Stat(filepath.Join(bucket, e.Name(), e.Name()+".json"))
			_, errH := os.Stat(filepath.Join(bucket, e.Name(), e.Name()+".html"))
			if errJ == nil && errH == nil {
				names = append(names, e.Name())
			}
		}
		return len(names) >= n
	})
	sort.Strings(names)
	return names
}
