package report

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/stampede-load/stampede/internal/browsertest"
)

// TestReportChartsInteractiveOffline opens a written report file in
// Chromium with networking off and uses a chart as a reader would: the
// uPlot legend shows the values under the cursor, a drag zooms in, a click
// on a legend entry hides that line. The page must request nothing but
// itself and throw nothing.
func TestReportChartsInteractiveOffline(t *testing.T) {
	file := filepath.Join(t.TempDir(), "report.html")
	if err := WriteFile(file, FromDocument(fullDocument(), "this run")); err != nil {
		t.Fatal(err)
	}

	o := openOffline(t, file)
	ctx := o.ctx
	fileURL := "file://" + file
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(js string) any {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	const chart = `document.querySelector("#charts figure.chart.live")`
	do("opening the report", chromedp.Navigate(fileURL), chromedp.WaitVisible(chromedp.CSS(`figure.chart.live .uplot`)))
	// Requests/failures, percentiles, users, and two by region.
	if n := eval(`document.querySelectorAll("figure.chart.live .uplot").length`); n != 5.0 {
		t.Errorf("%v interactive charts, want 5", n)
	}
	box := eval(`(() => { const o = ` + chart + `.querySelector(".u-over"); o.scrollIntoView({block: "center"});
		const r = o.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`).([]any)
	left, top, w, h := box[0].(float64), box[1].(float64), box[2].(float64), box[3].(float64)
	y := top + h/2

	// Time labels stay short (no "12/1/26 5:07am" running into its
	// neighbours).
	if long := eval(`[...document.querySelectorAll("figure.chart.live")].flatMap(f => f.uplot.axes[0]._values || []).flatMap(v => v.split("\n")).filter(l => l.length > 7).join(" | ")`); long != "" {
		t.Errorf("long time labels: %v", long)
	}
	// The legend is uPlot's, not boxed like the page's data tables.
	if b := eval(`[...` + chart + `.querySelectorAll(".u-legend th, .u-legend td")].map(c => getComputedStyle(c).borderTopWidth + "/" + getComputedStyle(c).backgroundColor).filter(s => s !== "0px/rgba(0, 0, 0, 0)").join()`); b != "" {
		t.Errorf("legend cells have borders or backgrounds: %v", b)
	}
	// Hover the middle: the legend shows requests/s there (i at second i).
	legend := chart + `.querySelector(".u-legend .u-series:nth-child(2) .u-value").textContent`
	before := eval(legend)
	do("hovering", chromedp.MouseEvent(chromedp.MouseMoved, left+w/2, y), chromedp.Sleep(150*time.Millisecond))
	after, _ := eval(legend).(string)
	if v, err := strconv.ParseFloat(after, 64); err != nil || v < 10 || v > 20 {
		t.Errorf("hovering the middle of the chart: legend shows %q (before %q), want requests/s near 14", after, before)
	}

	// Drag across the middle third: the x scale narrows to it.
	span := chart + `.uplot.scales.x.max - ` + chart + `.uplot.scales.x.min`
	span0 := eval(span).(float64)
	do("dragging",
		chromedp.MouseEvent(chromedp.MousePressed, left+w/3, y, chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseMoved, left+w/2, y, chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseMoved, left+2*w/3, y, chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseReleased, left+2*w/3, y, chromedp.ButtonLeft),
		chromedp.Sleep(150*time.Millisecond))
	if span1 := eval(span).(float64); !(span1 > 0 && span1 < span0*0.6) {
		t.Errorf("after dragging over a third of the chart the x span is %v s, was %v s", span1, span0)
	}

	// Click "failures/s" in the legend: its line is hidden. The mouse
	// goes there first: leaving the plot resets the legend's values.
	labelAt := `(() => { const l = ` + chart + `.querySelector(".u-legend .u-series:nth-child(3) .u-label"); l.scrollIntoView({block: "center"});
		const r = l.getBoundingClientRect(); return [r.left + r.width/2, r.top + r.height/2]; })()`
	lab := eval(labelAt).([]any)
	do("moving to the legend", chromedp.MouseEvent(chromedp.MouseMoved, lab[0].(float64), lab[1].(float64)), chromedp.Sleep(100*time.Millisecond))
	lab = eval(labelAt).([]any)
	do("toggling a series", chromedp.MouseClickXY(lab[0].(float64), lab[1].(float64)), chromedp.Sleep(100*time.Millisecond))
	if off := eval(chart + `.querySelector(".u-legend .u-series:nth-child(3)").classList.contains("u-off")`); off != true {
		t.Errorf("after clicking the failures/s legend entry it is not marked off")
	}
	if shown := eval(chart + `.uplot.series[2].show`); shown != false {
		t.Errorf("after clicking the failures/s legend entry the series is shown: %v", shown)
	}

	o.check()
}

// TestReportFromLocustCSVOffline opens reports made from Locust's CSV
// files with networking off: without a history file the run's times,
// users and charts read "not available" (no made-up zeros, no empty
// charts); with --csv-full-history every name's response-time chart and
// the comparison across names are drawn, each with lines on its canvas.
func TestReportFromLocustCSVOffline(t *testing.T) {
	t.Run("no history", func(t *testing.T) {
		dir := t.TempDir()
		for _, suffix := range []string{"_stats.csv", "_failures.csv", "_exceptions.csv"} {
			b, err := os.ReadFile(filepath.Join("testdata", "locust", "locust"+suffix))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "locust"+suffix), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		d, err := FromCSV(filepath.Join(dir, "locust"))
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, "report.html")
		if err := WriteFile(file, d); err != nil {
			t.Fatal(err)
		}
		o := openOffline(t, file)
		text := o.open(`document.readyState === "complete"`)
		for _, want := range []string{"Start not recorded in CSV files", "End not recorded in CSV files",
			"Users not recorded in CSV files", "Spawn rate not recorded in CSV files", "Workers not recorded in CSV files",
			"charts over time are not available", "No history was recorded, so there are no charts over time.",
			"Not available: CSV files hold percentiles", "Not available: CSV files do not record the script's classes"} {
			if !strings.Contains(text, want) {
				t.Errorf("the page lacks %q", want)
			}
		}
		if strings.Contains(text, "Peak users") {
			t.Error("the page shows peak users, which CSV files without history do not hold")
		}
		if n := o.eval(`document.querySelectorAll("figure.chart, canvas, svg").length`); n != 0.0 {
			t.Errorf("%v charts drawn without any history", n)
		}
		o.check()
	})
	t.Run("full history", func(t *testing.T) {
		d, err := FromCSV(filepath.Join("testdata", "locust", "locust_full"))
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "report.html")
		if err := WriteFile(file, d); err != nil {
			t.Fatal(err)
		}
		o := openOffline(t, file)
		o.open(`(() => { const f = document.querySelectorAll("figure.chart"); return f.length > 0 && [...f].every(x => x.matches(".live") && x.querySelector(".uplot canvas")); })()`)
		// Every chart: its title, its width, and how many of its canvas
		// pixels are painted (the lines, not just the axes on their own).
		got := o.eval(`[...document.querySelectorAll("figure.chart.live")].map(f => {
			const c = f.querySelector(".uplot canvas"), px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
			let painted = 0;
			for (let i = 3; i < px.length; i += 4) if (px[i] > 0) painted++;
			return [f.querySelector(".u-title").textContent, Math.round(c.getBoundingClientRect().width), painted];
		})`).([]any)
		titles := map[string]bool{}
		for _, c := range got {
			c := c.([]any)
			title, width, painted := c[0].(string), c[1].(float64), c[2].(float64)
			titles[title] = true
			if width < 500 || painted < 500 {
				t.Errorf("chart %q: %v px wide, %v pixels painted", title, width, painted)
			}
		}
		for _, want := range []string{"Response time of GET /", "Response time of POST /api/login", "Response time of GET /api/products/[id]",
			"Response time of GET /api/products?page=[n]", "Response time of GET /no-such-page", "p95 response time by request",
			"Requests per second by request (from --csv-full-history)", "Requests and failures per second", "Response time percentiles", "Users"} {
			if !titles[want] {
				t.Errorf("no drawn chart %q; charts: %v", want, got)
			}
		}
		o.check()
	})
}

// open loads the file, waits until the expression holds and returns the
// page's text.
func (o *offline) open(ready string) string {
	o.t.Helper()
	if err := chromedp.Do(o.ctx, chromedp.Navigate("file://"+o.file),
		chromedp.Poll[chromedp.Void](ready, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		o.t.Fatalf("opening the report, waiting for %s: %v", ready, err)
	}
	return strings.Join(strings.Fields(o.eval(`document.body.innerText`).(string)), " ")
}

func (o *offline) eval(js string) any {
	o.t.Helper()
	v, err := chromedp.Run(o.ctx, chromedp.Evaluate[any](js))
	if err != nil {
		o.t.Fatalf("%s: %v", js, err)
	}
	return v
}

// offline is a headless Chromium with networking off, on one report file.
type offline struct {
	t        *testing.T
	ctx      context.Context
	file     string
	mu       sync.Mutex
	requests []string
	problems []string
}

// openOffline starts Chromium with networking off (every request but the
// file itself fails, and the page sees navigator.onLine false) and records
// what the page requests and throws.
func openOffline(t *testing.T, file string) *offline {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	chromium := browsertest.Chromium(t)
	dir := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.Flag("headless", true), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(filepath.Join(dir, "profile")), chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(cancelCtx)
	// Networking off: every request but the file itself fails, and the
	// page sees navigator.onLine false.
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	t.Cleanup(cancel)
	o := &offline{t: t, ctx: ctx, file: file}
	if err := chromedp.Listen(ctx, func(ev any) {
		o.mu.Lock()
		defer o.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			o.requests = append(o.requests, ev.Request.URL)
		case *cdpruntime.EventExceptionThrown:
			o.problems = append(o.problems, "exception: "+ev.ExceptionDetails.Text)
		case *cdpruntime.EventConsoleAPICalled:
			if ev.Type == cdpruntime.ConsoleAPICalledTypeError {
				o.problems = append(o.problems, "console error")
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	return o
}

// check fails the test if the page requested anything but itself or threw.
func (o *offline) check() {
	o.t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, u := range o.requests {
		if u != "file://"+o.file && !strings.HasPrefix(u, "data:") {
			o.t.Errorf("the report requested %q", u)
		}
	}
	if len(o.problems) > 0 {
		o.t.Errorf("page problems: %v", o.problems)
	}
}
