package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

const formBrowserScript = `
def hit(u):
    u.http.get("/f/" + vars["mode"], headers={"X-Token": vars["api_token"]}, name="/f")

visitor = user(tasks=[hit], wait_time=constant(0.1))
`

// TestBrowserStartForm drives the start form of the real binary: an
// open-model test at an arrival rate (the header shows it, the target
// counts the requests), a custom parameter changed in the form that the
// target receives (a secret one kept without being shown), a stages test
// that ends by itself, and a bad field named by its label.
func TestBrowserStartForm(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	chromium := chromiumPath(t)
	out := outDir(t)
	tmp := t.TempDir()
	bin := buildBinary(t, tmp)

	var mu sync.Mutex
	seen := map[string]int{} // "path token"
	tgt := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path+" "+r.Header.Get("X-Token")]++
		mu.Unlock()
		io.WriteString(w, "ok")
	}))
	defer tgt.Close()
	count := func(key string) int {
		mu.Lock()
		defer mu.Unlock()
		return seen[key]
	}
	file := filepath.Join(tmp, "form.star")
	if err := os.WriteFile(file, []byte(formBrowserScript), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startStampede(t, bin, "run", "-f", file, "--web-host", "127.0.0.1", "--web-port", "0", "--host", tgt.URL,
		"-u", "2", "-r", "10", "--var", "mode=one", "--var", "api_token=tok-cli")
	defer func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			t.Errorf("stampede did not exit after SIGTERM\n%s", p.log())
		}
	}()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.Flag("headless", true), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(filepath.Join(tmp, "chrome-profile")), chromedp.WindowSize(1366, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(actx)
	defer cancelCtx()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	var cmu sync.Mutex
	var console []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if ex, ok := ev.(*cdpruntime.EventExceptionThrown); ok {
			cmu.Lock()
			console = append(console, exceptionText(ex.ExceptionDetails))
			cmu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	poll := func(what, js string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(100*time.Millisecond),
				chromedp.WithPollingTimeout(45*time.Second))(ctx, tg); err != nil {
				return fmt.Errorf("waiting for %s (%s): %w", what, js, err)
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
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			_ = chromedp.Do(ctx, shot("failure-start-form"))
			cmu.Lock()
			defer cmu.Unlock()
			t.Fatalf("%s: %v\npage errors: %s\nstampede log:\n%s", step, err, strings.Join(console, "\n"), p.log())
		}
	}
	// set fills an input (by CSS selector) as typing would.
	set := func(sel, value string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
			const el = document.querySelector(%q);
			el.value = %q;
			el.dispatchEvent(new Event("input", {bubbles: true}));
		})()`, sel, value))
	}
	const (
		modeInput   = `#vars input[name="var.mode"]`
		secretInput = `#vars input[name="var.api_token"]`
		running     = `window.stampede.ev && window.stampede.ev.state === "running"`
		stopped     = `window.stampede.ev && window.stampede.ev.state === "stopped"`
	)

	run("the form lists the custom parameters, the secret one empty",
		chromedp.Navigate(p.url+"/"),
		poll("the custom parameters", `document.querySelector('`+modeInput+`') !== null && !document.getElementById("vars-box").hidden`),
		poll("mode prefilled, token hidden", `document.querySelector('`+modeInput+`').value === "one" &&
			document.querySelector('`+secretInput+`').type === "password" && document.querySelector('`+secretInput+`').value === ""`),
	)
	if html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); err != nil || strings.Contains(html, "tok-cli") {
		t.Fatalf("the page holds the secret var's value (err %v)", err)
	}

	run("a bad arrival rate is named by its label",
		chromedp.Click(`#model-open`),
		poll("the open model's fields", `!document.getElementById("arrival-rate").closest("label").hidden && document.getElementById("users").closest("label").hidden`),
		set("#arrival-rate", "fast"),
		chromedp.Click(`#start-btn`),
		poll("the error", `document.getElementById("start-error").textContent.startsWith("Arrival rate: ") &&
			document.getElementById("arrival-rate").classList.contains("invalid")`),
		shot("start-form-open-model-error"),
	)

	run("an open-model test with a changed custom parameter",
		set("#arrival-rate", "20/s"),
		set("#max-users", "10"),
		set(modeInput, "two"),
		chromedp.Click(`#start-btn`),
		chromedp.WaitNotVisible(`#start-panel`),
		poll("running at 20/s", running+` && window.stampede.ev.arrival === "20/s" && !document.getElementById("kpi-arrival-box").hidden &&
			document.getElementById("kpi-arrival").textContent === "20/s"`),
		poll("users and requests", `window.stampede.ev.users > 0 && window.stampede.ev.total[2] >= 20`),
		shot("start-form-open-model"),
	)
	if n := count("/f/two tok-cli"); n == 0 {
		t.Fatalf("the target received no request with the form's mode=two and the command line's token: %v", seen)
	}
	run("stop", chromedp.Click(`#stop-btn`), poll("stopped", stopped))

	run("a stages test with another custom parameter ends by itself",
		chromedp.Click(`#new-btn`),
		chromedp.WaitVisible(`#start-panel`),
		chromedp.Click(`#model-stages`),
		poll("the stages field", `!document.getElementById("stages").closest("label").hidden`),
		set("#stages", "1s:2:10,2s:3:10"),
		set(modeInput, "three"),
		set(secretInput, "tok-form"),
		chromedp.Click(`#start-btn`),
		chromedp.WaitNotVisible(`#start-panel`),
		poll("the stages running", `window.stampede.ev && (window.stampede.ev.state === "running" || window.stampede.ev.state === "spawning") && !window.stampede.ev.arrival`),
		poll("the stages over", stopped+` && window.stampede.ev.reason !== "" && window.stampede.ev.total[2] > 0`),
		shot("start-form-stages"),
	)
	if n := count("/f/three tok-form"); n == 0 {
		t.Fatalf("the target received no request with the form's mode=three and token: %v", seen)
	}
	if n := count("/f/one tok-cli"); n != 0 {
		t.Errorf("%d requests with the command line's mode after the form changed it", n)
	}
	cmu.Lock()
	defer cmu.Unlock()
	if len(console) > 0 {
		t.Errorf("the page threw:\n%s", strings.Join(console, "\n"))
	}
	if strings.Contains(p.log(), "tok-form") || strings.Contains(p.log(), "tok-cli") {
		t.Errorf("the log shows a secret var's value")
	}
}
