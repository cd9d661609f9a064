package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stampede-load/stampede/internal/output"
)

func countingTarget(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

func writeStar(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "test.star")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWorkloadFlagErrors(t *testing.T) {
	script := testScript(t, false)
	host := "http://127.0.0.1:9"
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--stages", "1m"}, "--stages: stage 1"},
		{[]string{"--stages", "1m:10:0"}, "--stages: stage 1: spawn rate must be a number above 0"},
		{[]string{"--arrival-rate", "fast"}, "--arrival-rate:"},
		{[]string{"--arrival-rate", "0/s"}, "--arrival-rate: must be > 0"},
		{[]string{"--arrival-stages", "1m"}, "--arrival-stages: stage 1"},
		{[]string{"--arrival-stages", "1m:10/parsec"}, "--arrival-stages:"},
		{[]string{"--stages", "1m:10:1", "--arrival-rate", "5/s"}, "choose the closed model"},
		{[]string{"--max-users", "5"}, "--max-users/--max-queue: only for the open model"},
		{[]string{"--arrival-rate", "5/s", "--max-users", "-1"}, `"--max-users" flag: must be a whole number from 0`},
	}
	for _, tt := range tests {
		args := append([]string{"run", "-f", script, "--headless", "--host", host, "-t", "1s"}, tt.args...)
		r := runMain(t, args...)
		if r.code != ExitConfig || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
}

func TestScriptWorkloadErrors(t *testing.T) {
	base := "def t(u):\n    u.http.get(\"/\")\nv = user(tasks=[t])\n"
	tests := []struct {
		src, want string
	}{
		{base + "stages = [1]\n", "stages[0] must be stage("},
		{base + "stages = [stage(duration=\"1m\", users=-1)]\n", "stage: users must be a whole number from 0 to 10000000, got -1"},
		{base + "stages = [stage(duration=\"soon\", users=1)]\n", "stage: duration:"},
		{base + "arrival_stages = [arrival_stage(duration=\"1m\", rate=\"x\")]\n", "arrival_stage: rate:"},
		{base + "arrival_rate = \"5/s\"\nstages = [stage(duration=1, users=1)]\n", "keep one"},
		{base + "def shape(a, b, c):\n    return None\n", "shape must take (t) or (t, users)"},
		{base + "max_users = 0\narrival_rate = 1\n", "max_users must be a whole number > 0"},
	}
	for _, tt := range tests {
		r := runMain(t, "run", "-f", writeStar(t, tt.src), "--headless", "--host", "http://127.0.0.1:9", "-t", "1s")
		if r.code != ExitConfig || !strings.Contains(r.stderr, tt.want) || !strings.Contains(r.stderr, "test.star") {
			t.Errorf("exit %d, stderr %q; want exit 2, the file name and %q", r.code, r.stderr, tt.want)
		}
	}
}

// An open-model run from the command line: the arrival stages end the
// test by themselves after exactly their iterations, and the outputs
// carry the service times.
func TestRunArrivalStages(t *testing.T) {
	url, n := countingTarget(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "run")
	r := runMain(t, "run", "-f", testScript(t, false), "--headless", "--host", url,
		"--arrival-stages", "0s:100/s,1s:100/s,1s:300/s", "--csv", out, "--json", out+".json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if got := n.Load(); got != 100+200 {
		t.Errorf("the target saw %d requests, want 300 (100/s for 1 s, then a ramp to 300/s over 1 s)", got)
	}
	doc, err := output.ReadJSON(out + ".json")
	if err != nil {
		t.Fatal(err)
	}
	ri := doc.Run
	if ri.Model != output.ModelOpen || ri.Stages != "0s:100/s,1s:100/s,1s:300/s" || ri.StopReason != "arrival stages finished" || ri.Interrupted {
		t.Errorf("run info %+v", ri)
	}
	if doc.Stats.Total.Requests != n.Load() || doc.Stats.Total.Service == nil || doc.Stats.Dropped != 0 {
		t.Errorf("stats: %d requests, service %v, dropped %d", doc.Stats.Total.Requests, doc.Stats.Total.Service, doc.Stats.Dropped)
	}
	if _, err := os.Stat(out + output.SuffixServiceStats); err != nil {
		t.Errorf("no service stats CSV: %v", err)
	}
	if !strings.Contains(r.stdout, "intended start") || !strings.Contains(r.stdout, "Service time percentiles") {
		t.Errorf("the console summary does not explain the corrected times:\n%s", r.stdout)
	}
}

// A script's arrival_rate with -t: the run time ends it, the rate comes
// from the script.
func TestRunScriptArrivalRate(t *testing.T) {
	url, n := countingTarget(t)
	src := "def t(u):\n    u.http.get(\"/\")\nv = user(tasks=[t])\narrival_rate = \"50/s\"\nmax_users = 7\n"
	out := filepath.Join(t.TempDir(), "run.json")
	r := runMain(t, "run", "-f", writeStar(t, src), "--headless", "--host", url, "-t", "2s", "--json", out)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if got := n.Load(); got < 98 || got > 100 {
		t.Errorf("the target saw %d requests, want 100 (50/s for 2 s)", got)
	}
	doc, err := output.ReadJSON(out)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Run.ArrivalRate != "50/s" || doc.Run.Users != 7 || doc.Run.Model != output.ModelOpen {
		t.Errorf("run info %+v", doc.Run)
	}
}

// Stages from the command line and from the script: the test follows
// them and stops after the last.
func TestRunStages(t *testing.T) {
	url, _ := countingTarget(t)
	for _, c := range []struct {
		name   string
		script string
		args   []string
		stages string
	}{
		{"flag", testScript(t, false), []string{"--stages", "1s:3:50,500ms:0:50"}, "1s:3:50,500ms:0:50"},
		{"script", writeStar(t, "def t(u):\n    u.http.get(\"/\")\nv = user(tasks=[t], wait_time=constant(0.05))\nstages = [stage(duration=1, users=3, spawn_rate=50), stage(duration=\"500ms\", users=0)]\n"), nil, "1s:3:50,500ms:0:6"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run.json")
			args := append([]string{"run", "-f", c.script, "--headless", "--host", url, "--json", out}, c.args...)
			r := runMain(t, args...)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
			doc, err := output.ReadJSON(out)
			if err != nil {
				t.Fatal(err)
			}
			ri := doc.Run
			if ri.Model != output.ModelClosed || ri.Stages != c.stages || ri.StopReason != "shape finished" || ri.Users != 3 {
				t.Errorf("run info %+v", ri)
			}
			if ri.DurationSeconds < 1.4 || ri.DurationSeconds > 3 {
				t.Errorf("lasted %.2f s, want about 1.5", ri.DurationSeconds)
			}
			if doc.Stats.Total.Requests == 0 {
				t.Error("no requests")
			}
		})
	}
}

func TestCheckShowsWorkload(t *testing.T) {
	src := "def t(u):\n    u.http.get(\"/\")\nv = user(tasks=[t])\nstages = [stage(duration=\"1m\", users=10, spawn_rate=2), stage(duration=\"30s\", users=0)]\n"
	r := runMain(t, "check", "-f", writeStar(t, src))
	if r.code != 0 || !strings.Contains(r.stdout, "Workload: closed model, stages 1m:10:2,30s:0:1 (1m30s, peak 10 users)") {
		t.Errorf("exit %d, stdout:\n%s", r.code, r.stdout)
	}
	src = "def t(u):\n    u.http.get(\"/\")\nv = user(tasks=[t])\narrival_rate = 20\nmax_users = 5\n"
	r = runMain(t, "check", "-f", writeStar(t, src))
	if r.code != 0 || !strings.Contains(r.stdout, "Workload: open model, arrival rate 20/s, max_users 5") {
		t.Errorf("exit %d, stdout:\n%s", r.code, r.stdout)
	}
}
