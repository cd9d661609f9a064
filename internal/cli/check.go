package cli

import (
	"bytes"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/stampede-load/stampede/internal/runner"
	"github.com/stampede-load/stampede/internal/script"
)

func (app *App) checkCmd() *cobra.Command {
	var file string
	var vars []string
	cmd := &cobra.Command{
		Use:   "check -f SCRIPT",
		Short: "Load a script and show its user classes and task ratios",
		Long: `Load a script without sending any load, report errors with file:line:col,
and print each user class with its share of users and each task's share
(like locust --show-task-ratio). Exits 0 when the script is valid, 2 when not.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o := &testOptions{file: file, vars: vars, users: 1, spawnRate: 1}
			if err := o.validate(); err != nil {
				return err
			}
			s, err := o.loadScriptNoHost()
			if err != nil {
				return err
			}
			// Print nothing for a script that is not valid: the error
			// alone, not a report that ends in it.
			var out bytes.Buffer
			printRatios(&out, s)
			printWorkload(&out, s)
			if err := checkScriptThresholds(&out, s); err != nil {
				return err
			}
			_, err = app.Stdout.Write(out.Bytes())
			return err
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "test script (.star) to check")
	cmd.Flags().StringArrayVar(&vars, "var", nil, "KEY=VALUE visible to the script as vars[KEY] (repeatable)")
	return cmd
}

// loadScriptNoHost loads the script without requiring a host.
func (o *testOptions) loadScriptNoHost() (*script.Script, error) {
	o.host = "http://check.invalid"
	return o.loadScript()
}

// printRatios prints the classes' shares of users (by weight; fixed
// counts listed apart) and each task's share within its class and overall.
func printRatios(w io.Writer, s *script.Script) {
	totalWeight := 0
	for _, c := range s.Classes {
		if c.FixedCount == 0 {
			totalWeight += c.Weight
		}
	}
	fmt.Fprintf(w, "Script %s (sha256 %s…)\n", s.Main, s.Hash[:12])
	if s.Host != "" {
		fmt.Fprintf(w, "Host   %s\n", s.Host)
	}
	fmt.Fprintln(w, "\nUser classes and task ratios:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "class / task\tshare of class\tshare of all\twait\t")
	for _, c := range s.Classes {
		share := 0.0
		label := ""
		if c.FixedCount > 0 {
			label = fmt.Sprintf("fixed %d users", c.FixedCount)
		} else if totalWeight > 0 {
			share = float64(c.Weight) / float64(totalWeight)
			label = fmt.Sprintf("%.1f%% (weight %d)", 100*share, c.Weight)
		}
		seq := ""
		if c.Sequential {
			seq = ", sequential"
		}
		fmt.Fprintf(tw, "%s\t%s%s\t\t%s\t\n", c.Name, label, seq, c.Wait)
		total := c.TotalTaskWeight()
		for _, t := range c.Tasks {
			r := float64(t.Weight) / float64(total)
			all := ""
			if c.FixedCount == 0 {
				all = fmt.Sprintf("%.1f%%", 100*r*share)
			}
			fmt.Fprintf(tw, "  %s\t%.1f%%\t%s\t\t\n", t.Name, 100*r, all)
		}
	}
	tw.Flush()
	ex := runner.Distribute(runner.Classes(s), 100)
	fmt.Fprint(w, "\nWith 100 users:")
	for _, c := range s.Classes {
		fmt.Fprintf(w, " %s=%d", c.Name, ex[c.Name])
	}
	fmt.Fprintln(w)
}
