package web_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/stampede-load/stampede/internal/browsertest"
)

// The browser test drives Debian's Chromium against the real binary: it
// starts `stampede run` with the web UI behind a password, logs in, starts
// a test from the form, watches statistics and charts fill in, edits the
// user count, stops, downloads the CSV and checks it, and writes
// screenshots of every tab to $STAMPEDE_TEST_OUT (default testdata/out).

const (
	webUser = "tester"
	webPass = "s3cret:with:colons"
)

// chromiumPath finds Chromium (browsertest.Chromium).
func chromiumPath(t *testing.T) string { return browsertest.Chromium(t) }

func outDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("STAMPEDE_TEST_OUT")
	if dir == "" {
		dir = filepath.Join("testdata", "out")
	}
	dir = filepath.Join(dir, "web")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// buildBinary builds cmd/stampede once per test run (tests share it), or
// returns $STAMPEDE_TEST_BIN when set (a binary built elsewhere, e.g. from
// a clean checkout).
func buildBinary(t *testing.T, _ string) string {
	t.Helper()
	if bin := os.Getenv("STAMPEDE_TEST_BIN"); bin != "" {
		return bin
	}
	testBinary.once.Do(func() {
		dir, err := os.MkdirTemp("", "stampede-web-test-*")
		if err != nil {
			testBinary.err = err
			return
		}
		testBinary.dir = dir
		bin := filepath.Join(dir, "stampede")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/stampede-load/stampede/cmd/stampede")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			testBinary.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		testBinary.path = bin
	})
	if testBinary.err != nil {
		t.Fatal(testBinary.err)
	}
	return testBinary.path
}

// testBinary is the binary built for this test run; TestMain removes it.
var testBinary struct {
	once      sync.Once
	path, dir string
	err       error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testBinary.dir != "" {
		os.RemoveAll(testBinary.dir)
	}
	os.Exit(code)
}

// target is the loopback system under test: a home page, items, and an
// endpoint that always fails.
func target(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<html><body>home</body></html>")
	})
	mux.HandleFunc("GET /item/{id}", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id": %q}`, r.PathValue("id"))
	})
	mux.HandleFunc("POST /broken", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "deliberately broken", http.StatusInternalServerError)
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

const browserScript = `
host = %q

def home(u):
    u.http.get("/")

def item(u):
    u.http.get("/item/%%d" %% random.int(1, 50), name="/item/{id}")

def broken(u):
    u.http.post("/broken", json={"x": 1})

def flaky(u):
    if random.int(1, 4) == 1:
        fail("deliberate script error in flaky()")
    u.http.get("/")

def admin(u):
    u.http.get("/admin-only")

browser = user(tasks=[home, item, item, item], weight=3, wait_time=between(0.02, 0.05))
buyer = user(tasks=[item, broken, flaky, task(admin, tags=["admin"])], wait_time=between(0.02, 0.05))
`

// manyNamesScript makes 2,000 distinct request names within seconds.
const manyNamesScript = `
host = %q

def sweep(u):
    for i in range(2000):
        u.http.get("/", name="/names/" + str(10000 + i))

sweeper = user(tasks=[sweep], wait_time=between(0.5, 1))
`

type proc struct {
	cmd    *exec.Cmd
	url    string
	mu     sync.Mutex
	stderr strings.Builder
	done   chan error
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// startStampede runs the binary and waits for the "web UI ready" line.
func startStampede(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	// A clean environment: no STAMPEDE_* of the developer's leaks in.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan error, 1)}
	ready := make(chan string, 1)
	re := regexp.MustCompile(`web UI ready.* url=(\S+)`)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stderr.WriteString(line + "\n")
			p.mu.Unlock()
			if m := re.FindStringSubmatch(line); m != nil {
				select {
				case ready <- m[1]:
				default:
				}
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	select {
	case p.url = <-ready:
	case err := <-p.done:
		t.Fatalf("stampede exited before serving: %v\n%s", err, p.log())
	case <-time.After(30 * time.Second):
		t.Fatalf("no 'web UI ready' line after 30 s\n%s", p.log())
	}
	return p
}

func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	chromium := chromiumPath(t)
	out := outDir(t)
	tmp := t.TempDir()
	bin := buildBinary(t, tmp)
	tgt := target(t)
	scriptFile := filepath.Join(tmp, "web.star")
	if err := os.WriteFile(scriptFile, []byte(fmt.Sprintf(browserScript, tgt.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	csvPrefix := filepath.Join(tmp, "results", "run")
	// The script fails on purpose (failures and exceptions to show):
	// that must not make the UI process exit non-zero at Ctrl-C.
	p := startStampede(t, bin, "run", "-f", scriptFile, "--web-host", "127.0.0.1", "--web-port", "0",
		"--web-auth", webUser+":"+webPass, "--csv", csvPrefix, "-u", "6", "-r", "6", "--exit-code-on-error", "0")
	base := p.url
	// A hung server fails the test instead of hanging the run.
	client := &http.Client{Timeout: 15 * time.Second}
	// cur is the process the browser looks at, for failure logs.
	cur := p

	t.Run("401 without credentials", func(t *testing.T) {
		for _, r := range []struct{ method, path string }{
			{"GET", "/"}, {"GET", "/assets/app.js"}, {"GET", "/stats/requests"}, {"GET", "/api/events"},
			{"GET", "/metrics"}, {"GET", "/stats/requests/csv"}, {"GET", "/stats/failures/csv"},
			{"GET", "/exceptions/csv"}, {"GET", "/stats/requests_full_history/csv"}, {"GET", "/exceptions"},
			{"GET", "/tasks"}, {"GET", "/stats/summary.json"}, {"POST", "/swarm"}, {"POST", "/stop"}, {"POST", "/stats/reset"},
		} {
			req, _ := http.NewRequest(r.method, base+r.path, strings.NewReader("user_count=1&spawn_rate=1"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s without credentials: %d, want 401", r.method, r.path, res.StatusCode)
			}
		}
	})

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(tmp, "chrome-profile")),
		chromedp.WindowSize(1366, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(actx)
	defer cancelCtx()
	// Start the browser on a context without a deadline (a deadline on
	// the first run would bound the browser's life), then bound the test.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()

	// Log in as a person does: answer the browser's basic-auth challenge.
	var nChallenges atomic.Int32
	var consoleMu sync.Mutex
	var console []string
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *fetch.EventRequestPaused:
			go func() {
				_, _ = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
			}()
		case *cdpruntime.EventExceptionThrown:
			consoleMu.Lock()
			console = append(console, "exception: "+ev.ExceptionDetails.Text+" "+exceptionText(ev.ExceptionDetails))
			consoleMu.Unlock()
		case *cdpruntime.EventConsoleAPICalled:
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			consoleMu.Lock()
			console = append(console, string(ev.Type)+": "+strings.Join(parts, " "))
			consoleMu.Unlock()
		case *fetch.EventAuthRequired:
			nChallenges.Add(1)
			go func() {
				_, _ = chromedp.Call(ctx, fetch.ContinueWithAuth, fetch.ContinueWithAuthParams{RequestID: ev.RequestID,
					AuthChallengeResponse: &fetch.AuthChallengeResponse{
						Response: fetch.AuthChallengeResponseResponseProvideCredentials, Username: webUser, Password: webPass}})
			}()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	downloads := filepath.Join(tmp, "downloads")
	if err := os.MkdirAll(downloads, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			buf, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(out, name+".png"), buf, 0o644)
		})
	}
	poll := func(what, js string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(100*time.Millisecond),
				chromedp.WithPollingTimeout(45*time.Second))(ctx, tg)
			if err != nil {
				return fmt.Errorf("waiting for %s (%s): %w", what, js, err)
			}
			return nil
		})
	}
	tab := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Click(chromedp.CSS(`.tabs button[data-tab="` + name + `"]`))
	}
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			_ = chromedp.Do(ctx, shot("failure"))
			consoleMu.Lock()
			defer consoleMu.Unlock()
			t.Fatalf("%s: %v\nbrowser console:\n%s\nstampede log:\n%s", step, err, strings.Join(console, "\n"), cur.log())
		}
	}
	id := func(s string) chromedp.ID { return chromedp.ID(s) }
	// setValue fills an input as typing would: value, then an input event.
	setValue := func(elem, value string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
			const el = document.getElementById(%q);
			el.focus(); el.value = %q;
			el.dispatchEvent(new Event("input", {bubbles: true}));
		})()`, elem, value))
	}

	run("open the page and log in",
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := cdp.Call(ctx, tg, fetch.Enable, fetch.EnableParams{HandleAuthRequests: new(true)}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, tg, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads, EventsEnabled: new(true)})
			return err
		}),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(id("start-form")),
		poll("the state", `document.getElementById("state").textContent === "ready"`),
		// The form holds -u/-r and the script's host.
		poll("the defaults", `document.getElementById("users").value === "6" && document.getElementById("host").value === `+jsString(tgt.URL)),
		poll("the class picker", `document.querySelectorAll("#classes input[type=checkbox]").length === 2`),
		poll("the script's tags", `document.getElementById("task-tags").textContent === "Tags in this script: admin"`),
		shot("01-start-form"),
	)
	if nChallenges.Load() == 0 {
		t.Error("the browser was never asked for credentials")
	}

	run("bad input is refused with the field named",
		setValue("users", "10"),
		setValue("spawn-rate", "0"),
		chromedp.Click(id("start-btn")),
		chromedp.WaitVisible(id("start-error")),
		poll("the error", `document.getElementById("start-error").textContent.startsWith("Spawn rate: ") && document.getElementById("spawn-rate").classList.contains("invalid")`),
		shot("02-start-form-error"),
	)

	run("a tag selection that leaves no task is refused on the tags field",
		setValue("spawn-rate", "10"),
		chromedp.Click(chromedp.CSS("#advanced summary")),
		setValue("tags", "nope"),
		chromedp.Click(id("start-btn")),
		poll("the error", `document.getElementById("start-error").textContent.includes("no task of any user class is left by --tags nope") && document.getElementById("tags").classList.contains("invalid") && document.getElementById("advanced").open`),
		shot("02b-tags-error"),
		setValue("tags", ""),
		// The admin task is left out of the test: no row for it below.
		setValue("exclude-tags", "admin"),
	)

	run("start a test from the form",
		setValue("run-time", ""),
		chromedp.Click(id("start-btn")),
		chromedp.WaitNotVisible(id("start-panel")),
		poll("running state", `["spawning","running"].includes(window.stampede.ev && window.stampede.ev.state)`),
		poll("the exclude tags", `JSON.stringify(window.stampede.ev.exclude_tags) === '["admin"]'`),
		poll("statistics rows", `document.querySelectorAll("#stats-body tr:not(.spacer)").length === 3`),
		poll("ten users", `window.stampede.ev.users === 10`),
		poll("failures", `window.stampede.ev.error_count >= 1 && window.stampede.ev.exception_count >= 1`),
		poll("a few seconds of history", `window.stampede.hist.t.length >= 4`),
		shot("03-statistics"),
	)

	run("sort the table by request count",
		chromedp.Click(chromedp.CSS(`#stats-head th[data-key="reqs"] button`)),
		poll("sorted rows", `(() => {
			const v = [...document.querySelectorAll("#stats-body tr:not(.spacer) td:nth-child(3)")].map(td => Number(td.textContent.replace(/,/g, "")));
			return v.length === 3 && v.every((x, i) => i === 0 || v[i-1] >= x);
		})()`),
	)

	run("charts",
		tab("charts"),
		poll("chart data", `(() => {
			const c = window.stampede.charts;
			return c.rps && c.lat && c.users && c.rps.data[0].length >= 4 &&
				c.rps.data[1].some(v => v > 0) && c.lat.data[2].some(v => v > 0) && c.users.data[1].some(v => v === 10);
		})()`),
		poll("chart canvases", `document.querySelectorAll("#tab-charts canvas").length === 3`),
		shot("04-charts"),
	)
	run("failures", tab("failures"),
		poll("failure rows", `document.querySelectorAll("#failures-body tr").length >= 1 && document.getElementById("failures-body").textContent.includes("/broken")`),
		shot("05-failures"))
	run("exceptions", tab("exceptions"),
		poll("tracebacks", `document.querySelector("#exceptions-list pre") !== null && document.getElementById("exceptions-list").textContent.includes("deliberate script error")`),
		shot("06-exceptions"))
	run("workers", tab("workers"), poll("workers tab", `!document.getElementById("workers-empty").hidden`), shot("07-workers"))
	run("regions", tab("regions"), poll("regions tab", `!document.getElementById("regions-empty").hidden`), shot("08-regions"))

	run("edit the user count",
		tab("stats"),
		chromedp.Click(id("edit-btn")),
		chromedp.WaitVisible(id("edit-form")),
		setValue("edit-users", "3"),
		shot("09-edit"),
		chromedp.Click(id("edit-submit")),
		chromedp.WaitNotVisible(id("edit-panel")),
		poll("three users", `window.stampede.ev.target === 3 && window.stampede.ev.users === 3`),
		poll("the header", `document.getElementById("kpi-users").textContent === "3"`),
	)

	run("dark theme and a narrow window",
		chromedp.Click(id("theme-btn")),
		poll("dark", `document.documentElement.getAttribute("data-theme") === "dark"`),
		shot("10-statistics-dark"),
		tab("charts"),
		poll("charts redrawn", `document.querySelectorAll("#tab-charts canvas").length === 3`),
		shot("11-charts-dark"),
		chromedp.EmulateViewport(420, 860),
		chromedp.Sleep(400*time.Millisecond),
		shot("12-charts-narrow"),
		tab("stats"),
		chromedp.Sleep(300*time.Millisecond),
		shot("13-statistics-narrow"),
		chromedp.EmulateViewport(1366, 900),
		chromedp.Click(id("theme-btn")),
	)

	// GET /stop must not stop the test.
	req, _ := http.NewRequest("GET", base+"/stop", nil)
	req.SetBasicAuth(webUser, webPass)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /stop: %d, want 405", res.StatusCode)
	}

	run("stop",
		poll("still running after GET /stop", `window.stampede.ev.state === "running"`),
		chromedp.Click(id("stop-btn")),
		poll("stopped", `window.stampede.ev.state === "stopped"`),
		poll("new test button", `!document.getElementById("new-btn").hidden`),
		shot("14-stopped"),
	)

	run("download the statistics CSV",
		tab("download"),
		shot("15-download"),
		chromedp.Click(chromedp.CSS(`#downloads a[href="stats/requests/csv"]`)),
	)
	file := waitDownload(t, downloads, "requests_", ".csv")
	checkStatsCSV(t, file)
	run("download the HTML report",
		poll("the report link", `!document.getElementById("dl-report").hidden`),
		chromedp.Click(chromedp.CSS(`#downloads a[href="stats/report?download=1"]`)),
	)
	rep, err := os.ReadFile(waitDownload(t, downloads, "report_", ".html"))
	if err != nil || !strings.Contains(string(rep), "<html") || !strings.Contains(string(rep), "/item/{id}") {
		t.Errorf("HTML report: %v\n%.300s", err, rep)
	}

	// Ctrl-C: the UI process exits and still writes its --csv outputs.
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("stampede exited with %v\n%s", err, p.log())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("stampede did not exit after SIGINT\n%s", p.log())
	}
	checkStatsCSV(t, csvPrefix+"_stats.csv")
	for _, suffix := range []string{"_stats_history.csv", "_failures.csv", "_exceptions.csv"} {
		if st, err := os.Stat(csvPrefix + suffix); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", suffix, err)
		}
	}

	// 2,000 request names: the table and the stream stay fast.
	manyFile := filepath.Join(tmp, "many.star")
	if err := os.WriteFile(manyFile, []byte(fmt.Sprintf(manyNamesScript, tgt.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	cur = startStampede(t, bin, "run", "-f", manyFile, "--web-host", "127.0.0.1", "--web-port", "0",
		"--web-auth", webUser+":"+webPass, "--autostart", "-u", "2", "-r", "2", "--max-names", "5000") // above the default 1000
	run("2,000 request names",
		chromedp.Navigate(cur.url+"/"),
		poll("2,000 names", `window.stampede.ev && window.stampede.ev.entries.length === 2000 &&
			document.getElementById("rows-info").textContent === "2000 request names"`),
		// Only the rows in view exist; scrolling to the end shows the last name.
		poll("a window of rows", `(() => {
			const n = document.querySelectorAll("#stats-body tr:not(.spacer)").length;
			return n > 10 && n < 300 && document.getElementById("stats-body").textContent.includes("/names/10000");
		})()`),
		chromedp.Sleep(2500*time.Millisecond),
		shot("16-statistics-2000-names"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("stats-wrap").scrollTop = 1e7`),
		poll("the last name after scrolling", `document.getElementById("stats-body").textContent.includes("/names/11999")`),
		shot("17-statistics-2000-names-end"),
	)
	renderMs, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.stampede.renderMs`))
	if err != nil {
		t.Fatal(err)
	}
	eventBytes, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.stampede.eventBytes`))
	if err != nil {
		t.Fatal(err)
	}
	sortMs, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`(() => {
		const t0 = performance.now();
		document.querySelector('#stats-head th[data-key="reqs"] button').click();
		return performance.now() - t0;
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("2,000 names: one update renders in %.1f ms, sorting takes %.1f ms, one event is %.0f KB of JSON", renderMs, sortMs, eventBytes/1024)
	// Generous bounds for a loaded 2-core CI machine; typical figures are
	// a tenth of these.
	if renderMs > 250 || sortMs > 500 {
		t.Errorf("the statistics table is slow with 2,000 names: update %.0f ms, sort %.0f ms", renderMs, sortMs)
	}
	if err := cur.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cur.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("second stampede did not exit\n%s", cur.log())
	}
	t.Logf("screenshots in %s", out)
}

func exceptionText(d *cdpruntime.ExceptionDetails) string {
	if d.Exception != nil {
		return d.Exception.Description
	}
	return ""
}

func jsString(s string) string { return fmt.Sprintf("%q", s) }

// waitDownload waits for a finished download named prefix*suffix.
func waitDownload(t *testing.T, dir, prefix, suffix string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), prefix) && strings.HasSuffix(e.Name(), suffix) {
				return filepath.Join(dir, e.Name())
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no %s*%s downloaded into %s", prefix, suffix, dir)
	return ""
}

// checkStatsCSV checks a _stats.csv: Locust's header, the script's
// request names, and an Aggregated row whose count is the sum of the rows.
func checkStatsCSV(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(rows) < 3 || strings.Join(rows[0][:4], ",") != "Type,Name,Request Count,Failure Count" || rows[0][len(rows[0])-1] != "100%" {
		t.Fatalf("%s: header %v", path, rows[0])
	}
	names := map[string]bool{}
	var sum, total int
	for _, r := range rows[1:] {
		var n int
		fmt.Sscan(r[2], &n)
		if r[1] == "Aggregated" {
			total = n
			continue
		}
		names[r[0]+" "+r[1]] = true
		sum += n
	}
	for _, want := range []string{"GET /", "GET /item/{id}", "POST /broken"} {
		if !names[want] {
			t.Errorf("%s: no row %q in %v", path, want, names)
		}
	}
	if names["GET /admin-only"] {
		t.Errorf("%s: the task excluded by tag (exclude tags \"admin\" in the start form) ran", path)
	}
	if total == 0 || total != sum {
		t.Errorf("%s: Aggregated %d, rows add up to %d", path, total, sum)
	}
}
