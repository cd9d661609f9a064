package cli

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/stampede-load/stampede/internal/runner"
	"github.com/stampede-load/stampede/internal/script"
)

func (app *App) checkCmd() *cobra.Command {
	o := &testOptions{users: 1, spawnRate: 1, goClasses: app.goClasses}
	cmd := &cobra.Command{
		Use:   "check " + app.fileUse(),
		Short: "Load a script and show its user classes and task ratios",
		Long: `Load a script without sending any load, report errors with file:line:col,
and print each user class with its share of users and each task's share
and tags (like locust --show-task-ratio); with -T/-E, the tasks that the
selection leaves. Exits 0 when the script is valid, 2 when not.

Besides loading, it checks statically what would fail only when a task
runs: unknown keyword arguments of u.http.<method>(...), time.sleep calls,
and setup(ctx)/teardown(ctx, data) signatures; and it calls shape(0).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			full, err := o.loadScriptNoHost()
			if err != nil {
				return err
			}
			s, err := full.SelectTags(o.tags, o.excludeTags)
			if err != nil {
				return configErr("%v", err)
			}
			if err := checkShape(s); err != nil {
				return err
			}
			// Print nothing for a script that is not valid: the error
			// alone, not a report that ends in it.
			var out bytes.Buffer
			printRatios(&out, s)
			printSelection(&out, full, s, o.tags, o.excludeTags)
			printWorkload(&out, s)
			if err := checkScriptThresholds(&out, s); err != nil {
				return err
			}
			_, err = app.Stdout.Write(out.Bytes())
			return err
		},
	}
	cmd.Flags().StringVarP(&o.file, "file", "f", "", "test script to check: a .star file, a folder (its test.star) or a bundle (.tar.gz from stampede bundle)")
	cmd.Flags().StringArrayVar(&o.vars, "var", nil, "KEY=VALUE visible to the script as vars[KEY] (repeatable)")
	registerTags(cmd.Flags(), &o.tags, &o.excludeTags)
	return cmd
}

// loadScriptNoHost loads the script without requiring a host.
func (o *testOptions) loadScriptNoHost() (*script.Script, error) {
	o.host = "http://check.invalid"
	return o.loadScript()
}

// printRatios prints the classes' shares of users (by weight; fixed
// counts listed apart), each task's share within its class and overall,
// and its tags. The tasks of a task set are indented under it, with
// their share of the set.
func printRatios(w io.Writer, s *script.Script) {
	totalWeight := 0
	for _, c := range s.Classes {
		if c.FixedCount == 0 {
			totalWeight += c.Weight
		}
	}
	if s.Main == "" {
		fmt.Fprintln(w, "User classes written in Go (no script)")
	} else {
		fmt.Fprintf(w, "Script %s (sha256 %s…)\n", s.Main, s.Hash[:12])
	}
	if s.Host != "" {
		fmt.Fprintf(w, "Host   %s\n", s.Host)
	}
	fmt.Fprintln(w, "\nUser classes and task ratios:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "class / task\tshare of class\tshare of all\twait\ttags\t")
	for _, c := range s.Classes {
		share := 0.0
		label := ""
		if c.FixedCount > 0 {
			label = fmt.Sprintf("fixed %d users", c.FixedCount)
		} else if totalWeight > 0 {
			share = float64(c.Weight) / float64(totalWeight)
			label = fmt.Sprintf("%.1f%% (weight %d)", 100*share, c.Weight)
		}
		fmt.Fprintf(tw, "%s\t%s%s\t\t%s\t\t\n", c.Name, label, sequential(&c.TaskSet), c.Wait)
		printTasks(tw, &c.TaskSet, 1, share, c.FixedCount > 0, nil)
	}
	tw.Flush()
	ex := runner.Distribute(runner.Classes(s), 100)
	fmt.Fprint(w, "\nWith 100 users:")
	for _, c := range s.Classes {
		fmt.Fprintf(w, " %s=%d", c.Name, ex[c.Name])
	}
	fmt.Fprintln(w)
}

// printTasks prints a task list: share is the list's share of its class
// (a set's tasks run only while the user is in the set, so theirs is
// shown relative to the set, as Locust's --show-task-ratio does).
func printTasks(w io.Writer, set *script.TaskSet, depth int, classShare float64, fixed bool, inherited []string) {
	total := set.TotalTaskWeight()
	for i := range set.Tasks {
		t := &set.Tasks[i]
		r := float64(t.Weight) / float64(total)
		of, all := fmt.Sprintf("%.1f%%", 100*r), ""
		if depth > 1 {
			of += " of set"
		} else if !fixed {
			all = fmt.Sprintf("%.1f%%", 100*r*classShare)
		}
		if set.Sequential {
			of = fmt.Sprintf("%d× in turn", t.Weight)
		}
		tags := slices.Clone(inherited)
		for _, tag := range t.Tags {
			if !slices.Contains(tags, tag) {
				tags = append(tags, tag)
			}
		}
		name, wait := t.Name, ""
		if t.Set != nil {
			name += " (taskset" + sequential(t.Set) + ")"
			if t.Set.Wait != nil {
				wait = t.Set.Wait.String()
			}
		}
		fmt.Fprintf(w, "%s%s\t%s\t%s\t%s\t%s\t\n", strings.Repeat("  ", depth), name, of, all, wait, strings.Join(tags, ","))
		if t.Set != nil {
			printTasks(w, t.Set, depth+1, classShare, fixed, tags)
		}
	}
}

func sequential(s *script.TaskSet) string {
	if s.Sequential {
		return ", sequential"
	}
	return ""
}

// printSelection says what a -T/-E selection leaves.
func printSelection(w io.Writer, full, sel *script.Script, tags, exclude []string) {
	if len(tags) == 0 && len(exclude) == 0 {
		return
	}
	count := func(s *script.Script) (n int) {
		for _, c := range s.Classes {
			c.WalkTasks(func(t *script.Task, _ int, _ []string) {
				if t.Set == nil {
					n++
				}
			})
		}
		return n
	}
	fmt.Fprintf(w, "\nTag selection %s: %d of %d tasks run (those listed above)", script.DescribeTags(tags, exclude), count(sel), count(full))
	if len(sel.Excluded) > 0 {
		fmt.Fprintf(w, "; classes left with no task get no users: %s", strings.Join(sel.Excluded, ", "))
	}
	fmt.Fprintln(w)
}
