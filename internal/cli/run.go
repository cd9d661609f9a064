package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/stampede-load/stampede/internal/bounds"
	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/results"
	"github.com/stampede-load/stampede/internal/runner"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/shape"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/internal/web"
	"github.com/stampede-load/stampede/internal/workload"
)

// testOptions are the flags that describe a test, shared by run and master.
type testOptions struct {
	file           string
	users          int
	spawnRate      float64
	runTime        time.Duration
	iterations     int64
	stopTimeout    time.Duration
	host           string
	headless       bool
	csvPrefix      string
	csvFullHistory bool
	jsonFile       string
	seed           int64
	vars           []string
	tags           []string // -T/--tags
	excludeTags    []string // -E/--exclude-tags
	classes        []string // positional CLASS...: run only these user classes
	exitOnError    int
	ci             ciOptions // --html, --threshold, --abort-on-fail, --results-url, --run-id (ci.go)
	http2          bool
	insecureTLS    bool
	requestTimeout time.Duration
	web            webOptions      // web UI flags (web.go), also on master
	wl             workloadOptions // stages / arrival rate (workload.go)
	limits         limitOptions    // --max-body, --max-names (limits.go)
	// goClasses are the program's user classes written in Go (App.goClasses).
	goClasses []*script.UserClass
}

func (o *testOptions) register(fs *pflag.FlagSet) {
	fileHelp := "test script to run: a .star file, a folder (its test.star) or a bundle (.tar.gz from stampede bundle)"
	if len(o.goClasses) > 0 {
		fileHelp += "; optional here: this program's Go user classes (" + strings.Join(goClassNames(o.goClasses), ", ") + ") run beside the script's"
	}
	fs.StringVarP(&o.file, "file", "f", "", fileHelp)
	fs.IntVarP(&o.users, "users", "u", 1, "peak number of concurrent users")
	fs.Float64VarP(&o.spawnRate, "spawn-rate", "r", 1, "users to start (or stop) per second")
	durationFlag(fs, &o.runTime, "run-time", "t", "stop after this long, e.g. 30s, 5m, 1h30m (default: until stopped)")
	fs.Int64VarP(&o.iterations, "iterations", "i", 0, "stop after this many task executions in all users (and workers) together; with -t, whichever comes first (default: no limit)")
	durationFlag(fs, &o.stopTimeout, "stop-timeout", "s", "at stop, let running tasks finish for up to this long (default: interrupt at their next request)")
	fs.StringVarP(&o.host, "host", "H", "", "base URL of the system under test (default: the script's host)")
	fs.BoolVar(&o.headless, "headless", false, "no web UI: start at once and stop at the end of --run-time")
	fs.StringVar(&o.csvPrefix, "csv", "", "write CSV results to PREFIX_stats.csv, PREFIX_stats_history.csv, PREFIX_failures.csv, PREFIX_exceptions.csv (rewritten every second, as Locust does, so a killed process leaves its last second)")
	fs.BoolVar(&o.csvFullHistory, "csv-full-history", false, "also write every entry's rows to PREFIX_stats_history.csv")
	fs.StringVar(&o.jsonFile, "json", "", "write a JSON summary to this file (see docs/json-summary.md)")
	fs.Int64Var(&o.seed, "seed", 0, "seed for the scripts' random module, to repeat a run (default: drawn at random, logged and recorded in the --json summary)")
	fs.StringArrayVar(&o.vars, "var", nil, "KEY=VALUE visible to the script as vars[KEY] (repeatable)")
	registerTags(fs, &o.tags, &o.excludeTags)
	fs.IntVar(&o.exitOnError, "exit-code-on-error", 1, "exit with this code when any request failed or any task raised a script error (0: they alone do not fail the run; a run in which no request succeeded exits 1 regardless)")
	o.ci.register(fs)
	fs.BoolVar(&o.http2, "http2", false, "use Go's net/http client (HTTP/2 where offered, HTTP(S)_PROXY honoured) instead of the faster HTTP/1.1 client")
	fs.BoolVar(&o.insecureTLS, "insecure-skip-verify", false, "do not verify the target's TLS certificate")
	durationFlag(fs, &o.requestTimeout, "request-timeout", "", "default timeout of one request (default 60s)")
	o.web.register(fs)
	o.wl.register(fs)
	o.limits.register(fs)
	intIn(fs, "users", &o.users, 0, bounds.MaxUsers)
	limit(fs, "spawn-rate", func() error { return bounds.Positive(o.spawnRate, bounds.MaxSpawnRate) })
	intIn(fs, "exit-code-on-error", &o.exitOnError, 0, maxExitCode)
	limit(fs, "iterations", func() error { return bounds.Int(o.iterations, 0, bounds.MaxIterations) })
	intIn(fs, "max-names", &o.limits.maxNames, 0, maxNames)
}

// validate checks the flags before anything is loaded.
func (o *testOptions) validate() error {
	if o.file == "" && len(o.goClasses) == 0 {
		return configErr("-f/--file: a test script is required (try examples/minimal.star)")
	}
	if err := checkHost("--host", o.host); err != nil {
		return configErr("%v", err)
	}
	if err := o.limits.validate(); err != nil {
		return err
	}
	return o.wl.validate()
}

// loadScript loads the script, reporting problems as config errors.
func (o *testOptions) loadScript() (*script.Script, error) {
	vars, err := parseVars(o.vars)
	if err != nil {
		return nil, configErr("%v", err)
	}
	return o.loadScriptVars(vars)
}

// loadScriptVars loads the script with these --var values (the web
// form's custom parameters load it again with theirs).
func (o *testOptions) loadScriptVars(vars map[string]string) (*script.Script, error) {
	var (
		s   *script.Script
		err error
	)
	opts := script.Options{Vars: vars, Go: o.goClasses}
	switch file, ferr := mainScript(o.file); {
	case ferr != nil:
		return nil, ferr
	case file == "":
		s, err = script.LoadGo(opts)
	case isBundle(file):
		s, err = loadBundle(file, opts)
	default:
		s, err = script.LoadFile(file, opts)
	}
	if err != nil {
		var le *script.LoadError
		if errors.As(err, &le) && le.Backtrace != "" {
			return nil, configErr("%v\n%s", err, le.Backtrace)
		}
		return nil, configErr("%v", err)
	}
	if err := checkHost("host in "+o.file, s.Host); err != nil {
		return nil, configErr("%v", err)
	}
	if _, err := s.SelectTags(o.tags, o.excludeTags); err != nil {
		return nil, configErr("-T/--tags, -E/--exclude-tags: %v", err)
	}
	for _, c := range o.classes {
		if s.Class(c) == nil {
			return nil, configErr("%s is not a user class of %s (it has %s)", c, o.testName(), strings.Join(classNames(s), ", "))
		}
	}
	if o.host == "" && s.Host == "" && s.UsesHTTP() {
		for _, c := range s.Classes {
			if c.Host == "" && !c.IsGo() {
				return nil, configErr("no host for user class %s: pass --host, or set host = \"http://...\" in %s", c.Name, o.file)
			}
		}
	}
	return s, nil
}

// goClassNames names classes (of a script, or the program's Go classes).
func goClassNames(classes []*script.UserClass) []string {
	names := make([]string, len(classes))
	for i, c := range classes {
		names[i] = c.Name
	}
	return names
}

// testName names the test in messages: its script, or the program.
func (o *testOptions) testName() string {
	if o.file == "" {
		return "this program"
	}
	return o.file
}

func (o *testOptions) httpOptions() httpclient.Options {
	return httpclient.Options{
		HTTP2: o.http2, InsecureSkipVerify: o.insecureTLS,
		UserAgent: "stampede/" + Version, Timeout: o.requestTimeout,
		MaxBody: o.limits.bodyLimit(),
	}
}

func (o *testOptions) params(s *script.Script) engine.Params {
	host := o.host
	if host == "" {
		host = s.Host
	}
	return engine.Params{Users: o.users, SpawnRate: o.spawnRate, RunTime: o.runTime, Host: host,
		Tags: o.tags, ExcludeTags: o.excludeTags, Iterations: o.iterations, Classes: o.classes}
}

// classArgs takes the positional arguments as the user classes to run,
// as Locust's `locust -f locustfile.py WebUser MobileUser` does. A .star
// file among them is a script given without -f; with a secret flag on
// the command line an argument may be that flag's value, so it is not
// echoed back (noArgs says so).
func (o *testOptions) classArgs(cmd *cobra.Command, args []string) error {
	for _, a := range args {
		if strings.HasSuffix(a, ".star") || secretOnCommandLine(cmd) {
			return noArgs(cmd, []string{a})
		}
	}
	o.classes = args
	return nil
}

func classNames(s *script.Script) []string { return goClassNames(s.Classes) }

func (app *App) runCmd() *cobra.Command {
	o := &testOptions{goClasses: app.goClasses}
	prof := &profileOptions{} // hidden --cpuprofile/--memprofile (bench/engine)
	cmd := &cobra.Command{
		Use:   "run " + app.fileUse() + " [flags] [CLASS...]",
		Short: "Run a load test on this machine",
		Long: `Run a load test on this machine.

With --headless the test starts at once and ends after --run-time (or on
Ctrl-C); results are printed and written to the --csv / --json files. On
Ctrl-C or SIGTERM the users stop, requests in flight complete and are
counted, and every output is still written.

Arguments after the flags name the user classes to run (all when none are
given), as with Locust's "locust -f locustfile.py WebUser".

Exit codes: 0 success; 1 a threshold failed, a request failed or a task
raised a script error (--exit-code-on-error, default 1), or no request
succeeded at all; 2 script or configuration error, also when found while
the test runs (a shape() that raised); 3 interrupted before the run time
was over (with the web UI: while a test was running).`,
		Example: `  stampede demo &
  stampede run -f examples/shop.star --headless -u 20 -r 10 -t 15s
  stampede run -f test.star --headless -u 100 -r 10 -t 5m --host https://staging.example.com --csv out/run`,
		Args: o.classArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			defer gcFloor()()
			return prof.around(func() error { return app.run(cmd.Context(), o) })
		},
	}
	o.register(cmd.Flags())
	prof.register(cmd.Flags())
	return cmd
}

// session is one local test run with its outputs.
type session struct {
	app      *App
	o        *testOptions
	script   *script.Script
	eng      *engine.Engine
	csv      *output.CSVFiles
	progress *output.Progress
	started  time.Time
	ci       *ciState // thresholds, HTML report, upload (ci.go)
	// tests uploads each web UI test's results when it stops (nil:
	// headless, or no --results-url).
	tests *testResults

	// webHistory keeps the full-history download of the web UI.
	webHistory *web.History

	// decorate, when set, completes the JSON document (the master adds
	// its workers, lost workers and regions).
	decorate func(*output.Document)
	// plan is the command line's workload model; models the engine's
	// driver, which runs each test with its own (pertest.go).
	plan   *workloadPlan
	models *perTest

	// finished makes the outputs be written once, by the normal end or by
	// a second signal, whichever comes first (the other waits for it).
	finished  sync.Once
	finishErr error
}

// stopWith ends the test from a shape or schedule that is over.
func (sess *session) stopWith(reason string) {
	if sess.eng != nil {
		_ = sess.eng.StopWith(reason)
	}
}

// stopTest is u.stop_test(reason): called from a user's task, it must not
// wait for the users to stop.
func (sess *session) stopTest(reason string) {
	go sess.stopWith(engine.StopTestReason(reason))
}

// iterations is a local test's budget of task executions (nil: none).
func (sess *session) iterations(p engine.Params) *workload.Iterations {
	if p.Iterations <= 0 {
		return nil
	}
	return workload.NewIterations(p.Iterations, func() { sess.stopWith(engine.ReasonIterations) })
}

func (app *App) run(ctx context.Context, o *testOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	if !o.headless {
		if err := o.web.validate(); err != nil {
			return err
		}
	}
	s, err := o.loadScript()
	if err != nil {
		return err
	}
	plan, err := o.wl.plan(s)
	if err != nil {
		return err
	}
	o.drawSeed(app.Log)
	sess := &session{app: app, o: o, script: s, plan: plan}
	if err := sess.openOutputs(); err != nil {
		return err
	}
	local := &engine.LocalDriver{NewRunner: func(p engine.Params) (*runner.Runner, error) {
		sel, err := selectTags(s, p, app.Log)
		if err != nil {
			return nil, err
		}
		return runner.New(runner.Config{
			Script: sel, Host: p.Host, HTTP: o.httpOptions(), Seed: o.seed,
			StopTimeout: o.stopTimeout, Log: app.Log,
			Iterations: sess.iterations(p), SetupData: p.SetupData, StopTest: sess.stopTest,
			MaxNames: o.limits.nameLimit(),
		}), nil
	}}
	sess.models = sess.perTest(func(pl *workloadPlan, p engine.Params) engine.Driver {
		return pl.driver(o, scriptFor(s, p), local, app, sess)
	})
	app.Log.Info("workload", plan.describe()...)
	// As on the master: users get --stop-timeout to finish their tasks, and
	// the engine must not give up on them (losing their last requests)
	// before that is over.
	sess.eng = engine.New(engine.Config{Driver: sess.models, Log: app.Log, OnTick: sess.tickHooks(), StopGrace: o.stopTimeout + 30*time.Second,
		Hooks: sess.hooks(), MaxNames: o.limits.nameLimit()})
	gctx, stopGuard := context.WithCancel(ctx)
	defer stopGuard()
	sess.guardMemory(gctx)
	if !o.headless {
		return sess.serveUI(ctx, local)
	}

	return sess.headless(ctx, "users")
}

// headless starts the test at once and waits until it ends by itself or
// by SIGINT/SIGTERM (a second signal quits at once), then writes every
// output. what names what is being stopped, for the log.
func (sess *session) headless(ctx context.Context, what string) error {
	app, o := sess.app, sess.o
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)

	sess.started = time.Now()
	if err := sess.eng.Start(ctx, o.params(sess.script)); err != nil {
		var fe *engine.FieldError
		var se *engine.SetupError
		var she *shape.Error
		switch {
		case errors.As(err, &fe), errors.As(err, &she):
			return configErr("%v", err)
		case errors.As(err, &se):
			// The test ended before it began: still write its results.
			if ferr := sess.finish(false); ferr != nil {
				app.Log.Error("writing results", "err", ferr)
			}
			return setupFailed(se)
		}
		return &ExitError{Code: ExitFailed, Err: err}
	}
	interrupted := false
	select {
	case <-sess.eng.Done():
	case sg := <-sig:
		interrupted = true
		app.Log.Info("signal received: stopping "+what+" and writing results (send again to stop waiting and write what was collected)", "signal", sg.String())
		go sess.quitOnSignal(sig, what, o.runTime > 0)
		_ = sess.eng.StopWith("interrupted by " + sg.String())
	}
	<-sess.eng.Done()
	return sess.finish(interrupted && o.runTime > 0)
}

// openOutputs creates the output files at once, so a bad path fails
// before any load is sent.
func (sess *session) openOutputs() error {
	o := sess.o
	if err := sess.openCI(); err != nil {
		return err
	}
	if o.csvPrefix != "" {
		c, err := output.OpenCSV(o.csvPrefix, o.csvFullHistory)
		if err != nil {
			return configErr("--csv: %v", err)
		}
		sess.csv = c
	}
	if o.jsonFile != "" {
		if err := checkWritableDir("--json", o.jsonFile); err != nil {
			return err
		}
	}
	return nil
}

func checkWritableDir(flag, file string) error {
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return configErr("%s: %v", flag, err)
	}
	f, err := os.CreateTemp(dir, ".stampede-check-*")
	if err != nil {
		return configErr("%s: cannot write to %s: %v", flag, dir, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// tickHooks write the CSV files and the progress line once a second.
func (sess *session) tickHooks() []engine.TickFunc {
	hooks := append(sess.webHooks(), sess.ciHooks()...)
	if sess.csv != nil {
		hooks = append(hooks, func(now time.Time, p stats.Point, e *engine.Engine) {
			sum := e.Snapshot(false)
			if err := sess.csv.History(now, p.Users, sum); err != nil {
				sess.app.Log.Error("writing CSV history", "err", err)
			}
			// As Locust does, the other CSV files are rewritten every
			// second: a process killed outright (the kernel's OOM
			// killer, SIGKILL) leaves its results up to the last second.
			if err := sess.csv.Checkpoint(sum); err != nil {
				sess.app.Log.Error("writing CSV files", "err", err)
			}
		})
	}
	tty := false
	if f, ok := sess.app.Stderr.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	prog := output.NewProgress(sess.app.Stderr, tty)
	every := 1
	if !tty {
		every = 10
	}
	n := 0
	hooks = append(hooks, func(now time.Time, p stats.Point, e *engine.Engine) {
		n++
		if n%every != 0 {
			return
		}
		line := output.ProgressLine{
			Elapsed: now.Sub(sess.started), Users: p.Users, RPS: p.RPS, P50: p.P50, P95: p.P95,
			Requests: p.Requests, State: string(e.State()),
		}
		if p.Requests > 0 {
			line.FailRatio = float64(p.Failures) / float64(p.Requests)
		}
		if rt := sess.o.runTime; rt > 0 {
			line.Remaining = max(0, rt-line.Elapsed)
		}
		if drv, plan := sess.current(); plan != nil {
			line.Extra = plan.progress(drv)
		}
		prog.Update(line)
	})
	sess.progress = prog
	return hooks
}

// finish writes every output and decides the exit code.
func (sess *session) finish(aborted bool) error {
	sess.finished.Do(func() { sess.finishErr = sess.writeResults(aborted) })
	return sess.finishErr
}

// quitOnSignal waits for a second signal after the first one started
// stopping the test. It then stops waiting for the users but still writes
// the statistics collected so far (results are never lost to an impatient
// Ctrl-C); a third signal exits without them.
func (sess *session) quitOnSignal(sig <-chan os.Signal, what string, aborted bool) {
	<-sig
	fmt.Fprintln(sess.app.Stderr, "second signal: not waiting for "+what+"; writing the results collected so far (a third signal exits without them)")
	written := make(chan struct{})
	go func() {
		_ = sess.finish(aborted)
		close(written)
	}()
	select {
	case <-written:
	case <-sig:
		fmt.Fprintln(sess.app.Stderr, "third signal: exiting without writing the results")
	}
	os.Exit(ExitAborted)
}

// writeResults writes every output of the test; finish calls it once.
func (sess *session) writeResults(aborted bool) error {
	app, o := sess.app, sess.o
	if sess.progress != nil {
		sess.progress.Done()
	}
	sum := sess.eng.Snapshot(true)
	// Each output is written on its own (outputSafely): one that fails,
	// even by a panic, must not cost the others.
	var errs []string
	if sess.csv != nil {
		if err := outputSafely(func() error { return sess.csv.Finish(sum) }); err != nil {
			errs = append(errs, fmt.Sprintf("--csv: %v", err))
		}
	}
	doc := sess.document(sum, aborted)
	sess.ciDocument(doc)
	if o.jsonFile != "" {
		if err := outputSafely(func() error { return output.WriteJSON(o.jsonFile, doc) }); err != nil {
			errs = append(errs, fmt.Sprintf("--json: %v", err))
		}
	}
	fmt.Fprintln(app.Stdout)
	if err := outputSafely(func() error { return output.PrintSummary(app.Stdout, sum) }); err != nil {
		errs = append(errs, err.Error())
	}
	if err := outputSafely(func() error { errs = append(errs, sess.ciFinish(doc)...); return nil }); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return &ExitError{Code: ExitFailed, Err: errors.New("writing results: " + strings.Join(errs, "; "))}
	}
	return sess.verdict(doc, aborted)
}

func (sess *session) document(sum *stats.Summary, aborted bool) *output.Document {
	start, end, reason := sess.eng.Times()
	p := sess.eng.Params()
	doc := &output.Document{
		Run: output.RunInfo{
			Version: Version, Script: sess.o.file, ScriptSHA256: sess.script.Hash, Host: results.RedactURL(p.Host),
			Model: output.ModelClosed, Users: p.Users, SpawnRate: p.SpawnRate,
			RunTimeSeconds: p.RunTime.Seconds(), Start: start, End: end,
			DurationSeconds: end.Sub(start).Seconds(), Seed: sess.o.seed,
			Interrupted: aborted, StopReason: reason, StopTestReason: engine.ScriptStopReason(reason),
			Iterations: p.Iterations,
		},
		Stats:            sum,
		ThresholdsPassed: true,
	}
	if drv, plan := sess.current(); plan != nil {
		plan.runInfo(&doc.Run, drv, sum)
	}
	doc.Ratios = sess.ratios(p)
	if sess.decorate != nil {
		sess.decorate(doc)
	}
	return doc
}

// ratios are the run's final task ratios: the classes' shares of the
// peak user count as the spawner divides it (the weights' shares when no
// user count was set), with the run's tag selection applied.
func (sess *session) ratios(p engine.Params) *output.TaskRatios {
	if sess.script == nil {
		return nil
	}
	sc := sess.script
	if sel, err := sc.SelectTags(p.Tags, p.ExcludeTags); err == nil {
		sc = sel
	}
	var counts map[string]int
	if p.Users > 0 {
		counts = runner.Distribute(runner.Classes(sc), p.Users)
	}
	return runner.TaskRatios(sc, counts)
}

// hooks are the script's setup and teardown, run by the engine (nil when
// the script has neither).
func (sess *session) hooks() engine.Hooks {
	if !sess.script.HasSetup() && !sess.script.HasTeardown() {
		return nil
	}
	return engine.NewScriptHooks(sess.script, sess.o.httpOptions(), sess.app.Log)
}

// setupFailed is the exit of a test whose setup raised: a script error.
func setupFailed(se *engine.SetupError) error {
	var he *script.HookError
	if errors.As(se, &he) && he.Backtrace != "" {
		return &ExitError{Code: ExitConfig, Err: fmt.Errorf("%v\n%s", se, he.Backtrace)}
	}
	return &ExitError{Code: ExitConfig, Err: se}
}
