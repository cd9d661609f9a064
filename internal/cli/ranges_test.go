package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Every number a user gives is checked for NaN, infinities and its range,
// whether it comes from a flag, a STAMPEDE_* variable or the config file,
// and the error names where it came from.
func TestNumericFlagsRefuseBadValues(t *testing.T) {
	script := "../../examples/minimal.star"
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		config string
		want   string
	}{
		{name: "spawn rate nan", args: []string{"-r", "nan"}, want: `"-r, --spawn-rate" flag: must be a number above 0 and at most 10000000, got NaN`},
		{name: "spawn rate inf", args: []string{"-r", "inf"}, want: `"-r, --spawn-rate" flag: must be a number above 0 and at most 10000000, got +Inf`},
		{name: "spawn rate negative", args: []string{"--spawn-rate=-1"}, want: `got -1`},
		{name: "spawn rate absurd", args: []string{"-r", "1e300"}, want: `got 1e+300`},
		{name: "spawn rate env", env: map[string]string{"STAMPEDE_SPAWN_RATE": "Inf"}, want: `environment STAMPEDE_SPAWN_RATE: must be a number above 0`},
		{name: "spawn rate toml nan", config: "spawn-rate = nan\n", want: `key "spawn-rate": must be a number above 0 and at most 10000000, got NaN`},
		{name: "spawn rate toml inf", config: "spawn-rate = inf\n", want: `key "spawn-rate": must be`},
		{name: "users negative", args: []string{"-u", "-5"}, want: `"-u, --users" flag: must be a whole number from 0 to 10000000, got -5`},
		{name: "users absurd", args: []string{"-u", "100000000000"}, want: `got 100000000000`},
		{name: "users env", env: map[string]string{"STAMPEDE_USERS": "-1"}, want: `environment STAMPEDE_USERS: must be a whole number`},
		{name: "users toml", config: "users = 99999999999\n", want: `key "users": must be a whole number from 0 to 10000000`},
		{name: "run time inf", args: []string{"-t", "inf"}, want: `"-t, --run-time" flag`},
		{name: "run time overflows", args: []string{"-t", "1e300"}, want: `must be a number of seconds from 0 to 31536000`},
		{name: "run time beyond a year", args: []string{"-t", "10000h"}, want: `must be a duration from 0s to 8760h0m0s`},
		{name: "run time env", env: map[string]string{"STAMPEDE_RUN_TIME": "-5s"}, want: `environment STAMPEDE_RUN_TIME`},
		{name: "stop timeout nan", args: []string{"-s", "NaN"}, want: `"-s, --stop-timeout" flag`},
		{name: "request timeout", config: "request-timeout = \"1e30\"\n", want: `key "request-timeout"`},
		{name: "web port", args: []string{"--web-port", "70000"}, want: `"--web-port" flag: must be a whole number from 0 to 65535`},
		{name: "autoquit", args: []string{"--autoquit", "-2"}, want: `"--autoquit" flag: must be a whole number from -1`},
		{name: "exit code", args: []string{"--exit-code-on-error", "300"}, want: `"--exit-code-on-error" flag: must be a whole number from 0 to 125`},
		{name: "max users", args: []string{"--max-users", "-1"}, want: `"--max-users" flag`},
		{name: "max queue", env: map[string]string{"STAMPEDE_MAX_QUEUE": "1000000000000"}, want: `environment STAMPEDE_MAX_QUEUE`},
		{name: "arrival rate inf", args: []string{"--arrival-rate", "inf/s"}, want: `--arrival-rate: "inf/s" is not a rate`},
		{name: "arrival rate absurd", args: []string{"--arrival-rate", "1e12/s"}, want: `--arrival-rate: rate "1e12/s": must be a number from 0 to 10000000`},
		{name: "stages nan", args: []string{"--stages", "1m:10:nan"}, want: `--stages: stage 1: spawn rate must be a number above 0`},
		{name: "stages users", args: []string{"--stages", "1m:100000000000"}, want: `--stages: stage 1: users must be a whole number from 0 to 10000000`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := append([]string{"run", "-f", script, "--headless"}, tc.args...)
			if tc.config != "" {
				cfg := filepath.Join(t.TempDir(), "stampede.toml")
				if err := os.WriteFile(cfg, []byte(tc.config), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--config", cfg)
			}
			r := runMain(t, args...)
			if r.code != ExitConfig || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, ExitConfig, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"master", "-f", script, "--expect-workers", "0"}, `"--expect-workers" flag: must be a whole number from 1`},
		{[]string{"master", "-f", script, "--master-bind-port", "-1"}, `"--master-bind-port" flag`},
		{[]string{"worker", "--master-port", "0"}, `"--master-port" flag: must be a whole number from 1 to 65535`},
		{[]string{"demo", "--latency-scale", "inf"}, `"--latency-scale" flag: must be a number from 0 to 1000, got +Inf`},
		{[]string{"demo", "--error-rate", "nan"}, `"--error-rate" flag: must be a number from 0 to 1, got NaN`},
	} {
		r := runMain(t, tc.args...)
		if r.code != ExitConfig || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args, r.code, r.stderr, ExitConfig, tc.want)
		}
	}
}

// No numeric flag escapes the range checks: an int or float flag added
// later without limit() fails here. Durations are bounded by their parser.
func TestEveryNumericFlagIsBounded(t *testing.T) {
	unbounded := map[string]bool{"seed": true} // any int64 is a seed
	app := &App{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			switch f.Value.Type() {
			case "int", "int64", "int32", "uint", "uint64", "float64", "float32":
			default:
				return
			}
			if _, ok := f.Value.(checkedValue); !ok && !unbounded[f.Name] {
				t.Errorf("%s --%s (%s) has no range check: add limit() where it is registered", c.CommandPath(), f.Name, f.Value.Type())
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(app.rootCmd())
}
