package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/report"
	"github.com/stampede-load/stampede/internal/results"
)

// testResults uploads the results of every test a web UI process runs,
// each under its own run id, as soon as that test stops (from the UI, the
// API, the run time or a threshold), so a long-lived master (a web UI
// deployment) keeps every test, not only the one running when it exits.
// It is used with --results-url in web UI mode.
type testResults struct {
	sess *session
	// base is --run-id (each test gets BASE-<start time>); empty: a new
	// time + pet name id per test.
	base string
	used map[string]bool
	// written is the Done channel of the last test written, so a test is
	// written once, whether it ended while the UI ran or at exit.
	written <-chan struct{}
}

// maxBaseLen leaves room for "-20060102-150405" and a "-N" suffix within
// the 128 characters of a run id.
const maxBaseLen = 128 - 16 - 4

// runID names a test that started at start.
func (tr *testResults) runID(start time.Time) string {
	id := results.NewRunID(start)
	if tr.base != "" {
		id = tr.base[:min(len(tr.base), maxBaseLen)] + "-" + start.UTC().Format("20060102-150405")
	}
	for n, try := 2, id; ; n++ {
		if !tr.used[try] {
			tr.used[try] = true
			return try
		}
		try = fmt.Sprintf("%s-%d", id, n)
	}
}

// testEnded writes and uploads the results of the engine's last test,
// once; it logs what goes wrong (the UI keeps serving).
func (tr *testResults) testEnded() {
	eng := tr.sess.eng
	done := eng.Done()
	if done == tr.written {
		return
	}
	select {
	case <-done:
	default:
		return // not over
	}
	tr.written = done
	if err := tr.write(); err != nil {
		tr.sess.app.Log.Error("writing the test's results", "err", err)
	}
}

func (tr *testResults) write() error {
	sess, app, ci := tr.sess, tr.sess.app, tr.sess.ci
	start, _, _ := sess.eng.Times()
	id := tr.runID(start)
	dir := filepath.Join(os.TempDir(), "stampede-results", id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	prefix := filepath.Join(dir, id)
	sum := sess.eng.Snapshot(true)
	doc := sess.document(sum, false)
	sess.ciDocument(doc)
	doc.Run.ID = id

	c, err := output.OpenCSV(prefix, false)
	if err != nil {
		return err
	}
	if err := c.Finish(sum); err != nil {
		return err
	}
	var files []string
	for _, f := range c.Paths(sum) {
		if strings.HasSuffix(f, output.SuffixHistory) {
			// only its header: the history of a web UI test is in the
			// HTML report and the full-history download
			_ = os.Remove(f)
			continue
		}
		files = append(files, f)
	}
	if err := output.WriteJSON(prefix+".json", doc); err != nil {
		return err
	}
	d := report.FromDocument(doc, "run "+id)
	d.Generator = "stampede " + Version
	if err := report.WriteFile(prefix+".html", d); err != nil {
		return err
	}
	files = append(files, prefix+".json", prefix+".html")
	_ = ci.logFile.Sync()
	files = append(files, ci.logPath)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bk := ci.bucket.ForRun(id)
	keys, err := bk.Upload(ctx, files)
	if err != nil {
		return fmt.Errorf("--results-url: upload of test %s to %s failed (%s); the files are on local disk in %s", id, bk.URL, results.RedactText(err.Error()), dir)
	}
	app.Log.Info("test results uploaded", "url", bk.URL, "run_id", id, "objects", len(keys), "thresholds_passed", doc.ThresholdsPassed, "local_dir", dir)
	return nil
}

// testEnded is webServe's OnTestEnd: a no-op without per-test results.
func (sess *session) testEnded() {
	if sess.tests != nil {
		sess.tests.testEnded()
	}
}
