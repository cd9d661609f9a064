package report

import (
	"context"
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
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	chromium := browsertest.Chromium(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	if err := WriteFile(file, FromDocument(fullDocument(), "this run")); err != nil {
		t.Fatal(err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.Flag("headless", true), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(filepath.Join(dir, "profile")), chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(actx)
	defer cancelCtx()
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
	defer cancel()
	var mu sync.Mutex
	var requests, problems []string
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			requests = append(requests, ev.Request.URL)
		case *cdpruntime.EventExceptionThrown:
			problems = append(problems, "exception: "+ev.ExceptionDetails.Text)
		case *cdpruntime.EventConsoleAPICalled:
			if ev.Type == cdpruntime.ConsoleAPICalledTypeError {
				problems = append(problems, "console error")
			}
		}
	}); err != nil {
		t.Fatal(err)
	}

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

	mu.Lock()
	defer mu.Unlock()
	for _, u := range requests {
		if u != fileURL && !strings.HasPrefix(u, "data:") {
			t.Errorf("the report requested %q", u)
		}
	}
	if len(problems) > 0 {
		t.Errorf("page problems: %v", problems)
	}
}
