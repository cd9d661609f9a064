// Package cli is the stampede command line: subcommands, flags, and the
// binding of every flag to STAMPEDE_* environment variables and to a TOML
// config file.
package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/stampede-load/stampede/internal/logring"
	"github.com/stampede-load/stampede/internal/script"
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=v1.2.3".
var Version = "dev"

// Exit codes, documented in docs/cli-flags.md and README.md.
const (
	ExitOK        = 0
	ExitFailed    = 1 // thresholds failed, --exit-code-on-error and failures or exceptions, or no request succeeded
	ExitConfig    = 2 // script or configuration error (also a shape that failed mid-run)
	ExitAborted   = 3 // stopped by a signal before the run time was over
	ExitNoWorkers = 4 // master: the expected workers did not connect in time
	envPrefix     = "STAMPEDE_"
	defaultConfig = "stampede.toml"
)

// ExitError carries an exit code out of a command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitError) Unwrap() error { return e.Err }

// configErr marks a configuration or script error (exit 2).
func configErr(format string, args ...any) error {
	return &ExitError{Code: ExitConfig, Err: fmt.Errorf(format, args...)}
}

// App holds what the commands share: streams and the logger.
type App struct {
	Stdout, Stderr io.Writer
	Log            *slog.Logger
	logs           *logring.Ring
	logLevel       string
	configFile     string
	// goClasses are the user classes written in Go that the program
	// carries (package load): every test runs them beside its script's.
	goClasses []*script.UserClass
	// program is the name usage lines and help give the program.
	program string
}

// Main runs the command line and returns the process exit code. classes
// are user classes written in Go (package load builds them), run beside
// (or, without -f, instead of) a Starlark script's.
func Main(args []string, stdout, stderr io.Writer, classes ...*script.UserClass) int {
	return MainAs("stampede", args, stdout, stderr, classes...)
}

// MainAs is Main for a program called program in usage lines and help: a
// Go program built with package load is not called stampede.
func MainAs(program string, args []string, stdout, stderr io.Writer, classes ...*script.UserClass) int {
	app := &App{Stdout: stdout, Stderr: stderr, goClasses: classes, program: program}
	root := app.rootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintln(stderr, "error:", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintln(stderr, "error:", err)
	return ExitConfig
}

func (app *App) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   app.program,
		Short: "Scriptable, distributed load testing",
		Long: app.about() + `

Every flag can also be set as an environment variable STAMPEDE_<FLAG>
(upper case, dashes as underscores, e.g. STAMPEDE_USERS=100) or in a TOML
config file (--config, default ./stampede.toml when present). A flag on the
command line wins over the environment, which wins over the file.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := app.bind(cmd); err != nil {
				return &ExitError{Code: ExitConfig, Err: err}
			}
			return app.setupLog()
		},
	}
	root.PersistentFlags().StringVar(&app.configFile, "config", "", "TOML config file (default ./stampede.toml when present)")
	root.PersistentFlags().StringVar(&app.logLevel, "loglevel", "info", "log level: debug, info, warn, error")
	root.AddCommand(app.runCmd(), app.checkCmd(), app.demoCmd(), app.versionCmd())
	for _, extra := range app.extraCommands() {
		root.AddCommand(extra)
	}
	return root
}

// about is the first paragraph of the program's help.
func (app *App) about() string {
	if len(app.goClasses) == 0 {
		return `Stampede runs load tests described in Starlark scripts (a small Python
dialect), on one machine or as a master with workers in many regions.`
	}
	return app.program + " runs load tests with the Go user classes it was built with (" +
		strings.Join(goClassNames(app.goClasses), ", ") + `),
beside or instead of those of a Starlark script (-f), on one machine or as
a master with workers built from the same program. It is built on Stampede:
every command and flag of stampede works here.`
}

// fileUse is the -f part of a command's usage line: optional when the
// program carries Go classes.
func (app *App) fileUse() string {
	if len(app.goClasses) > 0 {
		return "[-f SCRIPT]"
	}
	return "-f SCRIPT"
}

func (app *App) setupLog() error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(app.logLevel)); err != nil {
		return configErr("--loglevel: %q is not one of debug, info, warn, error", app.logLevel)
	}
	// The web UI's Logs tab shows the last lines the process printed.
	app.logs = logring.New(1000)
	app.Log = slog.New(app.logs.Handler(slog.NewTextHandler(app.Stderr, &slog.HandlerOptions{Level: lvl})))
	return nil
}

// bind fills every flag not given on the command line from the
// environment, then from the config file.
func (app *App) bind(cmd *cobra.Command) error {
	file := map[string]any{}
	path := app.configFile
	if path == "" {
		path = os.Getenv(envPrefix + "CONFIG")
	}
	explicit := path != ""
	if path == "" {
		path = defaultConfig
	}
	if b, err := os.ReadFile(path); err == nil {
		if err := toml.Unmarshal(b, &file); err != nil {
			return fmt.Errorf("config file %s: %w", path, configParseError(err, b))
		}
	} else if explicit {
		return fmt.Errorf("config file: %w", err)
	}
	known := map[string]bool{}
	var firstErr error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		known[f.Name] = true
		if f.Changed || firstErr != nil {
			return
		}
		env := envPrefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if err := setFlag(f, v, true); err != nil {
				firstErr = fmt.Errorf("environment %s: %w", env, err)
			}
			return
		}
		if v, ok := file[f.Name]; ok {
			if err := setFromConfig(f, v); err != nil {
				firstErr = fmt.Errorf("config file %s: key %q: %w", path, f.Name, err)
			}
		}
	})
	if firstErr != nil {
		return firstErr
	}
	// One stampede.toml serves every command: a key of another command
	// (users for check, master-bind-port for run) is not this one's
	// business. A key no command knows is a typo.
	var all map[string]bool
	for k := range file {
		if known[k] {
			continue
		}
		if all == nil {
			all = allFlagNames(cmd.Root())
		}
		if all[k] {
			continue
		}
		if dashed := strings.ReplaceAll(k, "_", "-"); all[dashed] {
			return fmt.Errorf("config file %s: unknown key %q: did you mean %q? (keys are long flag names, with dashes)", path, k, dashed)
		}
		return fmt.Errorf("config file %s: unknown key %q: no command has a flag --%s (keys are long flag names, e.g. users, spawn-rate)", path, k, k)
	}
	return nil
}

// allFlagNames is the long name of every flag of every command under root.
func allFlagNames(root *cobra.Command) map[string]bool {
	names := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) { names[f.Name] = true })
		c.PersistentFlags().VisitAll(func(f *pflag.Flag) { names[f.Name] = true })
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return names
}

// isList reports whether a flag takes several values (--var, --threshold).
func isList(f *pflag.Flag) bool {
	t := f.Value.Type()
	return strings.HasSuffix(t, "Array") || strings.HasSuffix(t, "Slice")
}

// setFlag sets a flag from a string. List flags from the environment take
// several values separated by ';'.
func setFlag(f *pflag.Flag, v string, fromEnv bool) error {
	if isList(f) && fromEnv {
		for _, part := range strings.Split(v, ";") {
			if part = strings.TrimSpace(part); part != "" {
				if err := f.Value.Set(part); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return f.Value.Set(v)
}

func setFromConfig(f *pflag.Flag, v any) error {
	switch x := v.(type) {
	case []any:
		if !isList(f) {
			return fmt.Errorf("takes one value, not a list")
		}
		for _, item := range x {
			if err := f.Value.Set(fmt.Sprint(item)); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		return fmt.Errorf("takes a value, not a table")
	default:
		return f.Value.Set(fmt.Sprint(x))
	}
}

// noArgs refuses positional arguments with a hint: every command takes
// flags only, and `stampede run test.star` means `-f test.star`.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if strings.HasSuffix(args[0], ".star") && cmd.Flags().Lookup("file") != nil {
		return configErr("unexpected argument %q: give the script with -f %s", args[0], args[0])
	}
	if secretOnCommandLine(cmd) {
		return configErr("unexpected argument (not shown: with a secret flag on the command line it may be that flag's value, as after --cluster-token= TOKEN): `%s` takes flags only (see --help)", cmd.CommandPath())
	}
	return configErr("unexpected argument %q: `%s` takes flags only (see --help)", args[0], cmd.CommandPath())
}

func (app *App) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(app.Stdout, "stampede", Version)
			return nil
		},
	}
}
