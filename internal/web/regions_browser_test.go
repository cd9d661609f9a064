package web

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserRegions shows the distributed view in Chromium: a driver that
// reports two workers in two regions (as the cluster master does through
// engine.WorkerLister and per-region deltas) fills the Workers and Regions
// tabs and the header's worker and region counts.
func TestBrowserRegions(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	chromium := ""
	for _, name := range []string{os.Getenv("STAMPEDE_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); name != "" && err == nil {
			chromium = p
			break
		}
	}
	if chromium == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed: run .ci/web.sh (apt-get install -y chromium)")
		}
		t.Skip("chromium is not installed; skipping the browser test")
	}
	out := os.Getenv("STAMPEDE_TEST_OUT")
	if out == "" {
		out = filepath.Join("testdata", "out")
	}
	out = filepath.Join(out, "web")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}

	f := newFixture(t, "", true)
	f.start(url.Values{"user_count": {"5"}, "spawn_rate": {"5"}})
	f.waitRequests()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.Flag("headless", true), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1366, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(actx)
	defer cancelCtx()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	poll := func(what, js string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(100*time.Millisecond),
				chromedp.WithPollingTimeout(30*time.Second))(ctx, tg); err != nil {
				return fmt.Errorf("waiting for %s: %w", what, err)
			}
			return nil
		})
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
	tab := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Click(chromedp.CSS(`.tabs button[data-tab="` + name + `"]`))
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(f.ts.URL+"/#workers"),
		poll("two workers", `document.querySelectorAll("#workers-body tr").length === 2 &&
			document.getElementById("workers-body").textContent.includes("eu-west") &&
			document.getElementById("kpi-workers").textContent === "2" &&
			document.getElementById("kpi-regions").textContent === "2"`),
		poll("worker request counts", `[...document.querySelectorAll("#workers-body tr td:nth-child(7)")].every(td => Number(td.textContent.replace(/,/g, "")) > 0)`),
		shot("20-workers-distributed"),
		tab("regions"),
		poll("two regions", `document.querySelectorAll("#regions-body tr").length === 2`),
		poll("region charts", `document.querySelectorAll("#region-charts canvas").length === 4 &&
			window.stampede.hist.regions["us-east"].rps.some(v => v > 0)`),
		shot("21-regions-distributed"),
	)
	if err != nil {
		t.Fatal(err)
	}
}
