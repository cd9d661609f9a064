package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/stampede-load/stampede/internal/browsertest"
	"github.com/stampede-load/stampede/internal/logring"
	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/report"
	"github.com/stampede-load/stampede/internal/stats"
)

// browser is one headless Chromium for an in-package browser test, with
// the page's exceptions and console errors collected.
type browser struct {
	t   *testing.T
	ctx context.Context
	out string

	mu      sync.Mutex
	console []string
}

// newBrowser starts Chromium with a window of w×h pixels, or skips the
// test where there is none (a failure in CI).
func newBrowser(t *testing.T, w, h int) *browser {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	chromium := browsertest.Chromium(t)
	out := os.Getenv("STAMPEDE_TEST_OUT")
	if out == "" {
		out = filepath.Join("testdata", "out")
	}
	out = filepath.Join(out, "web")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.Flag("headless", true), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(w, h),
		// Scrollbars take room, as on a desktop: a layout must survive one
		// appearing.
		chromedp.Flag("hide-scrollbars", false),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(cancelCtx)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancel)
	b := &browser{t: t, ctx: ctx, out: out}
	if err := chromedp.Listen(ctx, func(ev any) {
		var line string
		switch ev := ev.(type) {
		case *cdpruntime.EventExceptionThrown:
			line = "exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				line += " " + ev.ExceptionDetails.Exception.Description
			}
		case *cdpruntime.EventConsoleAPICalled:
			if ev.Type != cdpruntime.ConsoleAPICalledTypeError && ev.Type != cdpruntime.ConsoleAPICalledTypeWarning {
				return
			}
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			line = string(ev.Type) + ": " + strings.Join(parts, " ")
		default:
			return
		}
		b.mu.Lock()
		b.console = append(b.console, line)
		b.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	return b
}

// run runs the actions of one step; a failure ends the test with a
// screenshot and the page's errors.
func (b *browser) run(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		_ = chromedp.Do(b.ctx, b.shot("failure-"+strings.ReplaceAll(b.t.Name(), "/", "-")))
		page, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => { const s = window.stampede; return location.href + " " +
			JSON.stringify(s && {tab: s.tab, state: s.ev && s.ev.state, points: s.hist.t.length, regions: Object.keys(s.hist.regions)}); })()`))
		b.t.Fatalf("%s: %v\npage: %s\npage errors:\n%s", step, err, page, strings.Join(b.errors(), "\n"))
	}
}

func (b *browser) errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.console...)
}

// noErrors fails the test if the page threw or logged an error.
func (b *browser) noErrors() {
	b.t.Helper()
	if errs := b.errors(); len(errs) > 0 {
		b.t.Errorf("the page reported errors:\n%s", strings.Join(errs, "\n"))
	}
}

func (b *browser) poll(what, js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(100*time.Millisecond),
			chromedp.WithPollingTimeout(30*time.Second))(ctx, tg); err != nil {
			return fmt.Errorf("waiting for %s (%s): %w", what, js, err)
		}
		return nil
	})
}

// eval returns a JavaScript expression's value.
func evalJS[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("%s: %v", js, err)
	}
	return v
}

func (b *browser) shot(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		buf, err := chromedp.FullScreenshot(100)(ctx, tg)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(b.out, name+".png"), buf, 0o644)
	})
}

func jsonDecode(res *http.Response, v any) error {
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", res.Request.URL.Path, res.Status)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

// setInput fills an input as typing would: value, then an input event.
func setInput(id, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const el = document.getElementById(%q);
		el.focus(); el.value = %q;
		el.dispatchEvent(new Event("input", {bubbles: true}));
	})()`, id, value))
}

// requestLog records the method, path and status of every request a
// handler answers: what the page really sent.
type requestLog struct {
	mu   sync.Mutex
	seen []string
}

func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		l.mu.Lock()
		l.seen = append(l.seen, fmt.Sprintf("%s %s %d", r.Method, r.URL.Path, rec.code))
		l.mu.Unlock()
	})
}

func (l *requestLog) count(line string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.seen {
		if s == line {
			n++
		}
	}
	return n
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// Flush passes flushes on, for the event stream.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestBrowserCredentialsInURL opens the UI as http://user:pass@host/ (basic
// auth on) and drives start, edit, reset and stop: every request is built
// without the URL's credentials and reaches the server, and after the stop
// the header, the table and the JSON show no current rate.
func TestBrowserCredentialsInURL(t *testing.T) {
	f := newFixture(t, "tester:pa55", false)
	var log requestLog
	ts := httptest.NewServer(log.wrap(f.srv.Handler()))
	t.Cleanup(ts.Close)
	// After the servers: the browser closes first (cleanups run last in,
	// first out), ending the event stream Close waits for.
	b := newBrowser(t, 1366, 900)
	withCreds := strings.Replace(ts.URL, "http://", "http://tester:pa55@", 1) + "/"

	b.run("open the page with credentials in the URL",
		chromedp.Navigate(withCreds),
		b.poll("ready", `document.getElementById("state").textContent === "ready"`),
		// api/info arrived: the class picker and the percentile columns.
		b.poll("the class picker", `document.querySelectorAll("#classes input[type=checkbox]").length === 2`),
		b.poll("the start form", `!document.getElementById("start-panel").hidden`),
	)
	b.run("start",
		setInput("users", "4"), setInput("spawn-rate", "4"),
		chromedp.Click(chromedp.ID("start-btn")),
		chromedp.WaitNotVisible(chromedp.ID("start-panel")),
		b.poll("running", `window.stampede.ev.state === "running" && window.stampede.ev.target === 4`),
		b.poll("rows", `document.querySelectorAll("#stats-body tr:not(.spacer)").length === 2`),
		b.poll("a current rate", `window.stampede.ev.rps > 0`),
	)
	b.run("edit",
		chromedp.Click(chromedp.ID("edit-btn")),
		chromedp.WaitVisible(chromedp.ID("edit-form")),
		setInput("edit-users", "2"),
		chromedp.Click(chromedp.ID("edit-submit")),
		chromedp.WaitNotVisible(chromedp.ID("edit-panel")),
		b.poll("two users", `window.stampede.ev.target === 2`),
	)
	b.run("reset", chromedp.Click(chromedp.ID("reset-btn")))
	deadline := time.Now().Add(10 * time.Second)
	for log.count("POST /stats/reset 200") == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	// Stop only once both names were requested again since the reset, so
	// the rows checked after the stop exist (a stop right after a reset
	// leaves an empty table).
	for time.Now().Before(deadline) {
		var st struct {
			Stats []map[string]any `json:"stats"`
		}
		f.srv.invalidate()
		if err := jsonDecode(f.do("GET", "/stats/requests", "tester", "pa55", "", ""), &st); err != nil {
			t.Fatal(err)
		}
		if len(st.Stats) == 3 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.run("stop",
		chromedp.Click(chromedp.ID("stop-btn")),
		b.poll("stopped", `window.stampede.ev.state === "stopped"`),
		// No current figures after a stop, in the header and the table.
		b.poll("zero current rate", `document.getElementById("kpi-rps").textContent === "0.00" &&
			document.getElementById("kpi-lat").textContent === "–"`),
		// The reset just before the stop empties the table: a name the users
		// did not request again in between has no row (a loaded machine), so
		// only "every row there is" is asserted, with the Aggregated footer.
		b.poll("zero current RPS cells", `(() => {
			const i = [...document.querySelectorAll("#stats-head th")].findIndex(th => th.textContent.startsWith("Current RPS"));
			const cells = [...document.querySelectorAll("#stats-body tr:not(.spacer), #stats-foot tr")].map(tr => tr.children[i].textContent);
			return i >= 0 && cells.length >= 1 && cells.every(c => c === "0.00");
		})()`),
		b.shot("30-stopped"),
	)
	for _, want := range []string{"POST /swarm 200", "POST /stats/reset 200", "POST /stop 200", "GET /api/info 200"} {
		if log.count(want) == 0 {
			t.Errorf("the server never answered %q; it saw %v", want, log.seen)
		}
	}
	if n := log.count("POST /swarm 200"); n != 2 {
		t.Errorf("%d successful POST /swarm, want 2 (start and edit)", n)
	}
	if p := f.eng.Params(); p.Users != 2 {
		t.Errorf("engine has %d users, want 2 from the edit", p.Users)
	}
	// STOPPED is a neutral badge, not the alarm colour of failures.
	if c := evalJS[string](b, `getComputedStyle(document.getElementById("state")).color`); c == evalJS[string](b, `getComputedStyle(document.querySelector(".error") || document.body).color`) {
		t.Errorf("the stopped badge has the error colour %s", c)
	}
	// The JSON agrees: no current rate once stopped.
	var stats struct {
		Stats []map[string]any `json:"stats"`
		RPS   float64          `json:"total_rps"`
		Pct   map[string]any   `json:"current_response_time_percentiles"`
	}
	f.srv.invalidate()
	res := f.do("GET", "/stats/requests", "tester", "pa55", "", "")
	if err := jsonDecode(res, &stats); err != nil {
		t.Fatal(err)
	}
	if stats.RPS != 0 || len(stats.Stats) != 3 {
		t.Errorf("after the stop: total_rps %g, %d rows", stats.RPS, len(stats.Stats))
	}
	for _, r := range stats.Stats {
		if r["current_rps"] != 0.0 || r["current_fail_per_sec"] != 0.0 || r["num_requests"] == 0.0 {
			t.Errorf("after the stop: row %v", r)
		}
	}
	for k, v := range stats.Pct {
		if v != 0.0 {
			t.Errorf("after the stop: %s = %v", k, v)
		}
	}
	b.noErrors()
}

// TestBrowserStatsTable checks the statistics table: the default columns
// (p95 and p99 beside the median), the column chooser remembered across a
// reload, natural name order, and no row below the sticky Aggregated
// footer while scrolled.
func TestBrowserStatsTable(t *testing.T) {
	f := newFixture(t, "", false)
	names := []string{"name-249", "name-25", "name-250", "name-3"}
	for i := range 60 {
		names = append(names, fmt.Sprintf("/page/%d", i))
	}
	f.drv.names = names
	f.start(url.Values{"user_count": {"2"}, "spawn_rate": {"2"}})
	f.waitRequests()
	b := newBrowser(t, 1366, 900)
	headers := `[...document.querySelectorAll("#stats-head th")].map(th => th.textContent).join("|")`
	b.run("the default columns",
		chromedp.Navigate(f.ts.URL+"/"),
		b.poll("rows", `document.querySelectorAll("#stats-body tr:not(.spacer)").length === 66`),
	)
	want := "Type|Name|# Requests|# Fails|Median (ms)|95%|99%|Average (ms)|Max (ms)|Current RPS|Current failures/s"
	if got := evalJS[string](b, headers); got != want {
		t.Errorf("columns\n got %s\nwant %s", got, want)
	}
	// The table fits the window: no horizontal scrolling for p99.
	if sw := evalJS[float64](b, `(() => { const w = document.getElementById("stats-wrap"); return w.scrollWidth - w.clientWidth; })()`); sw > 0 {
		t.Errorf("the table scrolls sideways by %g px at 1366 px", sw)
	}

	b.run("choose columns",
		chromedp.Click(chromedp.CSS("#col-chooser summary")),
		chromedp.Click(chromedp.CSS(`#col-list input[value="min"]`)),
		chromedp.Click(chromedp.CSS(`#col-list input[value="avg"]`)),
		b.poll("min shown, average hidden", headers+` === "Type|Name|# Requests|# Fails|Median (ms)|95%|99%|Min (ms)|Max (ms)|Current RPS|Current failures/s"`),
		b.poll("cells follow", `document.querySelector("#stats-body tr:not(.spacer)").children.length === 11`),
		chromedp.Reload(),
		b.poll("remembered after a reload", headers+` === "Type|Name|# Requests|# Fails|Median (ms)|95%|99%|Min (ms)|Max (ms)|Current RPS|Current failures/s"`),
		b.poll("rows", `document.querySelectorAll("#stats-body tr:not(.spacer)").length === 66`),
	)

	b.run("natural name order",
		chromedp.Click(chromedp.CSS(`#stats-head th[data-key="name"] button`)),
		b.poll("sorted by name", `document.querySelector('#stats-head th[data-key="name"]').getAttribute("aria-sort") === "ascending"`),
	)
	order := evalJS[string](b, `[...document.querySelectorAll("#stats-body tr:not(.spacer) td.name")].map(td => td.textContent).filter(n => n.startsWith("name-")).join(",")`)
	if order != "name-3,name-25,name-249,name-250" {
		t.Errorf("names in order %s, want name-3,name-25,name-249,name-250", order)
	}

	b.run("the footer covers the end of the scrolled table",
		chromedp.Evaluate[chromedp.Void](`document.getElementById("stats-wrap").scrollTop = 300`),
		chromedp.Sleep(200*time.Millisecond),
		b.shot("31-stats-scrolled"),
	)
	// Every pixel row from the footer's top to the end of the box's
	// visible area is the footer: no scrolled row shows below it, and the
	// box ends inside the window.
	below := evalJS[string](b, `(() => {
		const w = document.getElementById("stats-wrap"), r = w.getBoundingClientRect();
		if (r.bottom > window.innerHeight) return "the box ends below the window";
		const foot = document.querySelector("#stats-foot td").getBoundingClientRect();
		for (let y = Math.ceil(foot.top); y < r.top + w.clientTop + w.clientHeight; y++) {
			for (const x of [foot.left + 4, r.left + r.width / 2]) {
				const el = document.elementFromPoint(x, y);
				if (!el || !el.closest("#stats-foot")) return "at y=" + y + ": " + (el ? el.outerHTML.slice(0, 60) : "nothing");
			}
		}
		return "";
	})()`)
	if below != "" {
		t.Errorf("something other than the Aggregated footer shows at the bottom of the table: %s", below)
	}
	b.noErrors()
}

// TestBrowserKeyboard operates the tabs and the sorting with the keyboard
// only: arrow keys, Home and End select tabs (aria-selected, one tab in
// the Tab order), Tab reaches the sort buttons, Enter sorts (aria-sort).
func TestBrowserKeyboard(t *testing.T) {
	f := newFixture(t, "", false)
	f.start(url.Values{"user_count": {"2"}, "spawn_rate": {"2"}})
	f.waitRequests()
	b := newBrowser(t, 1366, 900)
	selected := `[...document.querySelectorAll('[role="tab"]')].filter(b => b.getAttribute("aria-selected") === "true").map(b => b.dataset.tab + ":" + b.tabIndex + ":" + (document.activeElement === b) + ":" + document.getElementById(b.getAttribute("aria-controls")).checkVisibility()).join()`
	b.run("open", chromedp.Navigate(f.ts.URL+"/"),
		b.poll("rows", `document.querySelectorAll("#stats-body tr:not(.spacer)").length === 2`),
		chromedp.Focus(chromedp.ID("tabbtn-stats")),
		chromedp.KeyEvent(kb.ArrowRight),
		b.poll("charts selected", selected+` === "charts:0:true:true"`),
		b.poll("one tab in the Tab order", `document.querySelectorAll('[role="tab"][tabindex="0"]').length === 1`),
		chromedp.KeyEvent(kb.End),
		b.poll("the last tab", selected+` === "download:0:true:true"`),
		chromedp.KeyEvent(kb.ArrowRight),
		b.poll("wraps to the first", selected+` === "stats:0:true:true"`),
		chromedp.KeyEvent(kb.ArrowLeft),
		b.poll("wraps to the last", selected+` === "download:0:true:true"`),
		chromedp.KeyEvent(kb.Home),
		b.poll("the first", selected+` === "stats:0:true:true"`),
	)
	// Tab from the selected tab into the panel, on to the first sort button.
	reached := false
	for range 8 {
		b.run("tab", chromedp.KeyEvent("\t"))
		if evalJS[bool](b, `document.activeElement.matches("#stats-head button.sort")`) {
			reached = true
			break
		}
	}
	if !reached {
		t.Fatalf("Tab never reached a sort button; focus is on %s", evalJS[string](b, `document.activeElement.outerHTML.slice(0, 80)`))
	}
	b.run("sort with the keyboard",
		// To the # Requests button: Type, Name, # Requests.
		chromedp.KeyEvent("\t"), chromedp.KeyEvent("\t"),
		b.poll("on # Requests", `document.activeElement.textContent === "# Requests"`),
		chromedp.KeyEvent(kb.Enter),
		b.poll("descending", `document.querySelector('#stats-head th[data-key="reqs"]').getAttribute("aria-sort") === "descending" &&
			document.querySelector('#stats-head th[data-key="name"]').getAttribute("aria-sort") === "none"`),
		chromedp.KeyEvent(" "),
		b.poll("ascending", `document.querySelector('#stats-head th[data-key="reqs"]').getAttribute("aria-sort") === "ascending"`),
		b.poll("rows ascending", `(() => {
			const v = [...document.querySelectorAll("#stats-body tr:not(.spacer) td:nth-child(3)")].map(td => Number(td.textContent.replace(/,/g, "")));
			return v.length === 2 && v[0] <= v[1];
		})()`),
	)
	// The header is not a live region: its figures change every second.
	if n := evalJS[int](b, `document.querySelectorAll("header [aria-live], header[aria-live]").length`); n != 0 {
		t.Errorf("%d live regions in the header", n)
	}
	b.noErrors()
}

// TestBrowserLayout checks the narrow layouts: at 800 and 400 px every
// chart fills its column, the page does not scroll sideways, and an idle
// worker's CPU reads 0%.
func TestBrowserLayout(t *testing.T) {
	f := newFixture(t, "", true)
	f.start(url.Values{"user_count": {"5"}, "spawn_rate": {"5"}})
	f.waitRequests()
	b := newBrowser(t, 1366, 900)
	// Each chart's width against its column's, in px.
	widths := func(sel string) string {
		return evalJS[string](b, `[...document.querySelectorAll(`+jsString(sel)+`)].map(c => {
			const plot = c.querySelector(".uplot");
			return Math.round(c.clientWidth) + ":" + (plot ? Math.round(plot.getBoundingClientRect().width) : 0);
		}).join(" ")`)
	}
	fills := func(what, got string, n int) {
		t.Helper()
		parts := strings.Fields(got)
		if len(parts) != n {
			t.Errorf("%s: %d charts (%s), want %d", what, len(parts), got, n)
		}
		for _, p := range parts {
			var col, plot int
			fmt.Sscanf(p, "%d:%d", &col, &plot)
			if col < 200 || plot < col-2 || plot > col {
				t.Errorf("%s: a chart %d px wide in a %d px column (all: %s)", what, plot, col, got)
			}
		}
	}
	for _, w := range []int64{800, 400} {
		b.run(fmt.Sprint("regions at ", w),
			chromedp.EmulateViewport(w, 900),
			chromedp.Navigate(fmt.Sprintf("%s/?width=%d", f.ts.URL, w)),
			b.poll("the page", `window.stampede.ev && window.stampede.ev.state === "running"`),
			chromedp.Click(chromedp.ID("tabbtn-regions")),
			b.poll("region charts", `document.querySelectorAll("#region-charts canvas").length === 4`),
			chromedp.Sleep(300*time.Millisecond),
			b.shot(fmt.Sprint("32-regions-", w)),
		)
		fills(fmt.Sprint("regions at ", w), widths("#region-charts .pair > div > div:last-child"), 4)
		b.run(fmt.Sprint("charts at ", w),
			chromedp.Click(chromedp.ID("tabbtn-charts")),
			b.poll("charts", `document.querySelectorAll("#tab-charts canvas").length === 3`),
			chromedp.Sleep(300*time.Millisecond),
		)
		fills(fmt.Sprint("charts at ", w), widths("#tab-charts .chart > div"), 3)
		// Time labels stay short (uPlot's "12/1/26 4:47am" under the first
		// tick ran into the next minute's label at 800 px).
		if long := evalJS[string](b, `[...Object.values(stampede.charts), ...Object.values(stampede.regionCharts).flatMap(r => Object.values(r))]
			.filter(u => u && u.axes).flatMap(u => u.axes[0]._values || []).flatMap(v => v.split("\n")).filter(l => l.length > 7).join(" | ")`); long != "" {
			t.Errorf("long time labels at %d px: %s", w, long)
		}
		for _, tab := range []string{"stats", "workers"} {
			b.run(tab, chromedp.Click(chromedp.ID("tabbtn-"+tab)), chromedp.Sleep(200*time.Millisecond))
			if over := evalJS[float64](b, `document.documentElement.scrollWidth - window.innerWidth`); over > 0 {
				t.Errorf("the %s tab at %d px scrolls the page sideways by %g px", tab, w, over)
			}
		}
	}
	b.run("workers", b.poll("workers", `document.querySelectorAll("#workers-body tr").length === 2`))
	if cpu := evalJS[string](b, `[...document.querySelectorAll("#workers-body tr td:nth-child(5)")].map(td => td.textContent).join()`); cpu != "12%,0%" {
		t.Errorf("CPU column %q, want 12%%,0%%", cpu)
	}
	b.noErrors()
}

func jsString(s string) string { return fmt.Sprintf("%q", s) }

// TestBrowserRatioAndFailures shows the Current ratio tab (Locust's
// /tasks: classes, tasks and a task set's own tasks) and sorts the
// failures by name, naturally.
func TestBrowserRatioAndFailures(t *testing.T) {
	f := newFixture(t, "", false)
	f.drv.names = []string{"name-249", "name-25", "name-250", "name-3"}
	f.start(url.Values{"user_count": {"4"}, "spawn_rate": {"4"}})
	f.waitRequests()
	b := newBrowser(t, 1366, 900)
	rows := `[...document.querySelectorAll("#ratio-body tr")].map(tr => [...tr.children].map(td => td.textContent).join(" ")).join("|")`
	b.run("the ratio tab",
		chromedp.Navigate(f.ts.URL+"/"),
		b.poll("running", `window.stampede.ev && window.stampede.ev.state === "running"`),
		chromedp.Click(chromedp.ID("tabbtn-ratio")),
		b.poll("ratio rows", `document.querySelectorAll("#ratio-body tr").length === 8`),
		b.shot("33-ratio"),
	)
	// reader (weight 3) and writer (1); writer's task set "inner" (weight
	// 3 of 4) splits into a and b.
	want := "reader 75.0% 75.0%|a 50.0% 37.5%|b 50.0% 37.5%|writer 25.0% 25.0%|b 25.0% 6.3%|inner 75.0% 18.8%|a 50.0% 9.4%|b 50.0% 9.4%"
	if got := evalJS[string](b, rows); got != want {
		t.Errorf("ratio rows\n got %s\nwant %s", got, want)
	}
	// A page opened on the tab asks for the ratio at once, not after its
	// first two seconds (an empty table until then).
	b.run("open on the ratio tab",
		chromedp.Navigate(f.ts.URL+"/?again#ratio"),
		b.poll("ratio rows", `document.querySelectorAll("#ratio-body tr").length === 8`),
	)
	if wait := evalJS[float64](b, `(() => {
		const r = performance.getEntriesByType("resource"), at = (p) => r.find(e => new URL(e.name).pathname === p);
		return at("/tasks").startTime - at("/api/info").responseEnd;
	})()`); wait > 1500 {
		t.Errorf("the ratio was asked for %.0f ms after the page's info arrived", wait)
	}
	names := `[...document.querySelectorAll("#failures-body tr td:nth-child(3)")].map(td => td.textContent).join(",")`
	b.run("sort the failures by name",
		chromedp.Click(chromedp.ID("tabbtn-failures")),
		b.poll("failures", `document.querySelectorAll("#failures-body tr").length === 5`),
		chromedp.Click(chromedp.CSS(`#failures-head th[data-key="1"] button`)),
		b.poll("by name", names+` === "/fail,name-3,name-25,name-249,name-250" &&
			document.querySelector('#failures-head th[data-key="1"]').getAttribute("aria-sort") === "ascending"`),
		chromedp.Click(chromedp.CSS(`#failures-head th[data-key="1"] button`)),
		b.poll("by name, descending", names+` === "name-250,name-249,name-25,name-3,/fail"`),
	)
	b.noErrors()
}

// TestBrowserClassUsers starts a test with exact per-class user counts
// from the class picker: a bad count is refused under the picker's name,
// good ones reach the driver, and the user count is their sum.
func TestBrowserClassUsers(t *testing.T) {
	f := newFixture(t, "", false)
	b := newBrowser(t, 1366, 900)
	b.run("a bad count",
		chromedp.Navigate(f.ts.URL+"/"),
		b.poll("the picker", `document.querySelectorAll("#classes .class-count").length === 2`),
		setInput("spawn-rate", "5"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('.class-count[data-class="reader"]').value = "-1"`),
		chromedp.Click(chromedp.ID("start-btn")),
		b.poll("the error", `document.getElementById("start-error").textContent.startsWith("User classes: \"reader=-1\" is not CLASS=COUNT") &&
			document.querySelector('.class-count[data-class="reader"]').classList.contains("invalid")`),
	)
	b.run("start with counts",
		chromedp.Evaluate[chromedp.Void](`document.querySelector('.class-count[data-class="reader"]').value = "3";
			document.querySelector('.class-count[data-class="writer"]').value = "1"`),
		chromedp.Click(chromedp.ID("start-btn")),
		chromedp.WaitNotVisible(chromedp.ID("start-panel")),
		b.poll("running with 4 users", `window.stampede.ev && window.stampede.ev.state === "running" && window.stampede.ev.target === 4`),
	)
	f.drv.mu.Lock()
	p := f.drv.applied[len(f.drv.applied)-1]
	f.drv.mu.Unlock()
	if p.Users != 4 || p.ClassUsers["reader"] != 3 || p.ClassUsers["writer"] != 1 {
		t.Errorf("applied %d users %v, want reader 3 and writer 1", p.Users, p.ClassUsers)
	}
	b.noErrors()
}

// TestBrowserLogs shows the process's log lines in the Logs tab, fed by
// the event stream (a line logged while the page is open appears), and
// filters them by level.
func TestBrowserLogs(t *testing.T) {
	f := newFixture(t, "", false)
	ring := logring.New(100)
	f.srv.cfg.Logs = ring // before any page connects
	log := slog.New(ring.Handler(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug})))
	log.Debug("a debug line")
	log.Info("web UI ready", "url", "http://127.0.0.1:8089")
	log.Warn("worker missing", "worker", "w1", "region", "eu-west")
	log.Error("script error", "err", "boom")
	b := newBrowser(t, 1366, 900)
	rows := `[...document.querySelectorAll("#logs-body tr")].map(tr => [...tr.children].slice(1).map(td => td.textContent).join(" ")).join("|")`
	b.run("the logs tab",
		chromedp.Navigate(f.ts.URL+"/#logs"),
		b.poll("three lines at info and above", `document.querySelectorAll("#logs-body tr").length === 3`),
	)
	want := "ERROR local script error err=boom|WARN local worker missing worker=w1 region=eu-west|INFO local web UI ready url=http://127.0.0.1:8089"
	if got := evalJS[string](b, rows); got != want {
		t.Errorf("log rows\n got %s\nwant %s", got, want)
	}
	log.Error("a new error while the page is open")
	b.run("a new line arrives",
		b.poll("four lines", `document.querySelectorAll("#logs-body tr").length === 4`),
		chromedp.SetValue(chromedp.ID("log-level"), "ERROR"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("log-level").dispatchEvent(new Event("change"))`),
		b.poll("errors only", `document.querySelectorAll("#logs-body tr").length === 2`),
		chromedp.SetValue(chromedp.ID("log-level"), "DEBUG"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("log-level").dispatchEvent(new Event("change"))`),
		b.poll("all five", `document.querySelectorAll("#logs-body tr").length === 5`),
		b.shot("34-logs"),
	)
	// On a phone the message is not squeezed beside the other columns:
	// nothing scrolls sideways and each message takes the row's width.
	b.run("the logs at 400 px", chromedp.EmulateViewport(400, 900),
		b.poll("laid out", `document.querySelector("#logs-body td.wrap").getBoundingClientRect().width > 300`),
		b.shot("34-logs-400"),
	)
	narrow := evalJS[string](b, `(() => {
		const w = document.querySelector("#tab-logs .table-wrap"), out = [];
		if (w.scrollWidth > w.clientWidth) out.push("the table scrolls sideways by " + (w.scrollWidth - w.clientWidth) + " px");
		if (document.documentElement.scrollWidth > window.innerWidth) out.push("the page scrolls sideways");
		for (const td of document.querySelectorAll("#logs-body td.wrap")) {
			const r = td.getBoundingClientRect(), box = w.getBoundingClientRect();
			if (r.width < box.width - 20 || r.right > box.right) out.push("a message " + Math.round(r.width) + " px wide from " + Math.round(r.left) + " in a " + Math.round(box.width) + " px box");
		}
		return out.join("; ");
	})()`)
	if narrow != "" {
		t.Errorf("the logs at 400 px: %s", narrow)
	}
	// The tab strip scrolls at 400 px: the selected tab is scrolled into
	// it, when the page opens on #logs and when the address changes to
	// another tab.
	inStrip := func(tab string) string {
		return `(() => { const b = document.getElementById("tabbtn-` + tab + `"), s = b.parentElement.getBoundingClientRect(), r = b.getBoundingClientRect();
			return b.getAttribute("aria-selected") === "true" && r.left >= s.left - 1 && r.right <= s.right + 1; })()`
	}
	b.run("the selected tab in the strip",
		chromedp.Reload(),
		b.poll("Logs selected and in view", inStrip("logs")+` && document.querySelectorAll("#logs-body tr").length > 0`),
		chromedp.Evaluate[chromedp.Void](`location.hash = "#statistics-none"; location.hash = "#stats"`),
		b.poll("#stats selects Statistics", inStrip("stats")+` && document.getElementById("tab-stats").checkVisibility()`),
		chromedp.Evaluate[chromedp.Void](`location.hash = "#logs"`),
		b.poll("#logs selects Logs again", inStrip("logs")+` && document.getElementById("tab-logs").checkVisibility()`),
	)
	b.noErrors()
}

// TestBrowserNarrowStartForm checks the start form on a phone: nothing
// scrolls sideways and the class picker's counts line up in one column.
func TestBrowserNarrowStartForm(t *testing.T) {
	f := newFixture(t, "", false)
	b := newBrowser(t, 400, 900)
	b.run("the form at 400 px",
		chromedp.EmulateViewport(400, 900),
		chromedp.Navigate(f.ts.URL+"/"),
		b.poll("the picker", `document.querySelectorAll("#classes .class-count").length === 2`),
		b.shot("35-start-form-400"),
	)
	if over := evalJS[float64](b, `document.documentElement.scrollWidth - window.innerWidth`); over > 0 {
		t.Errorf("the start form at 400 px scrolls the page sideways by %g px", over)
	}
	// The classes are reader and writer, names of different widths.
	lefts := evalJS[string](b, `[...document.querySelectorAll("#classes .class-count")].map(n => Math.round(n.getBoundingClientRect().left)).join()`)
	if parts := strings.Split(lefts, ","); len(parts) != 2 || parts[0] != parts[1] {
		t.Errorf("the class counts start at x=%s, want one column", lefts)
	}
	if right := evalJS[float64](b, `Math.max(...[...document.querySelectorAll("#start-form input, #start-form select, #start-form button")].filter(e => e.checkVisibility()).map(e => e.getBoundingClientRect().right)) - document.getElementById("start-form").getBoundingClientRect().right`); right > 0 {
		t.Errorf("a start form control sticks out of the form by %g px", right)
	}
	b.noErrors()
}

// TestBrowserLiveReport opens the Download tab's HTML report as served by
// the UI: its charts become interactive (the page's policy allows its own
// inline scripts, by hash, and nothing else) and it loads nothing.
func TestBrowserLiveReport(t *testing.T) {
	f := newFixture(t, "", false)
	f.srv.cfg.Report = func(w io.Writer, sum *stats.Summary) error {
		return report.Render(w, report.FromDocument(&output.Document{Format: output.Format, Stats: sum}, "test"))
	}
	f.start(url.Values{"user_count": {"2"}, "spawn_rate": {"2"}})
	f.waitRequests()
	b := newBrowser(t, 1366, 900)
	// Until the history has points to draw, the report has no charts.
	var live float64
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		b.run("the report", chromedp.Navigate(f.ts.URL+"/stats/report"),
			b.poll("loaded", `document.readyState === "complete"`))
		// Every line chart (those with data to hand uPlot).
		if evalJS[float64](b, `document.querySelectorAll("figure.chart > script.chart-data").length`) > 0 {
			b.run("charts", b.poll("interactive charts", `[...document.querySelectorAll("figure.chart > script.chart-data")].every(s => s.parentNode.matches(".live") && s.parentNode.querySelector(".uplot canvas"))`))
			live = evalJS[float64](b, `document.querySelectorAll("figure.chart.live").length`)
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if live == 0 {
		t.Fatal("the served report has no interactive chart")
	}
	res := f.do("GET", "/stats/report", "", "", "", "")
	res.Body.Close()
	if csp := res.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'; script-src 'sha256-") || strings.Contains(csp, "script-src 'unsafe-inline") {
		t.Errorf("the report's policy: %s", csp)
	}
	b.noErrors()
}
