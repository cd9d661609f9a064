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
