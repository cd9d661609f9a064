package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stampede-load/stampede/internal/output"
)

// TestReportFinalRatio runs two weighted classes, one with a task set, and
// checks the final ratios in --json and in --html's "Final ratio".
func TestReportFinalRatio(t *testing.T) {
	host := target(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "test.star")
	src := `def home(u):
    u.http.get("/")

def about(u):
    u.http.get("/about")

def gone(u):
    u.http.get("/missing")

browse = taskset(tasks={home: 1, about: 3})
reader = user(tasks={browse: 3, gone: 1}, weight=3, wait_time=constant(0.05))
writer = user(tasks=[home], weight=1, wait_time=constant(0.05))
`
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	html, js := filepath.Join(dir, "report.html"), filepath.Join(dir, "run.json")
	r := runMain(t, "run", "-f", script, "--headless", "-u", "4", "-r", "10", "-t", "1s", "--host", host,
		"--html", html, "--json", js, "--exit-code-on-error", "0")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	doc, err := output.ReadJSON(js)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Ratios == nil {
		t.Fatal("the JSON summary has no task_ratios")
	}
	near := func(what string, got, want float64) {
		t.Helper()
		if got < want-1e-9 || got > want+1e-9 {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	pc, tot := doc.Ratios.PerClass, doc.Ratios.Total
	const set = "taskset[home,about]" // a task set without a name is named by its tasks
	near("per_class reader", pc["reader"].Ratio, 0.75)
	near("per_class writer", pc["writer"].Ratio, 0.25)
	near("per_class reader.browse", pc["reader"].Tasks[set].Ratio, 0.75)
	near("per_class reader.browse.about", pc["reader"].Tasks[set].Tasks["about"].Ratio, 0.75)
	near("total reader.gone", tot["reader"].Tasks["gone"].Ratio, 0.75*0.25)
	near("total reader.browse.about", tot["reader"].Tasks[set].Tasks["about"].Ratio, 0.75*0.75*0.75)
	near("total writer.home", tot["writer"].Tasks["home"].Ratio, 0.25)

	b, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	i := strings.Index(page, `<section id="ratios">`)
	if i < 0 {
		t.Fatal("the report has no Final ratio section")
	}
	sec := page[i : i+strings.Index(page[i:], "</section>")]
	for _, want := range []string{"Final ratio", "75.0% reader", "25.0% writer", "75.0% " + set, "75.0% about", "18.8% gone", "42.2% about", "25.0% home"} {
		if !strings.Contains(sec, want) {
			t.Errorf("Final ratio section lacks %q:\n%s", want, sec)
		}
	}
}
