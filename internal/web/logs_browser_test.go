package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stampede-load/stampede/internal/cluster"
	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/logring"
	"github.com/stampede-load/stampede/internal/script"
)

const workerLogScript = `
host = %q

def hello(u):
    print("hello from the script on a worker")

def hit(u):
    u.http.get("/")

visitor = user(tasks=[hit], on_start=hello, wait_time=constant(0.2))
`

// TestBrowserWorkerLogs runs a real master (cluster.Master under the
// engine and this web UI) and a real worker in-process, over gRPC on
// loopback. The script's print on the worker reaches the master's Logs
// tab tagged with the worker and its region; the level filter hides it,
// the source filter picks it; Locust's /logs lists it under the worker.
func TestBrowserWorkerLogs(t *testing.T) {
	var hits atomic.Int64
	tgt := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(tgt.Close)
	sc, err := script.LoadFiles("w.star", map[string][]byte{"w.star": fmt.Appendf(nil, workerLogScript, tgt.URL)}, script.Options{})
	if err != nil {
		t.Fatal(err)
	}

	ring := logring.New(1000)
	mlog := slog.New(ring.Handler(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})))
	m := cluster.NewMaster(cluster.MasterConfig{Script: sc, Version: "v1", Log: mlog, Logs: ring,
		Heartbeat: 150 * time.Millisecond, ReportInterval: 200 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = m.Serve(ln) }()
	t.Cleanup(func() { m.Close("test over") })
	eng := engine.New(engine.Config{Driver: m, Log: mlog, Interval: 200 * time.Millisecond, StopGrace: 5 * time.Second})
	srv, err := New(Config{Engine: eng, Script: sc, Defaults: engine.Params{Host: tgt.URL, Users: 1, SpawnRate: 1},
		Log: mlog, Logs: ring, Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		if isActive(eng.State()) {
			_ = eng.Stop()
		}
	})

	wring := logring.New(1000)
	wlog := slog.New(wring.Handler(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})))
	w := cluster.NewWorker(cluster.WorkerConfig{MasterAddr: ln.Addr().String(), ID: "w-eu-1", Region: "eu-west", Version: "v1",
		Log: wlog, Logs: wring, Heartbeat: 150 * time.Millisecond, ReportInterval: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(10 * time.Second); len(eng.Workers()) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the worker did not connect")
		}
	}

	res, err := http.PostForm(ts.URL+"/swarm", url.Values{"user_count": {"1"}, "spawn_rate": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	if body, _ := io.ReadAll(res.Body); res.StatusCode != http.StatusOK {
		t.Fatalf("POST /swarm: %s %s", res.Status, body)
	}
	res.Body.Close()

	b := newBrowser(t, 1366, 900)
	row := `[...document.querySelectorAll("#logs-body tr")].find(tr => tr.cells[3].textContent.startsWith("hello from the script"))`
	b.run("the worker's line in the Logs tab",
		chromedp.Navigate(ts.URL+"/#logs"),
		b.poll("the worker's line", row+` !== undefined`),
		b.shot("35-logs-worker"),
	)
	if src := evalJS[string](b, row+`.cells[2].textContent`); src != "w-eu-1 @ eu-west" {
		t.Errorf("the worker's line has source %q, want \"w-eu-1 @ eu-west\"", src)
	}
	if lvl := evalJS[string](b, row+`.cells[1].textContent`); lvl != "INFO" {
		t.Errorf("the worker's line has level %q, want INFO", lvl)
	}
	if attrs := evalJS[string](b, row+`.cells[3].textContent`); !strings.Contains(attrs, "user=visitor-") {
		t.Errorf("the worker's line lacks its attributes: %q", attrs)
	}
	b.run("the level filter hides it, the source filter picks it",
		chromedp.SetValue(chromedp.ID("log-level"), "WARN"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("log-level").dispatchEvent(new Event("change"))`),
		b.poll("hidden at warnings and errors", row+` === undefined`),
		chromedp.SetValue(chromedp.ID("log-level"), "INFO"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("log-level").dispatchEvent(new Event("change"))`),
		b.poll("shown again", row+` !== undefined`),
		b.poll("both sources offered", `[...document.getElementById("log-source").options].map(o => o.value).join(",") === ",master,w-eu-1 @ eu-west"`),
		chromedp.SetValue(chromedp.ID("log-source"), "master"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("log-source").dispatchEvent(new Event("change"))`),
		b.poll("only the master's lines", row+` === undefined && document.querySelectorAll("#logs-body tr").length > 0 &&
			[...document.querySelectorAll("#logs-body tr")].every(tr => tr.cells[2].textContent === "master")`),
		chromedp.SetValue(chromedp.ID("log-source"), "w-eu-1 @ eu-west"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("log-source").dispatchEvent(new Event("change"))`),
		b.poll("only the worker's lines", row+` !== undefined &&
			[...document.querySelectorAll("#logs-body tr")].every(tr => tr.cells[2].textContent === "w-eu-1 @ eu-west")`),
	)
	b.noErrors()

	res, err = http.Get(ts.URL + "/logs")
	if err != nil {
		t.Fatal(err)
	}
	var logs logsJSON
	if err := jsonDecode(res, &logs); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(logs.Workers["w-eu-1"], "\n"); !strings.Contains(got, "INFO: hello from the script on a worker user=visitor-") ||
		logs.Regions["w-eu-1"] != "eu-west" || len(logs.Master) == 0 {
		out, _ := json.Marshal(logs)
		t.Errorf("/logs: %s", out)
	}
	if hits.Load() == 0 {
		t.Error("the worker sent no requests")
	}
}
