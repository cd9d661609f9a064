package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stampede-load/stampede/internal/report"
	"github.com/stampede-load/stampede/internal/threshold"
)

type reportOptions struct {
	csvPrefix  string
	jsonFile   string
	out        string
	thresholds []string
}

func (app *App) reportCmd() *cobra.Command {
	o := &reportOptions{}
	cmd := &cobra.Command{
		Use:   "report (--csv PREFIX | --json FILE) [-o report.html]",
		Short: "Turn saved results (JSON summary, or Stampede or Locust CSV files) into an HTML report",
		Long: `Turn saved results into the self-contained HTML report that --html writes.

The input is a JSON summary (--json, written by run/master --json) or the
CSV files of one run by their prefix (--csv): PREFIX_stats.csv and, when
present, PREFIX_stats_history.csv, PREFIX_failures.csv,
PREFIX_exceptions.csv and PREFIX_regions.csv. CSV files written by Locust 2.x
(with or without --csv-full-history) are read as well as Stampede's. What
the input does not hold (CSV files carry no run configuration and no
histogram) is shown as not available.

With --threshold the saved results are judged too: the verdicts go into
the report, and the command exits 1 when one fails.

Exit codes: 0 report written (and thresholds passed); 1 a threshold
failed, or the report could not be written; 2 bad input.`,
		Example: `  stampede report --csv results/run -o report.html
  stampede report --json results/run.json -o report.html --threshold 'p95<500ms'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return app.report(o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.csvPrefix, "csv", "", "read CSV files PREFIX_stats.csv, PREFIX_stats_history.csv, … (Stampede's or Locust's)")
	fs.StringVar(&o.jsonFile, "json", "", "read a JSON summary written by --json")
	fs.StringVarP(&o.out, "output", "o", "report.html", "HTML file to write")
	fs.StringArrayVar(&o.thresholds, "threshold", nil, "judge the results, e.g. 'p95<500ms' (repeatable; exit 1 when one fails)")
	return cmd
}

func (app *App) report(o *reportOptions) error {
	if (o.csvPrefix == "") == (o.jsonFile == "") {
		return configErr("give one input: --csv PREFIX or --json FILE")
	}
	if o.out == "" {
		return configErr("-o/--output: empty")
	}
	ts, err := threshold.ParseAll(o.thresholds, nil)
	if err == nil {
		err = threshold.CheckNoRelative(ts)
	}
	if err != nil {
		return configErr("%v", err)
	}
	var d *report.Data
	if o.jsonFile != "" {
		d, err = report.FromJSON(o.jsonFile)
	} else {
		d, err = report.FromCSV(o.csvPrefix)
	}
	if err != nil {
		return configErr("%v", err)
	}
	d.Generator = "stampede " + Version
	if len(ts) > 0 {
		d.Doc.Thresholds, d.Doc.ThresholdsPassed = threshold.EvaluateAll(ts, d.Doc.Stats)
	}
	if err := report.WriteFile(o.out, d); err != nil {
		// Exit 1, as for run's outputs that fail at the end (docs/reports.md).
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("-o/--output: %w", err)}
	}
	fmt.Fprintln(app.Stderr, "report written to", o.out)
	if len(ts) > 0 {
		printThresholds(app.Stdout, ts, d.Doc.Thresholds)
		if !d.Doc.ThresholdsPassed {
			return thresholdsFailed(d.Doc)
		}
	}
	return nil
}
