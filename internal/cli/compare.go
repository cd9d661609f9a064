package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/stampede-load/stampede/internal/compare"
	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/report"
)

type compareOptions struct {
	html, json                    string
	alpha, minEffect, minEffectMs float64
	failOnSlower                  bool
}

func (app *App) compareCmd() *cobra.Command {
	o := &compareOptions{}
	cmd := &cobra.Command{
		Use:   "compare BASE NEW",
		Short: "Compare two runs: did the new one get slower? (with a significance test)",
		Long: `Compare the results of two runs, a baseline (BASE) and a new one (NEW).

Each of BASE and NEW is a JSON summary (run --json), the CSV files of a run
by their prefix (or its PREFIX_stats.csv; Stampede's or Locust's), a folder
holding either, or a results URL naming a run's folder, e.g.
azblob://results/RUN_ID or file:///srv/results/RUN_ID.

For every name and the aggregate it prints both runs' requests, error
rates, requests per second and p50/p95/p99, the change, and whether the
response times changed significantly: a two-sample Kolmogorov–Smirnov test
on the two runs' histograms rejects "same distribution" at --alpha, and p50,
p95 or p99 moved by at least --min-effect and --min-effect-ms, beyond its
sampling noise. CSV files carry no histograms:
their rows get percentile changes only, marked "percentiles only". See
docs/compare.md.

Exit codes: 0 compared; 1 with --fail-on-slower, something is significantly
slower (or an output could not be written); 2 bad input.`,
		Example: `  stampede compare main.json pr.json
  stampede compare results/main results/pr --html compare.html --json compare.json
  stampede compare azblob://results/main-last pr.json --fail-on-slower`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return app.compare(cmd.Context(), args[0], args[1], o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.html, "html", "", "also write a self-contained HTML comparison to this file")
	fs.StringVar(&o.json, "json", "", "also write the comparison as JSON to this file (- for standard output instead of the table)")
	fs.Float64Var(&o.alpha, "alpha", compare.DefaultAlpha, "significance level of the Kolmogorov–Smirnov test")
	fs.Float64Var(&o.minEffect, "min-effect", compare.DefaultMinEffect, "smallest relative change of p50, p95 or p99 that counts as significant (0.05 = 5%; 0: any change the test finds)")
	fs.Float64Var(&o.minEffectMs, "min-effect-ms", compare.DefaultMinEffectMs, "smallest absolute change of p50, p95 or p99, in milliseconds, that counts as significant (0: any)")
	floatIn(fs, "alpha", &o.alpha, 0, 1)
	floatIn(fs, "min-effect", &o.minEffect, 0, 10)
	floatIn(fs, "min-effect-ms", &o.minEffectMs, 0, 3.6e6)
	fs.BoolVar(&o.failOnSlower, "fail-on-slower", false, "exit 1 when a name or the aggregate is significantly slower")
	return cmd
}

func (app *App) compare(ctx context.Context, baseSrc, newSrc string, o *compareOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if o.alpha <= 0 || o.alpha >= 1 {
		return configErr("--alpha: %g: want a level strictly between 0 and 1, e.g. 0.01", o.alpha)
	}
	base, err := loadRun(ctx, baseSrc)
	if err != nil {
		return configErr("BASE: %v", err)
	}
	next, err := loadRun(ctx, newSrc)
	if err != nil {
		return configErr("NEW: %v", err)
	}
	// 0 on the command line is none, not the package's default.
	none := func(v float64) float64 {
		if v == 0 {
			return -1
		}
		return v
	}
	res := compare.Compare(base, next, compare.Options{Alpha: o.alpha, MinEffect: none(o.minEffect), MinEffectMs: none(o.minEffectMs)})
	// Through output.MarshalJSON, as every other output: a relative
	// change against a zero baseline must not cost the whole document.
	var js []byte
	if o.json != "" {
		var err error
		if js, _, err = output.MarshalJSON(res, "  ", true); err != nil {
			return &ExitError{Code: ExitFailed, Err: fmt.Errorf("--json: %w", err)}
		}
	}
	if o.json == "-" {
		if _, err := app.Stdout.Write(js); err != nil {
			return err
		}
	} else if err := output.WriteComparison(app.Stdout, res); err != nil {
		return err
	}
	if o.json != "" && o.json != "-" {
		if err := os.WriteFile(o.json, js, 0o644); err != nil {
			return &ExitError{Code: ExitFailed, Err: fmt.Errorf("--json: %w", err)}
		}
	}
	if o.html != "" {
		if err := report.WriteComparison(o.html, res, "stampede "+Version); err != nil {
			return &ExitError{Code: ExitFailed, Err: fmt.Errorf("--html: %w", err)}
		}
		fmt.Fprintln(app.Stderr, "comparison written to", o.html)
	}
	if o.failOnSlower && res.AnySlower() {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("significantly slower than the baseline")}
	}
	return nil
}
