package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/report"
	"github.com/stampede-load/stampede/internal/results"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/internal/threshold"
)

// ciOptions are the flags that make a run a CI step: the HTML report,
// thresholds and the results upload. They are part of testOptions, so run
// and master share them.
type ciOptions struct {
	html        string
	thresholds  []string
	abortOnFail bool
	abortGrace  time.Duration
	resultsURL  string
	runID       string
	probeWait   time.Duration
	baseline    string
	baselineOpt bool
}

const defaultAbortGrace = 10 * time.Second

func (c *ciOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.html, "html", "", "write a self-contained HTML report to this file at the end (and on Ctrl-C)")
	fs.StringArrayVar(&c.thresholds, "threshold", nil, "pass/fail condition, e.g. 'p95<500ms', 'error_rate<1%', 'p95{name=/checkout}<800ms', 'rps>=100' (repeatable; a failed one exits 1; see docs/reports.md)")
	fs.BoolVar(&c.abortOnFail, "abort-on-fail", false, "stop the test early once a threshold has failed beyond doubt (per threshold: suffix @abort)")
	durationFlag(fs, &c.abortGrace, "abort-grace", "", "with --abort-on-fail: only failures that cannot recover stop the test during this time from the start (default 10s)")
	fs.StringVar(&c.resultsURL, "results-url", "", "upload every output at the end (with the web UI: each test's when it stops, under RUN-ID-<start time>): azblob://CONTAINER?prefix=P/ or file:///PATH; s3://BUCKET and gs://BUCKET in the allclouds build (checked at start)")
	durationFlag(fs, &c.probeWait, "results-probe-wait", "", "keep retrying --results-url's start-up write check this long while the storage refuses permission, e.g. a role assignment minutes old (default 0: fail at once)")
	fs.StringVar(&c.baseline, "baseline", "", "a previous run for thresholds such as 'p95<baseline*1.10': its JSON summary, CSV prefix, folder, or results URL such as azblob://CONTAINER/RUN_ID (read at start; see docs/compare.md)")
	fs.BoolVar(&c.baselineOpt, "baseline-optional", false, "a missing or unreadable --baseline is a warning, and the thresholds relative to it are skipped (default: exit 2)")
	fs.StringVar(&c.runID, "run-id", "", "name of the run, its folder under --results-url (default: UTC time and a pet name, e.g. 20261127-101500-brave-otter)")
}

// ciState is what a session keeps for thresholds, the report and the
// upload.
type ciState struct {
	thresholds []*threshold.Threshold
	monitor    *threshold.Monitor
	runID      string
	bucket     *results.Bucket
	runDir     string // local folder of the outputs given no path, and of the log
	logFile    *os.File
	logPath    string
	origLog    *slog.Logger
	aborted    sync.Once
}

// openCI parses the thresholds, names the run, opens --results-url (a
// wrong URL or missing access fails here, before any load is sent), gives
// every output without a path one in the run's folder, and copies the log
// into that folder. It runs first in openOutputs.
func (sess *session) openCI() error {
	o, app := sess.o, sess.app
	c := &o.ci
	ci := &ciState{}
	var scriptThresholds []string
	if sess.script != nil {
		scriptThresholds = sess.script.Thresholds
	}
	ts, err := threshold.ParseAll(c.thresholds, scriptThresholds)
	if err != nil {
		return configErr("%v", err)
	}
	ci.thresholds = ts
	if err := c.bindBaseline(app.Log, ts); err != nil {
		return err
	}
	if c.abortGrace < 0 {
		return configErr("--abort-grace: must be >= 0")
	}
	grace := c.abortGrace
	if grace == 0 {
		grace = defaultAbortGrace
	}
	ci.monitor = &threshold.Monitor{Thresholds: ts, All: c.abortOnFail, Grace: grace}
	if c.abortOnFail && len(ts) == 0 {
		return configErr("--abort-on-fail: no thresholds to check (add --threshold or a thresholds list in the script)")
	}
	ci.runID = c.runID
	if ci.runID == "" {
		ci.runID = results.NewRunID(time.Now())
	} else if err := results.CheckRunID(ci.runID); err != nil {
		return configErr("%v", err)
	}
	sess.ci = ci
	if c.html != "" {
		if err := checkWritableDir("--html", c.html); err != nil {
			return err
		}
	}
	if c.resultsURL == "" {
		return nil
	}
	if c.probeWait < 0 {
		return configErr("--results-probe-wait: must be >= 0")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute+c.probeWait)
	defer cancel()
	bk, err := results.OpenWait(ctx, c.resultsURL, ci.runID, results.ProbeWait{Max: c.probeWait, Log: app.Log})
	if err != nil {
		return configErr("%v", err)
	}
	bk.Log = app.Log
	ci.bucket = bk
	if !o.headless {
		sess.tests = &testResults{sess: sess, base: c.runID, used: map[string]bool{}}
	}
	ci.runDir = filepath.Join(os.TempDir(), "stampede-results", ci.runID)
	if err := os.MkdirAll(ci.runDir, 0o755); err != nil {
		return configErr("--results-url: local folder for the outputs: %v", err)
	}
	base := filepath.Join(ci.runDir, ci.runID)
	if o.csvPrefix == "" {
		o.csvPrefix = base
	}
	if o.jsonFile == "" {
		o.jsonFile = base + ".json"
	}
	if c.html == "" {
		c.html = base + ".html"
	}
	ci.logPath = base + ".log"
	f, err := os.Create(ci.logPath)
	if err != nil {
		return configErr("--results-url: log file: %v", err)
	}
	ci.logFile = f
	ci.origLog = app.Log
	app.Log = slog.New(slog.NewTextHandler(io.MultiWriter(app.Stderr, f), &slog.HandlerOptions{Level: app.level()}))
	bk.Log = app.Log
	app.Log.Info("results will be uploaded", "url", bk.URL, "run_id", ci.runID, "local_dir", ci.runDir)
	return nil
}

// level is the configured log level (info when unparsable; setupLog has
// already rejected bad values).
func (app *App) level() slog.Level {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(app.logLevel)); err != nil {
		return slog.LevelInfo
	}
	return lvl
}

// ciHooks checks the thresholds once a second when one may abort the run.
func (sess *session) ciHooks() []engine.TickFunc {
	ci := sess.ci
	if ci == nil || !ci.monitor.Active() {
		return nil
	}
	return []engine.TickFunc{func(now time.Time, _ stats.Point, e *engine.Engine) {
		if st := e.State(); st != engine.StateRunning && st != engine.StateSpawning {
			return
		}
		start, _, _ := e.Times()
		reason := ci.monitor.Check(now.Sub(start), e.Snapshot(false))
		if reason == "" {
			return
		}
		ci.aborted.Do(func() {
			sess.app.Log.Warn("stopping the test early (--abort-on-fail)", "reason", reason)
			// Hooks run on the engine's goroutine, which StopWith waits for.
			go func() { _ = e.StopWith(reason) }()
		})
	}}
}

// ciDocument adds the run id and the threshold verdicts to the document.
func (sess *session) ciDocument(doc *output.Document) {
	ci := sess.ci
	if ci == nil {
		return
	}
	doc.Run.ID = ci.runID
	if strings.HasPrefix(doc.Run.StopReason, "threshold failed") {
		doc.Run.Interrupted = true
	}
	if len(ci.thresholds) > 0 {
		doc.Thresholds, doc.ThresholdsPassed = threshold.EvaluateAll(ci.thresholds, doc.Stats)
	}
	if doc.Run.Interrupted && strings.HasPrefix(doc.Run.StopReason, "threshold failed") {
		// Stopped by --abort-on-fail: the run did not complete, whatever
		// the last numbers say.
		doc.ThresholdsPassed = false
	}
}

// ciFinish prints the verdicts, writes the HTML report and uploads every
// output. It returns the problems met, for the exit code.
func (sess *session) ciFinish(doc *output.Document) []string {
	ci, o, app := sess.ci, sess.o, sess.app
	if ci == nil {
		return nil
	}
	var errs []string
	if len(doc.Thresholds) > 0 {
		printThresholds(app.Stdout, ci.thresholds, doc.Thresholds)
	}
	if o.ci.html != "" {
		d := report.FromDocument(doc, "run "+ci.runID)
		d.Generator = "stampede " + Version
		if err := report.WriteFile(o.ci.html, d); err != nil {
			errs = append(errs, fmt.Sprintf("--html: %v", err))
		} else {
			app.Log.Info("HTML report written", "file", o.ci.html)
		}
	}
	if ci.bucket == nil {
		return errs
	}
	if sess.tests != nil {
		// every test was uploaded when it stopped, under its own id
		app.Log = ci.origLog
		_ = ci.logFile.Close()
		_ = ci.bucket.Close()
		return errs
	}
	var files []string
	if sess.csv != nil {
		for _, f := range sess.csv.Paths(doc.Stats) {
			if _, err := os.Stat(f); err == nil {
				files = append(files, f)
			}
		}
	}
	for _, f := range []string{o.jsonFile, o.ci.html} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	app.Log.Info("uploading results", "url", ci.bucket.URL, "run_id", ci.runID, "files", len(files)+1)
	// The log goes last, once it holds everything up to the upload.
	keys, err := ci.bucket.Upload(ctx, files)
	_ = ci.logFile.Sync()
	logKeys, logErr := ci.bucket.Upload(ctx, []string{ci.logPath})
	keys = append(keys, logKeys...)
	app.Log = ci.origLog
	_ = ci.logFile.Close()
	if err = errors.Join(err, logErr); err != nil {
		errs = append(errs, fmt.Sprintf("--results-url: upload to %s failed (%s); the files are on local disk: %s", ci.bucket.URL, results.RedactText(err.Error()), strings.Join(append(files, ci.logPath), ", ")))
	} else {
		app.Log.Info("results uploaded", "url", ci.bucket.URL, "run_id", ci.runID, "objects", len(keys), "local_dir", ci.runDir)
	}
	_ = ci.bucket.Close()
	return errs
}

// bindBaseline reads --baseline and computes the limits of the thresholds
// that refer to it, before any load is sent.
func (c *ciOptions) bindBaseline(log *slog.Logger, ts []*threshold.Threshold) error {
	if c.baseline == "" {
		if c.baselineOpt && threshold.HasRelative(ts) {
			log.Warn("no --baseline: the thresholds relative to it are skipped")
			threshold.Bind(ts, nil, "no --baseline given")
			return nil
		}
		if err := threshold.CheckNoRelative(ts); err != nil {
			return configErr("%v", err)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	base, err := loadRun(ctx, c.baseline)
	if err != nil {
		if !c.baselineOpt {
			return configErr("--baseline: %v (with --baseline-optional, the thresholds relative to it would be skipped)", err)
		}
		log.Warn("--baseline cannot be read: the thresholds relative to it are skipped", "err", err)
		threshold.Bind(ts, nil, "--baseline cannot be read")
		return nil
	}
	threshold.Bind(ts, base.Summary, "")
	log.Info("baseline read", "source", base.Label)
	return nil
}

// printThresholds prints one line per threshold; ts and rs are in the
// same order.
func printThresholds(w io.Writer, ts []*threshold.Threshold, rs []output.ThresholdResult) {
	fmt.Fprintln(w, "Thresholds")
	failed := 0
	for i, r := range rs {
		verdict := "pass"
		if r.Skipped {
			verdict = "skip"
		} else if !r.Passed {
			verdict = "FAIL"
			failed++
		}
		line := fmt.Sprintf("  %-4s  %s", verdict, r.Expr)
		if r.Message != "" {
			line += "  (" + r.Message + ")"
		} else if i < len(ts) {
			line += "  (" + r.Metric + " = " + ts[i].FormatValue(r.Value) + ")"
		}
		fmt.Fprintln(w, line)
	}
	if failed > 0 {
		fmt.Fprintf(w, "%d of %d thresholds failed\n\n", failed, len(rs))
	} else if skipped := countSkipped(rs); skipped > 0 {
		fmt.Fprintf(w, "%d of %d thresholds passed, %d skipped\n\n", len(rs)-skipped, len(rs), skipped)
	} else {
		fmt.Fprintf(w, "all %d thresholds passed\n\n", len(rs))
	}
}

func countSkipped(rs []output.ThresholdResult) int {
	n := 0
	for _, r := range rs {
		if r.Skipped {
			n++
		}
	}
	return n
}

// thresholdsFailed is the error of a run whose thresholds failed.
func thresholdsFailed(doc *output.Document) error {
	n := 0
	for _, r := range doc.Thresholds {
		if !r.Passed {
			n++
		}
	}
	return &ExitError{Code: ExitFailed, Err: fmt.Errorf("%d of %d thresholds failed", n, len(doc.Thresholds))}
}

// checkScriptThresholds parses the script's thresholds list for `stampede
// check` and lists them.
func checkScriptThresholds(w io.Writer, s *script.Script) error {
	ts, err := threshold.ParseAll(nil, s.Thresholds)
	if err != nil {
		return configErr("%s: %v", s.Main, err)
	}
	if len(ts) > 0 {
		fmt.Fprintln(w, "\nThresholds:")
		for _, t := range ts {
			abort := ""
			if t.Abort {
				abort = " (aborts the run when failed beyond doubt)"
			}
			limit := t.FormatValue(t.Limit)
			if t.Relative != nil {
				limit = "a value relative to --baseline"
			}
			fmt.Fprintf(w, "  %s: %s %s %s%s\n", t.Expr, t.Describe(), t.Op, limit, abort)
		}
	}
	return nil
}
