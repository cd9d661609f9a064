package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/report"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/internal/web"
)

// tlsOptions are --tls-cert/--tls-key: the web UI's certificate, and on
// the master the worker port's too (one definition for both).
type tlsOptions struct {
	cert, key string
}

func (t *tlsOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&t.cert, "tls-cert", "", "PEM certificate file: serve the web UI (and, on master, the worker port) over TLS")
	fs.StringVar(&t.key, "tls-key", "", "PEM private key file of --tls-cert")
}

func (t *tlsOptions) validate() error {
	if (t.cert == "") != (t.key == "") {
		return configErr("--tls-cert and --tls-key go together: give both or neither")
	}
	for flag, f := range map[string]string{"--tls-cert": t.cert, "--tls-key": t.key} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			return configErr("%s: %v", flag, err)
		}
	}
	return nil
}

// enabled reports whether TLS was asked for.
func (t *tlsOptions) enabled() bool { return t.cert != "" }

// webOptions are the web UI's flags, shared by run and master (they are
// part of testOptions).
type webOptions struct {
	host           string
	port           int
	auth           string
	authFile       string
	insecureNoAuth bool
	hostAllow      []string
	autostart      bool
	autoquit       int
	tls            tlsOptions
}

func (w *webOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&w.host, "web-host", "", "web UI bind address (default: 0.0.0.0 with --web-auth, else 127.0.0.1)")
	fs.IntVar(&w.port, "web-port", 8089, "web UI port")
	fs.StringVar(&w.auth, "web-auth", "", "USER:PASSWORD for HTTP basic auth on every web UI route (prefer STAMPEDE_WEB_AUTH or --web-auth-file)")
	fs.StringVar(&w.authFile, "web-auth-file", "", "file whose first line is USER:PASSWORD for the web UI")
	fs.BoolVar(&w.insecureNoAuth, "web-insecure-no-auth", false, "allow --web-host on a non-loopback address without a password: anyone who reaches the port can start load against any URL, stop it and read every result")
	fs.StringSliceVar(&w.hostAllow, "web-host-allow", nil, "without a password, the host names the web UI answers to besides localhost and IP addresses (DNS-rebinding protection), e.g. loadtest.internal (repeatable, comma-separated)")
	fs.BoolVar(&w.autostart, "autostart", false, "with the web UI: start the test at once with -u/-r/-t")
	fs.IntVar(&w.autoquit, "autoquit", -1, "with the web UI: exit this many seconds after the test ends (-1: never)")
	w.tls.register(fs)
	intIn(fs, "web-port", &w.port, 0, maxPort)
	intIn(fs, "autoquit", &w.autoquit, -1, maxAutoquitSecs)
}

func (w *webOptions) validate() error {
	if w.auth != "" && w.authFile != "" {
		return configErr("--web-auth and --web-auth-file: give one of them")
	}
	if w.host != "" && !isLoopback(w.host) && !w.hasAuth() && !w.insecureNoAuth {
		return configErr("--web-host %s is not a loopback address and the web UI has no password: anyone who reaches port %d "+
			"could start load against any URL and read the results. Set --web-auth, STAMPEDE_WEB_AUTH or --web-auth-file, "+
			"bind to 127.0.0.1, or pass --web-insecure-no-auth to accept that risk", w.host, w.port)
	}
	if w.auth != "" {
		if _, err := web.ParseCredentials(w.auth); err != nil {
			return configErr("--web-auth: %v", err)
		}
	}
	return w.tls.validate()
}

func (w *webOptions) credentials() (*web.Credentials, error) {
	switch {
	case w.authFile != "":
		c, err := web.ReadCredentialsFile(w.authFile)
		if err != nil {
			return nil, configErr("--web-auth-file: %v", err)
		}
		return c, nil
	case w.auth != "":
		c, err := web.ParseCredentials(w.auth)
		if err != nil {
			return nil, configErr("--web-auth: %v", err)
		}
		return c, nil
	}
	return nil, nil
}

func (w *webOptions) hasAuth() bool { return w.auth != "" || w.authFile != "" }

// bindHost is --web-host, or its default: every interface behind a
// password, loopback only without one.
func (w *webOptions) bindHost() string {
	switch {
	case w.host != "":
		return w.host
	case w.hasAuth():
		return "0.0.0.0"
	}
	return "127.0.0.1"
}

func (w *webOptions) addr() string { return net.JoinHostPort(w.bindHost(), strconv.Itoa(w.port)) }

// isLoopback reports whether a bind address only accepts local
// connections.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// webServe is what the web UI shows and drives.
type webServe struct {
	Engine *engine.Engine
	Script *script.Script
	// Defaults are -u/-r/-t/--host: the start form's values and what
	// --autostart starts.
	Defaults engine.Params
	// History keeps the full-history CSV; its Tick must be an OnTick hook
	// of Engine (nil: that download is not offered).
	History *web.History
	// UsersByClass feeds /tasks (nil: ratios from weights).
	UsersByClass func() map[string]int
	// Document builds the JSON summary download.
	Document func(*stats.Summary) *output.Document
	// Report writes the HTML report (nil: internal/report's, from
	// Document).
	Report func(io.Writer, *stats.Summary) error
	// Title names the page (default "Stampede").
	Title string
	// Vars are the --var values, which LoadScript loads the script with
	// again when the start form changes them.
	Vars       map[string]string
	LoadScript func(vars map[string]string) (*script.Script, error)
	// OnTestEnd, when set, runs each time a test has stopped, on
	// serveWeb's goroutine (nil: outputs are only written at exit).
	OnTestEnd func()
	// OnSignal, when set, runs after the first SIGINT/SIGTERM, on its
	// own goroutine, to handle the next ones (nil: a second one exits 3
	// at once).
	OnSignal func(sig <-chan os.Signal, interrupted bool)
}

// serveWeb serves the web UI until SIGINT/SIGTERM, or until --autoquit
// seconds after a test ended. A test still running is then stopped, so its
// last statistics are in when serveWeb returns; the caller writes the
// outputs. It is used by `run` and by `master` (without --headless).
// A second signal exits the process at once.
func (app *App) serveWeb(ctx context.Context, o *webOptions, ws webServe) (interrupted bool, err error) {
	creds, err := o.credentials()
	if err != nil {
		return false, err
	}
	if ws.Report == nil && ws.Document != nil {
		// The HTML report of the download tab: the same document as --json.
		doc := ws.Document
		ws.Report = func(w io.Writer, sum *stats.Summary) error {
			return report.Render(w, report.FromDocument(doc(sum), "Stampede web UI"))
		}
	}
	srv, err := web.New(web.Config{
		Engine: ws.Engine, Script: ws.Script, Defaults: ws.Defaults, Auth: creds, Title: ws.Title,
		AllowedHosts: append([]string{o.bindHost()}, o.hostAllow...),
		Version:      Version, Report: ws.Report, Document: ws.Document, History: ws.History,
		UsersByClass: ws.UsersByClass, Log: app.Log, Logs: app.logs, Vars: ws.Vars, LoadScript: ws.LoadScript,
	})
	if err != nil {
		return false, err
	}
	ln, err := web.Listen(o.addr())
	if err != nil {
		return false, configErr("--web-host/--web-port: %v", err)
	}
	switch {
	case creds == nil && !isLoopback(o.bindHost()):
		app.Log.Warn("--web-insecure-no-auth: the web UI listens on a non-loopback address without a password; anyone who reaches it can start load against any URL", "addr", ln.Addr().String())
	case creds == nil && o.host == "":
		app.Log.Info("the web UI has no password, so it listens on loopback only; to reach it from other machines set --web-auth (it then listens on every interface)")
	}
	scheme := "http"
	if o.tls.enabled() {
		scheme = "https"
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)

	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(sctx, ln, o.tls.cert, o.tls.key) }()
	app.Log.Info("web UI ready", "url", fmt.Sprintf("%s://%s", scheme, displayAddr(ln.Addr(), o.bindHost())), "auth", creds != nil)

	if o.autostart {
		if err := srv.Start(ctx, ws.Defaults); err != nil {
			cancel()
			<-errc
			var fe *engine.FieldError
			if errors.As(err, &fe) {
				return false, configErr("--autostart: %v", err)
			}
			return false, fmt.Errorf("--autostart: %w", err)
		}
	}

	var quit <-chan time.Time
	done := ws.Engine.Done()
	var serveErr error
	reason := "web UI closed"
	var ended <-chan struct{}
	rearm := time.NewTicker(250 * time.Millisecond)
	defer rearm.Stop()
loop:
	for {
		select {
		case sg := <-sig:
			app.Log.Info("signal received: stopping users, writing results and closing the web UI (send again to stop waiting and write what was collected)", "signal", sg.String())
			reason = "interrupted by " + sg.String()
			// As in headless mode: a signal that cuts a running test
			// short is an interruption (exit 3); one that closes the
			// UI after the test ended is not.
			interrupted = isActive(ws.Engine.State())
			if ws.OnSignal != nil {
				go ws.OnSignal(sig, interrupted)
			} else {
				go func() {
					<-sig
					fmt.Fprintln(app.Stderr, "second signal: exiting without waiting for users")
					os.Exit(ExitAborted)
				}()
			}
			break loop
		case serveErr = <-errc:
			errc = nil
			reason = "web UI failed"
			break loop
		case <-done:
			ended = done
			done = nil
			if ws.OnTestEnd != nil {
				ws.OnTestEnd()
			}
			if o.autoquit >= 0 {
				app.Log.Info("test ended; quitting after --autoquit", "seconds", o.autoquit)
				quit = time.After(time.Duration(o.autoquit) * time.Second)
			}
		case <-rearm.C:
			// A test started from the UI after the last one ended: watch
			// for its end too.
			if d := ws.Engine.Done(); done == nil && d != ended {
				done = d
			}
		case <-quit:
			if isActive(ws.Engine.State()) {
				// A new test was started from the UI meanwhile: quit
				// after that one.
				quit, done = nil, ws.Engine.Done()
				continue
			}
			break loop
		}
	}
	switch ws.Engine.State() {
	case engine.StateReady:
		// No test was started: nothing to wait for.
	case engine.StateSpawning, engine.StateRunning:
		_ = ws.Engine.StopWith(reason)
		<-ws.Engine.Done()
	default:
		<-ws.Engine.Done()
	}
	cancel()
	if errc != nil {
		if err := <-errc; err != nil && serveErr == nil {
			serveErr = err
		}
	}
	return interrupted, serveErr
}

func isActive(st engine.State) bool {
	return st == engine.StateSpawning || st == engine.StateRunning
}

// displayAddr is the address to print: the bound port with a host people
// can type.
func displayAddr(a net.Addr, host string) string {
	_, port, _ := net.SplitHostPort(a.String())
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// webHooks returns the tick hooks the UI needs (the full history) when the
// session runs with the web UI.
func (sess *session) webHooks() []engine.TickFunc {
	if sess.o.headless {
		return nil
	}
	h, err := web.NewHistory("", 0, sess.app.Log)
	if err != nil {
		sess.app.Log.Warn("the full-history download is not available", "err", err)
		return nil
	}
	sess.webHistory = h
	return []engine.TickFunc{h.Tick}
}

// serveUI runs the local session with the web UI, then writes the outputs.
func (sess *session) serveUI(ctx context.Context, driver *engine.LocalDriver) error {
	return sess.serveUIAndFinish(ctx, "", func() map[string]int {
		if r := driver.Runner(); r != nil {
			return r.UsersByClass()
		}
		return nil
	}, nil)
}

// serveUIAndFinish serves the web UI until the process is told to quit,
// then writes every output. afterFinish runs after the outputs (the master
// lists lost workers there).
func (sess *session) serveUIAndFinish(ctx context.Context, title string, usersByClass func() map[string]int, afterFinish func()) error {
	if sess.webHistory != nil {
		defer sess.webHistory.Close()
	}
	sess.started = time.Now()
	defaults := sess.o.params(sess.script)
	defaults.Workload = sess.plan.workloadDefaults(&sess.o.wl)
	vars, err := parseVars(sess.o.vars)
	if err != nil {
		return configErr("%v", err)
	}
	interrupted, err := sess.app.serveWeb(ctx, &sess.o.web, webServe{
		Engine: sess.eng, Script: sess.script, Defaults: defaults, History: sess.webHistory,
		Vars: vars, LoadScript: sess.o.loadScriptVars,
		UsersByClass: usersByClass,
		Document:     func(sum *stats.Summary) *output.Document { return sess.document(sum, false) },
		Title:        title,
		OnTestEnd:    sess.testEnded,
		OnSignal:     func(sig <-chan os.Signal, interrupted bool) { sess.quitOnSignal(sig, "users", interrupted) },
	})
	// A test stopped by the exit itself (signal, --autoquit) is written
	// here.
	sess.testEnded()
	if err != nil {
		var ee *ExitError
		if errors.As(err, &ee) {
			return err
		}
		sess.app.Log.Error("web UI", "err", err)
	}
	ferr := sess.finish(interrupted)
	if afterFinish != nil {
		afterFinish()
	}
	if ferr == nil && err != nil {
		return &ExitError{Code: ExitFailed, Err: err}
	}
	return ferr
}
