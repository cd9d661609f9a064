package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stampede-load/stampede/internal/compare"
	"github.com/stampede-load/stampede/internal/demo"
)

// demoRun runs a short headless test against the demo target (the handler
// `stampede demo` serves) with the given latency scale and returns the
// prefix of its outputs: PREFIX.json and PREFIX_*.csv.
func demoRun(t *testing.T, scale float64, extra ...string) (prefix string, r result) {
	prefix, r, _ = demoRunCount(t, scale, extra...)
	return prefix, r
}

// demoRunCount is demoRun that also returns how many requests the target
// received.
func demoRunCount(t *testing.T, scale float64, extra ...string) (prefix string, r result, received int64) {
	t.Helper()
	var n atomic.Int64
	h := demo.NewHandler(demo.Options{LatencyScale: scale, Seed: 7})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n.Add(1)
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	script := filepath.Join(dir, "demo.star")
	src := `def browse(u):
    u.http.get("/api/products")
    u.http.get("/api/products/1", name="/api/products/{id}")
    u.http.get("/health")  # no simulated latency: unchanged by --latency-scale

shopper = user(tasks=[browse], wait_time=constant(0))
`
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	prefix = filepath.Join(dir, "run")
	args := append([]string{"run", "-f", script, "--headless", "-u", "4", "-r", "100", "-t", "2s", "--host", srv.URL,
		"--json", prefix + ".json", "--csv", prefix}, extra...)
	r = runMain(t, args...)
	srv.Close()
	return prefix, r, n.Load()
}

func compareJSON(t *testing.T, args ...string) (*compare.Result, result) {
	t.Helper()
	r := runMain(t, append(append([]string{"compare"}, args...), "--json", "-")...)
	if r.code != ExitOK {
		t.Fatalf("compare exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var res compare.Result
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("compare --json -: %v\n%s", err, r.stdout)
	}
	return &res, r
}

func verdicts(res *compare.Result) map[string]string {
	m := map[string]string{"Aggregated": res.Total.Verdict}
	for _, row := range res.Rows {
		m[row.Name] = row.Verdict
	}
	return m
}

func TestCompareDemoRuns(t *testing.T) {
	base, r := demoRun(t, 1)
	if r.code != ExitOK {
		t.Fatalf("base run: exit %d\n%s", r.code, r.stderr)
	}
	slow, r := demoRun(t, 1.5)
	if r.code != ExitOK {
		t.Fatalf("slow run: exit %d\n%s", r.code, r.stderr)
	}

	// JSON summaries: the shop's names are 50% slower, with histograms
	// tested; /health, which the demo answers at once, is unchanged.
	res, _ := compareJSON(t, base+".json", slow+".json")
	for _, name := range []string{"/api/products", "/api/products/{id}", "Aggregated"} {
		if v := verdicts(res)[name]; v != compare.Slower {
			t.Errorf("%s: verdict %q, want %q\n%+v", name, v, compare.Slower, res)
		}
	}
	if v := verdicts(res)["/health"]; v != compare.Unchanged {
		t.Errorf("/health: verdict %q, want %q\n%+v", v, compare.Unchanged, res)
	}
	for _, row := range res.Rows {
		if row.Name == "/health" {
			continue
		}
		if row.Test == nil || row.Test.P >= 0.01 || row.Base.Requests == 0 || row.New.Requests == 0 {
			t.Errorf("%s: test %+v, base %+v, new %+v", row.Name, row.Test, row.Base, row.New)
		}
	}
	// A run against itself: nothing is significant.
	res, _ = compareJSON(t, base+".json", base+".json")
	for name, v := range verdicts(res) {
		if v != compare.Unchanged {
			t.Errorf("self-comparison %s: %q", name, v)
		}
	}

	// The table, --fail-on-slower and the HTML page.
	html := filepath.Join(t.TempDir(), "cmp.html")
	r = runMain(t, "compare", base+".json", slow+".json", "--fail-on-slower", "--html", html)
	if r.code != ExitFailed || !strings.Contains(r.stdout, "SLOWER (p50") || !strings.Contains(r.stderr, "significantly slower") {
		t.Errorf("--fail-on-slower: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	assertSelfContainedPage(t, string(page))
	if !strings.Contains(string(page), "/api/products/{id}") || !strings.Contains(string(page), `class="l bad">slower (p50`) ||
		strings.Count(string(page), "<polyline") != 8 || !strings.Contains(string(page), "GET /api/products/{id}</text>") {
		t.Errorf("HTML lacks the slower row:\n%s", page)
	}
	if r := runMain(t, "compare", base+".json", base+".json", "--fail-on-slower"); r.code != ExitOK {
		t.Errorf("self-comparison with --fail-on-slower: exit %d\n%s", r.code, r.stderr)
	}

	// CSV files (by prefix, and by PREFIX_stats.csv): percentile changes
	// without a test.
	res, _ = compareJSON(t, base, slow+"_stats.csv")
	for name, v := range verdicts(res) {
		if v != compare.PercentilesOnly {
			t.Errorf("CSV %s: %q", name, v)
		}
	}
	if c := res.Total.Changes.P50; c == nil || *c < 0.2 {
		t.Errorf("CSV: aggregate p50 change %v, want about +50%%", c)
	}
	// A results folder (as --results-url writes it), by file:// URL.
	res, _ = compareJSON(t, "file://"+filepath.Dir(base), slow+".json")
	if res.Base.Histograms != true || verdicts(res)["/api/products"] != compare.Slower {
		t.Errorf("from a results URL: %+v", res)
	}
	// The same with the run's folder under ?prefix=, as --results-url
	// names it.
	runDir := filepath.Dir(base)
	res, _ = compareJSON(t, "file://"+filepath.Dir(runDir)+"?prefix="+filepath.Base(runDir)+"/", slow+".json")
	if verdicts(res)["/api/products"] != compare.Slower {
		t.Errorf("from a results URL with ?prefix=: %+v", res)
	}
}

func TestCompareLocustCSV(t *testing.T) {
	dir := "../report/testdata/locust/"
	res, r := compareJSON(t, dir+"locust", dir+"locust_full")
	for name, v := range verdicts(res) {
		if v != compare.PercentilesOnly {
			t.Errorf("%s: %q", name, v)
		}
	}
	var home *compare.Row
	for i := range res.Rows {
		if res.Rows[i].Name == "/" {
			home = &res.Rows[i]
		}
	}
	// Locust's "/" row: p95 31 → 29 ms.
	if home == nil || home.Base.P95 != 31 || home.New.P95 != 29 || home.Changes.P95 == nil || *home.Changes.P95 > -0.06 {
		t.Errorf("/ row: %+v\n%s", home, r.stdout)
	}
	r = runMain(t, "compare", dir+"locust", dir+"locust_full")
	if r.code != ExitOK || !strings.Contains(r.stdout, "percentiles only") || !strings.Contains(r.stdout, "31.0 → 29.0 (-6.5%)") {
		t.Errorf("table: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestCompareBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"compare", "nope.json", "nope2.json"}, "BASE: nope.json: no such file"},
		{[]string{"compare", "../report/testdata/locust/locust", "ftp://x/y"}, `NEW: ftp://x/y: unsupported scheme "ftp"`},
		{[]string{"compare", "a", "b", "--alpha", "2"}, "--alpha"},
		{[]string{"compare", "file://" + t.TempDir(), "b"}, "no result files"},
		{[]string{"report", "--csv", "../report/testdata/locust/locust", "-o", filepath.Join(t.TempDir(), "r.html"), "--threshold", "p95<baseline*1.1"},
			`--threshold "p95<baseline*1.1": refers to a baseline, but none was given`},
	} {
		r := runMain(t, tc.args...)
		if r.code != ExitConfig || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr:\n%s\nwant %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// assertSelfContainedPage checks that a page loads nothing from elsewhere.
func assertSelfContainedPage(t *testing.T, page string) {
	t.Helper()
	for _, bad := range []string{"src=", "href=\"http", "url(", "@import"} {
		if strings.Contains(page, bad) {
			t.Errorf("page references %q", bad)
		}
	}
}

func TestBaselineThresholdExitCodes(t *testing.T) {
	base, r := demoRun(t, 1)
	if r.code != ExitOK {
		t.Fatalf("base run: exit %d\n%s", r.code, r.stderr)
	}
	tests := []struct {
		name    string
		scale   float64
		flags   []string
		code    int
		wantOut string
		wantErr string
		skipped bool
	}{
		{name: "slower fails", scale: 1.5, flags: []string{"--baseline", base + ".json", "--threshold", "p95<baseline*1.10", "--threshold", "rps>0"},
			code: ExitFailed, wantOut: "FAIL  p95<baseline*1.10  (p95 = "},
		{name: "same passes, from a results URL", scale: 1, flags: []string{"--baseline", "file://" + filepath.Dir(base), "--threshold", "p95<baseline*3",
			"--threshold", "error_rate<=baseline+0.5%", "--threshold", "rps{name=/api/products}>baseline*0.2"},
			code: ExitOK, wantOut: "all 3 thresholds passed"},
		{name: "from CSV files", scale: 1.5, flags: []string{"--baseline", base, "--threshold", "p50{name=/api/products}<baseline*1.10"},
			code: ExitFailed, wantOut: "FAIL  p50{name=/api/products}<baseline*1.10"},
		{name: "missing baseline", scale: 1, flags: []string{"--baseline", base + "-nope.json", "--threshold", "p95<baseline*1.10"},
			code: ExitConfig, wantErr: "--baseline: " + base + "-nope.json: no such file"},
		{name: "relative threshold without --baseline", scale: 1, flags: []string{"--threshold", "p95<baseline*1.10"},
			code: ExitConfig, wantErr: `--threshold "p95<baseline*1.10": refers to a baseline, but none was given (--baseline)`},
		{name: "optional baseline missing", scale: 1, flags: []string{"--baseline", base + "-nope.json", "--baseline-optional", "--threshold", "p95<baseline*1.10", "--threshold", "requests>0", "--html", base + "-optional.html"},
			code: ExitOK, wantOut: "skip  p95<baseline*1.10  (skipped: --baseline cannot be read)", wantErr: "thresholds relative to it are skipped", skipped: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prefix, r, received := demoRunCount(t, tc.scale, tc.flags...)
			if r.code != tc.code || !strings.Contains(r.stdout, tc.wantOut) || !strings.Contains(r.stderr, tc.wantErr) {
				t.Fatalf("exit %d, want %d; want stdout %q, stderr %q\nstdout:\n%s\nstderr:\n%s", r.code, tc.code, tc.wantOut, tc.wantErr, r.stdout, r.stderr)
			}
			if tc.code == ExitConfig {
				if received != 0 {
					t.Errorf("the target received %d requests: a bad baseline must fail before the test runs", received)
				}
				return
			}
			b, err := os.ReadFile(prefix + ".json")
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Thresholds []struct {
					Expr     string   `json:"expr"`
					Passed   bool     `json:"passed"`
					Skipped  bool     `json:"skipped"`
					Baseline *float64 `json:"baseline"`
				} `json:"thresholds"`
			}
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			th := doc.Thresholds[0]
			if th.Skipped != tc.skipped || (th.Baseline == nil) != tc.skipped || th.Passed != (tc.code == ExitOK) {
				t.Errorf("JSON verdict: %+v", th)
			}
			if tc.skipped {
				page, err := os.ReadFile(base + "-optional.html")
				if err != nil || !strings.Contains(string(page), `<span class="na">skipped</span>`) {
					t.Errorf("HTML report lacks the skipped verdict: %v", err)
				}
			}
		})
	}
}
