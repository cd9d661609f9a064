package cli

import (
	"context"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/stampede-load/stampede/internal/demo"
)

func (app *App) demoCmd() *cobra.Command {
	var addr string
	var opts = demo.DefaultOptions()
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Serve the built-in demo target (a small shop API) to try Stampede on",
		Long: `Serve a realistic demo API on loopback so a first load test needs nothing
else: products, search, login (any user name, password "secret"), cart and
checkout, with a few milliseconds of latency and occasional errors, plus
go-httpbin's endpoints. examples/shop.star is written for it.`,
		Example: `  stampede demo &
  stampede run -f examples/shop.star --headless -u 20 -r 10 -t 15s`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if err := demo.Serve(ctx, addr, opts, app.Log); err != nil {
				return configErr("%v", err) // already "demo: ..."
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to serve on")
	cmd.Flags().Float64Var(&opts.LatencyScale, "latency-scale", opts.LatencyScale, "multiply the simulated latency (0: none)")
	cmd.Flags().Float64Var(&opts.ErrorRate, "error-rate", opts.ErrorRate, "share of checkouts that fail with 500 (0..1)")
	cmd.Flags().Int64Var(&opts.Seed, "seed", 0, "seed for latency and errors (0: random)")
	floatIn(cmd.Flags(), "latency-scale", &opts.LatencyScale, 0, maxLatencyScale)
	floatIn(cmd.Flags(), "error-rate", &opts.ErrorRate, 0, 1)
	return cmd
}
