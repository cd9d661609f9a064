package cli

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// One stampede.toml serves every command: keys of other commands are left
// alone, a key no command has is refused, with the flag it meant when it
// is spelt with underscores.
func TestConfigFileKeys(t *testing.T) {
	for _, tc := range []struct {
		name, toml string
		args       []string
		code       int
		want       string
	}{
		{"run keys, check", "users = 5\nspawn-rate = 2\nmaster-bind-port = 6000\n", []string{"check"}, ExitOK, ""},
		{"master key, version", "master-bind-port = 6000\nregion = \"eu\"\n", []string{"version"}, ExitOK, ""},
		{"underscore", "spawn_rate = 5\n", []string{"check"}, ExitConfig, `unknown key "spawn_rate": did you mean "spawn-rate"?`},
		{"typo", "usres = 5\n", []string{"check"}, ExitConfig, `unknown key "usres": no command has a flag --usres`},
		{"bad value of own key", "loglevel = [1, 2]\n", []string{"check"}, ExitConfig, `key "loglevel": takes one value, not a list`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "stampede.toml")
			if err := os.WriteFile(cfg, []byte(tc.toml), 0o600); err != nil {
				t.Fatal(err)
			}
			args := append(tc.args, "--config", cfg)
			if tc.args[0] == "check" {
				args = append(args, "-f", "../../examples/minimal.star")
			}
			r := runMain(t, args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, tc.code, tc.want)
			}
		})
	}
}

// A report that cannot be written names the flag; exit 1 as for run's
// outputs that fail at the end (docs/reports.md).
func TestReportOutputNotWritable(t *testing.T) {
	locust := filepath.Join("..", "report", "testdata", "locust", "locust")
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := runMain(t, "report", "--csv", locust, "-o", filepath.Join(file, "r.html"))
	if r.code != ExitFailed || !strings.Contains(r.stderr, "-o/--output: ") {
		t.Errorf("exit %d, stderr %q; want exit %d and -o/--output", r.code, r.stderr, ExitFailed)
	}
}

// A master whose workers do not come says how many came within which wait,
// and exits 4, not 1 (which means a threshold failed).
func TestExpectWorkersMaxWaitMessage(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	r := runMain(t, "master", "-f", "../../examples/minimal.star", "--headless", "-t", "1s",
		"--master-bind-host", "127.0.0.1", "--master-bind-port", port, "--expect-workers", "2", "--expect-workers-max-wait", "300ms")
	want := "--expect-workers 2: 0 of 2 expected workers connected within --expect-workers-max-wait 300ms"
	if r.code != ExitNoWorkers || !strings.Contains(r.stderr, want) {
		t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, ExitNoWorkers, want)
	}
}

// A worker refuses to start with an id or region the master would refuse.
func TestWorkerLabelsChecked(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--name", strings.Repeat("w", 200)}, "--name: worker id is 200 bytes, more than 128"},
		{[]string{"--region", "eu\x1b[31m"}, "--region: region"},
		{[]string{"--region", "eu\nwest"}, "control characters"},
	} {
		r := runMain(t, append([]string{"worker", "--master-host", "127.0.0.1", "--master-port", "1"}, tc.args...)...)
		if r.code != ExitConfig || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args, r.code, r.stderr, ExitConfig, tc.want)
		}
	}
}

// Positional arguments are refused with a hint; a script goes with -f.
func TestPositionalArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "test.star"}, `unexpected argument "test.star": give the script with -f test.star`},
		{[]string{"check", "x/test.star"}, `unexpected argument "x/test.star": give the script with -f x/test.star`},
		{[]string{"master", "test.star"}, `give the script with -f test.star`},
		{[]string{"worker", "test.star"}, "unexpected argument \"test.star\": `stampede worker` takes flags only"},
		{[]string{"report", "out"}, "unexpected argument \"out\": `stampede report` takes flags only"},
	} {
		r := runMain(t, tc.args...)
		if r.code != ExitConfig || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args, r.code, r.stderr, ExitConfig, tc.want)
		}
	}
}

// check prints only the error for a script whose thresholds do not parse,
// naming the file.
func TestCheckBadScriptThreshold(t *testing.T) {
	f := filepath.Join(t.TempDir(), "t.star")
	src := "thresholds = [\"p95<\"]\ndef t(u):\n    pass\nv = user(tasks=[t])\n"
	if err := os.WriteFile(f, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runMain(t, "check", "-f", f)
	want := f + `: script thresholds[0] "p95<"`
	if r.code != ExitConfig || !strings.Contains(r.stderr, want) || r.stdout != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, no stdout and %q", r.code, r.stdout, r.stderr, ExitConfig, want)
	}
}
