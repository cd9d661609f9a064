package web

import (
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserRegions shows the distributed view in Chromium: a driver that
// reports two workers in two regions (as the cluster master does through
// engine.WorkerLister and per-region deltas) fills the Workers and Regions
// tabs and the header's worker and region counts.
func TestBrowserRegions(t *testing.T) {
	f := newFixture(t, "", true)
	f.start(url.Values{"user_count": {"5"}, "spawn_rate": {"5"}})
	f.waitRequests()
	b := newBrowser(t, 1366, 900)
	b.run("workers and regions",
		chromedp.Navigate(f.ts.URL+"/#workers"),
		b.poll("two workers", `document.querySelectorAll("#workers-body tr").length === 2 &&
			document.getElementById("workers-body").textContent.includes("eu-west") &&
			document.getElementById("kpi-workers").textContent === "2" &&
			document.getElementById("kpi-regions").textContent === "2"`),
		b.poll("worker request counts", `[...document.querySelectorAll("#workers-body tr td:nth-child(7)")].every(td => Number(td.textContent.replace(/,/g, "")) > 0)`),
		b.shot("20-workers-distributed"),
		chromedp.Click(chromedp.ID("tabbtn-regions")),
		b.poll("two regions", `document.querySelectorAll("#regions-body tr").length === 2`),
		b.poll("region charts", `document.querySelectorAll("#region-charts canvas").length === 4 &&
			window.stampede.hist.regions["us-east"].rps.some(v => v > 0)`),
		b.shot("21-regions-distributed"),
	)
	b.noErrors()
}

// TestBrowserWorkerStopped: a worker that shut down cleanly is listed as
// stopped, in the neutral style, and not counted; a missing one stays red.
func TestBrowserWorkerStopped(t *testing.T) {
	f := newFixture(t, "", true)
	f.drv.mu.Lock()
	f.drv.gone = true
	f.drv.mu.Unlock()
	f.start(url.Values{"user_count": {"5"}, "spawn_rate": {"5"}})
	f.waitRequests()
	b := newBrowser(t, 1366, 900)
	row := func(id string) string {
		return `[...document.querySelectorAll("#workers-body tr")].find(tr => tr.cells[0].textContent === "` + id + `")`
	}
	b.run("workers",
		chromedp.Navigate(f.ts.URL+"/#workers"),
		b.poll("four workers, two counted", `document.querySelectorAll("#workers-body tr").length === 4 &&
			document.getElementById("kpi-workers").textContent === "2"`),
		b.shot("22-workers-stopped-and-missing"),
	)
	if st := evalJS[string](b, row("w3")+`.cells[2].textContent`); st != "stopped (shut down)" {
		t.Errorf("w3's state reads %q, want \"stopped (shut down)\"", st)
	}
	if cls := evalJS[string](b, row("w3")+`.cells[2].className`); cls == "fail" {
		t.Error("w3, shut down cleanly, is shown as a failure")
	}
	if cls := evalJS[string](b, row("w4")+`.cells[2].className`); cls != "fail" {
		t.Errorf("w4, missing, has class %q, want fail", cls)
	}
	b.noErrors()
}
