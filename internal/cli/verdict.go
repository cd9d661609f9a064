package cli

import (
	"fmt"
	"strings"

	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/shape"
)

// verdict is the exit code of a test whose outputs are written, in this
// order: interrupted (3); stopped early by the memory guard or an
// internal error (1); a script error that stopped it, such as a shape()
// that raised (2); failed thresholds (1); no request succeeded
// (1, whatever --exit-code-on-error says: a run that sent nothing never
// passes); failed requests or task exceptions with --exit-code-on-error N
// (N, default 1, as in Locust).
func (sess *session) verdict(doc *output.Document, aborted bool) error {
	if aborted {
		return &ExitError{Code: ExitAborted}
	}
	if r := doc.Run.StopReason; strings.HasPrefix(r, reasonMemory) || strings.HasPrefix(r, engine.ReasonInternal) {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("the test was stopped early (results written): %s", r)}
	}
	if r := doc.Run.StopReason; strings.HasPrefix(r, shape.ReasonError) {
		return &ExitError{Code: ExitConfig, Err: fmt.Errorf("the test was stopped by a script error: %s", r)}
	}
	if !doc.ThresholdsPassed {
		return thresholdsFailed(doc)
	}
	start, _, _ := sess.eng.Times()
	if start.IsZero() {
		// The web UI was closed before any test was started: nothing
		// was asked to run, so nothing failed.
		return nil
	}
	sum := doc.Stats
	var exceptions int64
	for _, x := range sum.Exceptions {
		exceptions += x.Count
	}
	failures := sum.Total.Failures
	nothing := noSuccessMessage(sum.Total.Requests, failures, exceptions, firstException(doc))
	errs := failures + exceptions
	switch {
	case errs > 0 && sess.o.exitOnError > 0:
		msg := fmt.Sprintf("%s (--exit-code-on-error %d)", errorCounts(sum.Total.Requests, failures, exceptions), sess.o.exitOnError)
		if nothing != "" {
			msg = nothing + " (--exit-code-on-error)"
		}
		return &ExitError{Code: sess.o.exitOnError, Err: fmt.Errorf("%s", msg)}
	case nothing != "":
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("%s", nothing)}
	}
	return nil
}

// noSuccessMessage says why no request succeeded, or "" when one did.
func noSuccessMessage(requests, failures, exceptions int64, first string) string {
	switch {
	case requests > failures:
		return ""
	case requests == 0 && exceptions > 0:
		return fmt.Sprintf("no request was sent: every task raised a script error (%d exceptions; the most frequent: %s)", exceptions, first)
	case requests == 0:
		return "no request was sent: check the user count (-u), the run time (-t) and that the tasks call u.http"
	case exceptions > 0:
		return fmt.Sprintf("no request succeeded: all %d requests failed and tasks raised %d script errors (the most frequent: %s)", requests, exceptions, first)
	}
	return fmt.Sprintf("no request succeeded: all %d requests failed", requests)
}

func errorCounts(requests, failures, exceptions int64) string {
	var parts []string
	if failures > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d requests failed", failures, requests))
	}
	if exceptions > 0 {
		parts = append(parts, fmt.Sprintf("tasks raised %d script errors", exceptions))
	}
	return strings.Join(parts, " and ")
}

// firstException is the most frequent script error of the run.
func firstException(doc *output.Document) string {
	best := -1
	for i, x := range doc.Stats.Exceptions {
		if best < 0 || x.Count > doc.Stats.Exceptions[best].Count {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return doc.Stats.Exceptions[best].Message
}
