package cli

import (
	"bufio"
	"context"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const scriptPass, hostPass = "s3cr3t-in-script", "s3cr3t-in-host"

// passwordTarget serves /ok, /plain and a failing /fail, counting the
// paths it saw; passwordScript requests them with a password in the URL.
type passwordTarget struct {
	addr  string
	mu    sync.Mutex
	paths map[string]int
}

func newPasswordTarget(t *testing.T) *passwordTarget {
	t.Helper()
	pt := &passwordTarget{paths: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pt.mu.Lock()
		pt.paths[r.URL.Path]++
		pt.mu.Unlock()
		if r.URL.Path == "/fail" {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	pt.addr = strings.TrimPrefix(srv.URL, "http://")
	return pt
}

func (pt *passwordTarget) saw(path string) int {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	return pt.paths[path]
}

func (pt *passwordTarget) script(t *testing.T) string {
	t.Helper()
	u := "http://scriptuser:" + scriptPass + "@" + pt.addr
	return writeStar(t, `def t(u):
    u.http.get("`+u+`/ok?page=1")
    u.http.get("`+u+`/fail")
    r = u.http.get("/plain")
    fail("saw %s and %s" % (r, u.http.get("`+u+`/ok")))

v = user(tasks=[t], wait_time=constant(0.05))
`)
}

func (pt *passwordTarget) host() string { return "http://hostuser:" + hostPass + "@" + pt.addr }

// checkNoPassword fails for every text that holds one of the passwords.
func checkNoPassword(t *testing.T, texts map[string]string) {
	t.Helper()
	for name, text := range texts {
		for _, secret := range []string{scriptPass, hostPass} {
			if strings.Contains(text, secret) {
				t.Errorf("%s shows the password %s", name, secret)
			}
		}
	}
}

// readOutputs reads every file under dir.
func readOutputs(t *testing.T, dir string, texts map[string]string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
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
}

func outputFlags(out string) []string {
	return []string{"--csv", filepath.Join(out, "run"), "--csv-full-history", "--json", filepath.Join(out, "run.json"),
		"--html", filepath.Join(out, "run.html"), "--exit-code-on-error", "0"}
}

// A password inside a URL the script requests, or in --host, is in no
// output: not in the names of the console summary, the CSV files, the JSON
// summary, the HTML report, the failures and exceptions, nor the log. The
// requests themselves still go out with it.
func TestURLPasswordsRedactedInEveryOutput(t *testing.T) {
	pt := newPasswordTarget(t)
	out := filepath.Join(t.TempDir(), "out")
	r := runMain(t, append([]string{"run", "-f", pt.script(t), "--headless", "-u", "2", "-r", "10", "-t", "1s",
		"--host", pt.host(), "--loglevel", "debug"}, outputFlags(out)...)...)
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if pt.saw("/ok") == 0 || pt.saw("/fail") == 0 || pt.saw("/plain") == 0 {
		t.Fatalf("the target saw %v", pt.paths)
	}
	texts := map[string]string{"stdout": r.stdout, "stderr": r.stderr}
	readOutputs(t, out, texts)
	if len(texts) < 7 {
		t.Fatalf("only %d outputs: %v", len(texts), texts)
	}
	checkNoPassword(t, texts)
	for _, want := range []string{"http://scriptuser:REDACTED@" + pt.addr + "/ok?page=1", "http://scriptuser:REDACTED@" + pt.addr + "/fail"} {
		if !strings.Contains(texts[filepath.Join(out, "run_stats.csv")], want) {
			t.Errorf("run_stats.csv lacks the redacted name %s", want)
		}
	}
	if !strings.Contains(texts[filepath.Join(out, "run_exceptions.csv")], "<response GET http://scriptuser:REDACTED@") {
		t.Errorf("the exception does not show the redacted response: %s", texts[filepath.Join(out, "run_exceptions.csv")])
	}
}

// The same with the web UI: no API answer, download or event shows the
// passwords, nor do the outputs written at Ctrl-C.
func TestURLPasswordsRedactedInWebAPI(t *testing.T) {
	pt := newPasswordTarget(t)
	out := filepath.Join(t.TempDir(), "out")
	cmd, line := helperProcess(t, "web UI ready", append([]string{"run", "-f", pt.script(t), "--host", pt.host(),
		"--web-host", "127.0.0.1", "--web-port", "0", "--autostart", "-u", "2", "-r", "10"}, outputFlags(out)...)...)
	m := regexp.MustCompile(`url=(http://\S+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no URL in %q", line)
	}
	base := m[1]
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) string {
		t.Helper()
		res, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, res.StatusCode, b)
		}
		return string(b)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(get("/exceptions"), "REDACTED") {
		if time.Now().After(deadline) {
			t.Fatal("no exception with a redacted response within 20 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	texts := map[string]string{}
	for _, path := range []string{"/", "/api/info", "/stats/requests", "/stats/requests/csv", "/stats/failures/csv", "/exceptions",
		"/exceptions/csv", "/stats/requests_full_history/csv", "/stats/summary.json", "/stats/report", "/metrics", "/tasks"} {
		texts[path] = get(path)
	}
	if !strings.Contains(texts["/stats/requests"], "scriptuser:REDACTED@") || !strings.Contains(texts["/api/info"], "hostuser:REDACTED@") {
		t.Errorf("the API does not show the redacted names and host:\n%s\n%s", texts["/stats/requests"], texts["/api/info"])
	}
	// The first event of the stream holds the whole state.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/events", nil)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data: ") {
			texts["/api/events"] = sc.Text()
			break
		}
	}
	res.Body.Close()
	if !strings.Contains(texts["/api/events"], "scriptuser:REDACTED@") {
		t.Errorf("first event: %.300s", texts["/api/events"])
	}
	if code := exitCode(t, cmd, syscall.SIGINT); code != ExitAborted {
		t.Errorf("exit %d after SIGINT, want %d", code, ExitAborted)
	}
	readOutputs(t, out, texts)
	checkNoPassword(t, texts)
}
