package cli

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// A password inside a URL the script requests, or in --host, is in no
// output: not in the names of the console summary, the CSV files, the JSON
// summary, the HTML report, the failures and exceptions, nor the log. The
// requests themselves still go out with it.
func TestURLPasswordsRedactedInEveryOutput(t *testing.T) {
	const scriptPass, hostPass = "s3cr3t-in-script", "s3cr3t-in-host"
	var mu sync.Mutex
	paths := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths[r.URL.Path]++
		mu.Unlock()
		if r.URL.Path == "/fail" {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	dir := t.TempDir()
	script := filepath.Join(dir, "t.star")
	src := `def t(u):
    u.http.get("http://scriptuser:` + scriptPass + `@` + addr + `/ok?page=1")
    u.http.get("http://scriptuser:` + scriptPass + `@` + addr + `/fail")
    r = u.http.get("/plain")
    fail("saw %s and %s" % (r, u.http.get("http://scriptuser:` + scriptPass + `@` + addr + `/ok")))

v = user(tasks=[t], wait_time=constant(0.05))
`
	if err := os.WriteFile(script, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	r := runMain(t, "run", "-f", script, "--headless", "-u", "2", "-r", "10", "-t", "1s",
		"--host", "http://hostuser:"+hostPass+"@"+addr, "--csv", filepath.Join(out, "run"), "--csv-full-history",
		"--json", filepath.Join(out, "run.json"), "--html", filepath.Join(out, "run.html"), "--loglevel", "debug", "--exit-code-on-error", "0")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	mu.Lock()
	if paths["/ok"] == 0 || paths["/fail"] == 0 || paths["/plain"] == 0 {
		t.Fatalf("the target saw %v", paths)
	}
	mu.Unlock()
	texts := map[string]string{"stdout": r.stdout, "stderr": r.stderr}
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		texts[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(texts) < 7 {
		t.Fatalf("only %d outputs: %v", len(texts), texts)
	}
	for name, text := range texts {
		for _, secret := range []string{scriptPass, hostPass} {
			if strings.Contains(text, secret) {
				t.Errorf("%s shows the password %s", name, secret)
			}
		}
	}
	for _, want := range []string{"http://scriptuser:REDACTED@" + addr + "/ok?page=1", "http://scriptuser:REDACTED@" + addr + "/fail"} {
		if !strings.Contains(texts[filepath.Join(out, "run_stats.csv")], want) {
			t.Errorf("run_stats.csv lacks the redacted name %s", want)
		}
	}
	if !strings.Contains(texts[filepath.Join(out, "run_exceptions.csv")], "<response GET http://scriptuser:REDACTED@") {
		t.Errorf("the exception does not show the redacted response: %s", texts[filepath.Join(out, "run_exceptions.csv")])
	}
}
