package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/stampede-load/stampede/internal/bounds"
	"github.com/stampede-load/stampede/internal/cluster"
	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/output"
)

// tokenOptions are the cluster credentials, shared by master and worker.
type tokenOptions struct {
	token     string
	tokenFile string
}

func (t *tokenOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&t.token, "cluster-token", "", "shared secret every worker must present (prefer STAMPEDE_CLUSTER_TOKEN or --cluster-token-file)")
	fs.StringVar(&t.tokenFile, "cluster-token-file", "", "file holding the cluster token (first line)")
}

// read returns the token, from the flag/env or the file.
func (t *tokenOptions) read() (string, error) {
	if t.token != "" && t.tokenFile != "" {
		return "", configErr("--cluster-token and --cluster-token-file: give one of them")
	}
	if t.tokenFile == "" {
		return strings.TrimSpace(t.token), nil
	}
	b, err := os.ReadFile(t.tokenFile)
	if err != nil {
		return "", configErr("--cluster-token-file: %v", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	tok := strings.TrimSpace(line)
	if tok == "" {
		return "", configErr("--cluster-token-file: %s is empty", t.tokenFile)
	}
	return tok, nil
}

type masterOptions struct {
	expectWorkers int
	maxWait       time.Duration
	bindHost      string
	bindPort      int
	insecure      bool
	tok           tokenOptions
	// maxWorkers and forgetAfter bound the workers a long-running master
	// keeps (docs/distributed.md, "Limits").
	maxWorkers  int
	forgetAfter time.Duration
}

func (app *App) masterCmd() *cobra.Command {
	o := &testOptions{goClasses: app.goClasses}
	mo := &masterOptions{}
	prof := &profileOptions{} // hidden --cpuprofile/--memprofile (bench/masterscale)
	cmd := &cobra.Command{
		Use:   "master " + app.fileUse() + " [flags] [CLASS...]",
		Short: "Coordinate workers in one or many regions and merge their statistics",
		Long: `Run the master of a distributed test. Workers (stampede worker) dial the
master on --master-bind-port; the master sends them the script, their share
of the users and the spawn rate, and merges their statistics exactly, in
total, per region and per worker. The master runs no users itself; the
workers need no script file and no --var of their own.

A worker silent for 3 s is marked missing and its users are placed on the
other workers at once; it is taken back when it returns, and the summary
lists every lost worker. Statistics are acknowledged, so a reconnecting
worker's reports are neither lost nor counted twice.

With --headless the master waits for --expect-workers workers, runs the test
for --run-time and exits; without it the web UI starts and stops tests.

A master that listens on a non-loopback address requires a cluster token
(--cluster-token, STAMPEDE_CLUSTER_TOKEN or --cluster-token-file) unless
--insecure is given. --tls-cert/--tls-key serve the worker port (and the web
UI) over TLS. See docs/distributed.md.

Arguments after the flags name the user classes to run, as for run.

Exit codes: as for run; 4 when the expected workers did not connect within
--expect-workers-max-wait (no load was sent).`,
		Example: `  export STAMPEDE_CLUSTER_TOKEN=$(openssl rand -hex 32)
  stampede master -f test.star --headless -u 300 -r 30 -t 10m --expect-workers 3 --csv out/run
  stampede worker --master-host master.example.com --region westeurope`,
		Args: o.classArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return prof.around(func() error { return app.master(cmd.Context(), o, mo) })
		},
	}
	fs := cmd.Flags()
	o.register(fs)
	prof.register(fs)
	fs.IntVar(&mo.expectWorkers, "expect-workers", 1, "with --headless: wait for this many workers before starting")
	durationFlag(fs, &mo.maxWait, "expect-workers-max-wait", "", "give up when the expected workers have not connected after this long (default: wait forever)")
	fs.StringVar(&mo.bindHost, "master-bind-host", "0.0.0.0", "address the worker port listens on (0.0.0.0 or * = every interface)")
	fs.IntVar(&mo.bindPort, "master-bind-port", 5557, "worker port")
	intIn(fs, "expect-workers", &mo.expectWorkers, 1, maxWorkers)
	intIn(fs, "master-bind-port", &mo.bindPort, 0, maxPort)
	fs.IntVar(&mo.maxWorkers, "max-workers", cluster.DefaultMaxWorkers, "most workers connected at once; more are refused (twice as many are remembered, missing ones included)")
	intIn(fs, "max-workers", &mo.maxWorkers, 1, maxWorkers)
	mo.forgetAfter = cluster.DefaultForgetAfter
	durationFlag(fs, &mo.forgetAfter, "forget-missing-after", "", "how long a missing worker stays listed before the master forgets it (a restarted worker comes back under a new id)")
	limit(fs, "forget-missing-after", func() error { return bounds.Duration(mo.forgetAfter, time.Second, bounds.MaxRunTime) })
	fs.BoolVar(&mo.insecure, "insecure", false, "allow a master on a non-loopback address without a cluster token (anyone who reaches the port can join and receive the script)")
	mo.tok.register(fs)
	return cmd
}

func (mo *masterOptions) validate() (token string, err error) {
	token, err = mo.tok.read()
	if err != nil {
		return "", err
	}
	if token == "" && !isLoopback(mo.bindHost) && !mo.insecure {
		return "", configErr("--master-bind-host %s is not a loopback address and no cluster token is set: "+
			"anyone who reaches port %d could join and receive the script. Set --cluster-token, "+
			"STAMPEDE_CLUSTER_TOKEN or --cluster-token-file (and the same on every worker), "+
			"bind to 127.0.0.1, or pass --insecure to accept that risk", mo.bindHost, mo.bindPort)
	}
	return token, nil
}

func (mo *masterOptions) addr() string {
	h := mo.bindHost
	if h == "*" {
		h = ""
	}
	return net.JoinHostPort(h, strconv.Itoa(mo.bindPort))
}

func (app *App) master(ctx context.Context, o *testOptions, mo *masterOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	token, err := mo.validate()
	if err != nil {
		return err
	}
	if err := o.web.tls.validate(); err != nil {
		return err
	}
	if !o.headless {
		if err := o.web.validate(); err != nil {
			return err
		}
	}
	var tlsCfg *tls.Config
	if o.web.tls.enabled() {
		cert, err := tls.LoadX509KeyPair(o.web.tls.cert, o.web.tls.key)
		if err != nil {
			return configErr("--tls-cert/--tls-key: %v", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if token != "" && tlsCfg == nil && !isLoopback(mo.bindHost) {
		app.Log.Warn("the cluster token travels in clear text without --tls-cert/--tls-key; use TLS when workers reach the master over the internet")
	}
	if token == "" && !isLoopback(mo.bindHost) {
		app.Log.Warn("--insecure: the worker port accepts any worker, without a token", "addr", mo.addr())
	}
	s, err := o.loadScript()
	if err != nil {
		return err
	}
	vars, err := parseVars(o.vars)
	if err != nil {
		return configErr("%v", err)
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
	m := cluster.NewMaster(cluster.MasterConfig{
		Script: s, Vars: vars, Seed: o.seed, HTTP: o.httpOptions(), StopTimeout: o.stopTimeout,
		Token: token, TLS: tlsCfg, Version: Version, GoClasses: app.goClasses, Log: app.Log, Logs: app.logs, Open: plan.clusterOpen(),
		OnTestEnd:  sess.stopWith,
		MaxWorkers: mo.maxWorkers, ForgetAfter: mo.forgetAfter, MaxNames: o.limits.nameLimit(),
	})
	lis, err := net.Listen("tcp", mo.addr())
	if err != nil {
		m.Close("")
		return configErr("--master-bind-host/--master-bind-port: %v", err)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- m.Serve(lis) }()
	defer m.Close("the master is exiting")
	app.Log.Info("master listening for workers", "addr", lis.Addr().String(), "tls", tlsCfg != nil, "token", token != "")

	// Workers get --stop-timeout to finish their tasks, then the master
	// waits a little longer for their final reports.
	sess.models = sess.perTest(func(pl *workloadPlan, p engine.Params) engine.Driver {
		m.SetOpen(pl.clusterOpen())
		return pl.masterDriver(m, scriptFor(s, p), app, sess.stopWith)
	})
	sess.models.workers = m
	app.Log.Info("workload", plan.describe()...)
	sess.eng = engine.New(engine.Config{Driver: sess.models, Log: app.Log, OnTick: sess.tickHooks(), StopGrace: o.stopTimeout + 30*time.Second,
		MaxNames: o.limits.nameLimit(), Hooks: sess.hooks()})
	gctx, stopGuard := context.WithCancel(ctx)
	defer stopGuard()
	sess.guardMemory(gctx)
	sess.decorate = func(doc *output.Document) {
		doc.Lost = m.Lost()
		ws := testWorkers(m.Workers(), doc)
		doc.Workers = ws
		doc.Run.WorkerCount = len(ws)
		seen := map[string]bool{}
		for _, w := range ws {
			if w.Region != "" && !seen[w.Region] {
				seen[w.Region] = true
				doc.Run.Regions = append(doc.Run.Regions, w.Region)
			}
		}
		sort.Strings(doc.Run.Regions)
	}

	if !o.headless {
		if o.web.autostart {
			// --autostart starts the test at once: with the workers.
			if err := app.waitWorkers(ctx, m, mo, serveErr); err != nil {
				return err
			}
		}
		return sess.serveMasterUI(ctx, m)
	}

	if err := app.waitWorkers(ctx, m, mo, serveErr); err != nil {
		return err
	}
	ferr := sess.headless(ctx, "workers")
	printLost(app, m.Lost())
	return ferr
}

// waitWorkers waits for --expect-workers workers, for at most
// --expect-workers-max-wait; Ctrl-C ends the wait.
func (app *App) waitWorkers(ctx context.Context, m *cluster.Master, mo *masterOptions, serveErr <-chan error) error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	wctx, cancel := context.WithCancel(ctx)
	if mo.maxWait > 0 {
		cancel()
		wctx, cancel = context.WithTimeout(ctx, mo.maxWait)
	}
	defer cancel()
	waitErr := make(chan error, 1)
	go func() { waitErr <- m.WaitWorkers(wctx, mo.expectWorkers) }()
	app.Log.Info("waiting for workers", "expect", mo.expectWorkers)
	select {
	case err := <-waitErr:
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return &ExitError{Code: ExitNoWorkers, Err: fmt.Errorf("--expect-workers %d: %d of %d expected workers connected within --expect-workers-max-wait %v",
				mo.expectWorkers, m.Connected(), mo.expectWorkers, mo.maxWait)}
		}
		if err != nil {
			return &ExitError{Code: ExitFailed, Err: fmt.Errorf("--expect-workers %d: %w", mo.expectWorkers, err)}
		}
		return nil
	case err := <-serveErr:
		return fmt.Errorf("worker port: %w", err)
	case sg := <-sig:
		return &ExitError{Code: ExitAborted, Err: fmt.Errorf("interrupted by %s while waiting for workers (%d of %d connected)", sg, m.Connected(), mo.expectWorkers)}
	}
}

// printLost tells which workers were lost during the run, and when.
func printLost(app *App, lost []output.LostWorker) {
	if len(lost) == 0 {
		return
	}
	fmt.Fprintln(app.Stdout)
	fmt.Fprintf(app.Stdout, "Lost workers (their statistics up to their last acknowledged report are included):\n")
	for _, l := range lost {
		fmt.Fprintf(app.Stdout, "  %s (region %s, host %s, %d users): lost at %s, last heard %s: %s\n",
			l.ID, l.Region, l.Host, l.Users, l.LostAt.UTC().Format(time.RFC3339), l.LastHeartbeat.UTC().Format("15:04:05.000"), l.Reason)
	}
}

// serveMasterUI runs the master with the web UI, then writes the outputs.
func (sess *session) serveMasterUI(ctx context.Context, m *cluster.Master) error {
	return sess.serveUIAndFinish(ctx, "Stampede master", m.UsersByClass, func() { printLost(sess.app, m.Lost()) })
}

// testWorkers keeps the workers that took part in the document's test: a
// master serving many tests knows every worker of its life (until it
// forgets the gone ones), but a test's results name only those with
// statistics in it, lost during it, or running it.
func testWorkers(all []output.WorkerInfo, doc *output.Document) []output.WorkerInfo {
	in := map[string]bool{}
	if doc.Stats != nil {
		for _, w := range doc.Stats.WorkerTotals {
			in[w.Worker] = true
		}
	}
	for _, l := range doc.Lost {
		in[l.ID] = true
	}
	var out []output.WorkerInfo
	for _, w := range all {
		if in[w.ID] || w.Users > 0 {
			out = append(out, w)
		}
	}
	return out
}
