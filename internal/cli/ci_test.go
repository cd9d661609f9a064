package cli

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gocloud.dev/blob"

	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/results/azuritetest"
)

// target is a loopback server: "/" answers at once, "/missing" is a 404.
func target(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// testScript writes a script whose users fetch "/" (and "/missing" with
// missing=true), with an optional thresholds list.
func testScript(t *testing.T, missing bool, thresholds ...string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("def home(u):\n    u.http.get(\"/\")\n\n")
	tasks := "home"
	if missing {
		b.WriteString("def gone(u):\n    u.http.get(\"/missing\")\n\n")
		tasks += ", gone"
	}
	fmt.Fprintf(&b, "visitor = user(tasks=[%s], wait_time=constant(0.05))\n", tasks)
	if len(thresholds) > 0 {
		var q []string
		for _, th := range thresholds {
			q = append(q, fmt.Sprintf("%q", th))
		}
		fmt.Fprintf(&b, "thresholds = [%s]\n", strings.Join(q, ", "))
	}
	p := filepath.Join(t.TempDir(), "test.star")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

func runMain(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	start := time.Now()
	code := Main(args, &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
}

func TestThresholdExitCodes(t *testing.T) {
	host := target(t)
	tests := []struct {
		name       string
		missing    bool
		script     []string
		flags      []string
		code       int
		wantOut    string
		wantErr    string
		maxSeconds float64
	}{
		{name: "pass", flags: []string{"--threshold", "p95<10s", "--threshold", "requests>0", "--threshold", "error_rate<1%"}, code: ExitOK, wantOut: "all 3 thresholds passed"},
		{name: "fail", flags: []string{"--threshold", "p95<10s", "--threshold", "p99<0.001ms"}, code: ExitFailed, wantOut: "FAIL  p99<0.001ms", wantErr: "1 of 2 thresholds failed"},
		{name: "fail per name", missing: true, flags: []string{"--threshold", "error_rate{name=/missing}<50%", "--threshold", "error_rate{name=/}<=0%"}, code: ExitFailed, wantOut: "FAIL  error_rate{name=/missing}<50%"},
		{name: "script thresholds", missing: true, script: []string{"error_rate<1%"}, code: ExitFailed, wantOut: "FAIL  error_rate<1%"},
		{name: "malformed flag", flags: []string{"--threshold", "p95<<1s"}, code: ExitConfig, wantErr: `--threshold "p95<<1s"`, maxSeconds: 5},
		{name: "unsupported percentile", flags: []string{"--threshold", "p97<1s"}, code: ExitConfig, wantErr: "supported: p50, p66", maxSeconds: 5},
		{name: "malformed in script", script: []string{"p95 < soon"}, code: ExitConfig, wantErr: `script thresholds[0] "p95 < soon"`, maxSeconds: 5},
		{name: "abort without thresholds", flags: []string{"--abort-on-fail"}, code: ExitConfig, wantErr: "--abort-on-fail: no thresholds", maxSeconds: 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "-f", testScript(t, tc.missing, tc.script...), "--headless", "-u", "2", "-r", "10", "-t", "2s", "--host", host}, tc.flags...)
			r := runMain(t, args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, tc.wantOut) || !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("stdout lacks %q or stderr lacks %q\nstdout:\n%s\nstderr:\n%s", tc.wantOut, tc.wantErr, r.stdout, r.stderr)
			}
			if tc.maxSeconds > 0 && r.took.Seconds() > tc.maxSeconds {
				t.Errorf("took %s: a configuration error must fail before the test runs", r.took)
			}
		})
	}
}

func TestAbortOnFail(t *testing.T) {
	host := target(t)
	tests := []struct {
		name  string
		flags []string
		max   time.Duration
	}{
		// failures<1 can never pass again once a request failed: stops at once.
		{name: "final", flags: []string{"--threshold", "failures<1", "--abort-on-fail"}, max: 12 * time.Second},
		// p99 stays above 0.001 ms: stops after the grace and 5 failing checks.
		{name: "after grace", flags: []string{"--threshold", "p99<0.001ms", "--abort-on-fail", "--abort-grace", "2s"}, max: 18 * time.Second},
		// The per-threshold suffix, without --abort-on-fail.
		{name: "suffix", flags: []string{"--threshold", "p95<10s", "--threshold", "error_rate<1%@abort=1s"}, max: 18 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			js := filepath.Join(t.TempDir(), "run.json")
			args := append([]string{"run", "-f", testScript(t, true), "--headless", "-u", "2", "-r", "10", "-t", "60s", "--host", host, "--json", js}, tc.flags...)
			r := runMain(t, args...)
			if r.code != ExitFailed {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", r.code, ExitFailed, r.stderr)
			}
			if r.took > tc.max {
				t.Errorf("took %s, want an early stop within %s", r.took, tc.max)
			}
			doc, err := output.ReadJSON(js)
			if err != nil {
				t.Fatal(err)
			}
			if !doc.Run.Interrupted || !strings.HasPrefix(doc.Run.StopReason, "threshold failed: ") || doc.ThresholdsPassed {
				t.Errorf("run = interrupted %v, reason %q, passed %v", doc.Run.Interrupted, doc.Run.StopReason, doc.ThresholdsPassed)
			}
			if !strings.Contains(r.stderr, "stopping the test early") {
				t.Errorf("stderr lacks the abort message:\n%s", r.stderr)
			}
		})
	}
}

func TestHTMLAndJSONOutputs(t *testing.T) {
	host := target(t)
	dir := t.TempDir()
	html, js := filepath.Join(dir, "out", "report.html"), filepath.Join(dir, "run.json")
	r := runMain(t, "run", "-f", testScript(t, true), "--headless", "-u", "2", "-r", "10", "-t", "3s", "--host", host,
		"--html", html, "--json", js, "--threshold", "p95<10s", "--threshold", "error_rate<1%", "--run-id", "html-test")
	if r.code != ExitFailed {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{"html-test", "Request statistics", "Response time percentiles", "Requests and failures per second",
		"Response time distribution", "Thresholds", "error_rate&lt;1%", "FAILED", "/missing", "404", "99.99%"} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// The data the page embeds is the summary as --json writes it, with
	// its format (it was empty).
	if !strings.Contains(page, `<script type="application/json" id="stampede-data">{"format":"`+output.Format+`"`) {
		t.Errorf("the embedded data does not start with the format %q", output.Format)
	}
	if strings.Contains(page, "Not available: this summary holds no histogram") {
		t.Error("the run's report has no distribution")
	}
	for _, bad := range []string{" src=", "<link", "url(", "@import", `href="http`, "<img"} {
		if strings.Contains(page, bad) {
			t.Errorf("report references something outside itself: %q", bad)
		}
	}
	doc, err := output.ReadJSON(js)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Run.ID != "html-test" || len(doc.Thresholds) != 2 || doc.Thresholds[0].Passed != true || doc.Thresholds[1].Passed || doc.ThresholdsPassed {
		t.Errorf("JSON thresholds = %+v, passed %v, id %q", doc.Thresholds, doc.ThresholdsPassed, doc.Run.ID)
	}
	// The history holds per-name points with their recent percentiles,
	// and the report draws them.
	var withPct int
	for _, p := range doc.Stats.History {
		if e, ok := p.Entries["GET /"]; ok && e.P95 > 0 && e.Requests > 0 {
			withPct++
		}
	}
	if withPct == 0 {
		t.Errorf("no history point has GET /'s percentiles: %+v", doc.Stats.History)
	}
	if !strings.Contains(page, "Response time of GET /") {
		t.Error("the report has no response-time chart of GET /")
	}
	// The report command turns the JSON back into the same report.
	out := filepath.Join(dir, "again.html")
	r = runMain(t, "report", "--json", js, "-o", out)
	if r.code != 0 {
		t.Fatalf("report: exit %d\n%s", r.code, r.stderr)
	}
	again, _ := os.ReadFile(out)
	if !strings.Contains(string(again), "html-test") || !strings.Contains(string(again), "Response time distribution") {
		t.Error("report from JSON lacks the run")
	}
}

func TestReportCommand(t *testing.T) {
	locust := filepath.Join("..", "report", "testdata", "locust", "locust")
	out := filepath.Join(t.TempDir(), "r.html")
	tests := []struct {
		args    []string
		code    int
		wantErr string
	}{
		{args: []string{"report", "--csv", locust, "-o", out}, code: 0},
		{args: []string{"report", "--csv", locust, "-o", out, "--threshold", "requests>1"}, code: 0},
		{args: []string{"report", "--csv", locust, "-o", out, "--threshold", "error_rate<1%"}, code: ExitFailed, wantErr: "1 of 1 thresholds failed"},
		{args: []string{"report", "-o", out}, code: ExitConfig, wantErr: "give one input"},
		{args: []string{"report", "--csv", "nope/none", "-o", out}, code: ExitConfig, wantErr: "none_stats.csv"},
		{args: []string{"report", "--csv", locust, "--threshold", "p95<"}, code: ExitConfig, wantErr: "missing value"},
	}
	for _, tc := range tests {
		r := runMain(t, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.wantErr) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, tc.code, tc.wantErr)
		}
	}
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), "/api/products?page=[n]") {
		t.Errorf("report not written: %v", err)
	}
}

func listFiles(t *testing.T, root string) []string {
	var got []string
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(root, p)
			got = append(got, rel)
		}
		return nil
	})
	sort.Strings(got)
	return got
}

func TestResultsUploadFile(t *testing.T) {
	host := target(t)
	dest := t.TempDir()
	r := runMain(t, "run", "-f", testScript(t, false), "--headless", "-u", "2", "-r", "10", "-t", "2s", "--host", host,
		"--results-url", "file://"+dest+"?prefix=nightly/", "--run-id", "up-1", "--threshold", "requests>0")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	got := listFiles(t, dest)
	want := []string{"nightly/up-1/up-1.html", "nightly/up-1/up-1.json", "nightly/up-1/up-1.log", "nightly/up-1/up-1_exceptions.csv",
		"nightly/up-1/up-1_failures.csv", "nightly/up-1/up-1_stats.csv", "nightly/up-1/up-1_stats_history.csv"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("uploaded %v\nwant %v", got, want)
	}
	logText, _ := os.ReadFile(filepath.Join(dest, "nightly/up-1/up-1.log"))
	for _, w := range []string{"test started", "uploading results"} {
		if !strings.Contains(string(logText), w) {
			t.Errorf("uploaded log lacks %q:\n%s", w, logText)
		}
	}
	doc, err := output.ReadJSON(filepath.Join(dest, "nightly/up-1/up-1.json"))
	if err != nil || doc.Run.ID != "up-1" || len(doc.Thresholds) != 1 {
		t.Errorf("uploaded JSON: %v %+v", err, doc)
	}
}

func TestResultsURLFailsAtStart(t *testing.T) {
	host := target(t)
	for _, u := range []string{"file:///nonexistent/stampede-results", "ftp://example/x", "mem://bucket"} {
		r := runMain(t, "run", "-f", testScript(t, false), "--headless", "-u", "2", "-r", "10", "-t", "60s", "--host", host, "--results-url", u)
		if r.code != ExitConfig || !strings.Contains(r.stderr, "--results-url") {
			t.Errorf("%s: exit %d, stderr %q", u, r.code, r.stderr)
		}
		if r.took > 10*time.Second {
			t.Errorf("%s: took %s; must fail before the test", u, r.took)
		}
	}
	r := runMain(t, "run", "-f", testScript(t, false), "--headless", "-t", "60s", "--host", host, "--results-url", "file://"+t.TempDir(), "--run-id", "../x")
	if r.code != ExitConfig || !strings.Contains(r.stderr, "--run-id") {
		t.Errorf("bad run id: exit %d, %q", r.code, r.stderr)
	}
}

func TestResultsUploadAzurite(t *testing.T) {
	base, _ := azuritetest.URL(t, "")
	host := target(t)

	// The container does not exist yet: the run fails at start.
	r := runMain(t, "run", "-f", testScript(t, false), "--headless", "-u", "2", "-r", "10", "-t", "60s", "--host", host, "--results-url", base)
	if r.code != ExitConfig || !strings.Contains(r.stderr, "cannot write") || r.took > 20*time.Second {
		t.Fatalf("missing container: exit %d after %s, %q", r.code, r.took, r.stderr)
	}
	if strings.Contains(r.stderr, azuritetest.Key) {
		t.Fatal("the account key was printed")
	}

	azuritetest.CreateContainer(t, base)
	ctx := context.Background()
	b, err := blob.OpenBucket(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	csvDir := t.TempDir()
	r = runMain(t, "run", "-f", testScript(t, true), "--headless", "-u", "2", "-r", "10", "-t", "2s", "--host", host,
		"--results-url", base+"&prefix=ci/", "--run-id", "az-1", "--csv", filepath.Join(csvDir, "mine"),
		"--exit-code-on-error", "0") // the script's /missing fails on purpose
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr+r.stdout, azuritetest.Key) {
		t.Fatal("the account key was printed")
	}
	var got []string
	it := b.List(nil)
	for {
		obj, err := it.Next(ctx)
		if err != nil {
			break
		}
		got = append(got, obj.Key)
	}
	sort.Strings(got)
	want := []string{"ci/az-1/az-1.html", "ci/az-1/az-1.json", "ci/az-1/az-1.log", "ci/az-1/mine_exceptions.csv",
		"ci/az-1/mine_failures.csv", "ci/az-1/mine_stats.csv", "ci/az-1/mine_stats_history.csv"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("container holds %v\nwant %v", got, want)
	}
	stats, err := b.ReadAll(ctx, "ci/az-1/mine_stats.csv")
	local, _ := os.ReadFile(filepath.Join(csvDir, "mine_stats.csv"))
	if err != nil || !bytes.Equal(stats, local) {
		t.Errorf("uploaded stats differ from the local file (%v)", err)
	}
}

func TestCheckThresholds(t *testing.T) {
	r := runMain(t, "check", "-f", testScript(t, false, "p95<500ms", "error_rate<1%@abort"))
	if r.code != 0 || !strings.Contains(r.stdout, "p95<500ms: p95 < 500ms") || !strings.Contains(r.stdout, "error_rate<1%@abort: error_rate < 1% (aborts") {
		t.Errorf("check: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runMain(t, "check", "-f", testScript(t, false, "p95<500ms", "p95<>1"))
	if r.code != ExitConfig || !strings.Contains(r.stderr, `script thresholds[1] "p95<>1"`) {
		t.Errorf("check with a bad threshold: exit %d, %q", r.code, r.stderr)
	}
}

// TestHostShorthand: -H is --host, as in Locust ("locust -H URL").
func TestHostShorthand(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	js := filepath.Join(t.TempDir(), "run.json")
	r := runMain(t, "run", "-f", testScript(t, false), "--headless", "-u", "1", "-r", "1", "-i", "3", "-H", srv.URL, "--json", js)
	if r.code != 0 || hits.Load() != 3 {
		t.Fatalf("exit %d, target saw %d requests (want 3)\n%s", r.code, hits.Load(), r.stderr)
	}
}
