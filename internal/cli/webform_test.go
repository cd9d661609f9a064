package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// formTarget records the path and X-Token of every request.
type formTarget struct {
	URL  string
	mu   sync.Mutex
	seen map[string]int // "path token" → count
	hits int
}

func newFormTarget(t *testing.T) *formTarget {
	tg := &formTarget{seen: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.mu.Lock()
		tg.seen[r.URL.Path+" "+r.Header.Get("X-Token")]++
		tg.hits++
		tg.mu.Unlock()
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	tg.URL = srv.URL
	return tg
}

func (tg *formTarget) count(key string) int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.seen[key]
}

// waitFor polls until cond holds, for at most 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const formScript = `
def hit(u):
    u.http.get("/v/" + vars["mode"], headers={"X-Token": vars["api_token"]}, name="/v")

visitor = user(tasks=[hit], wait_time=constant(0.05))
`

func freeTCPPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// startWebRun runs `stampede run` (or the command given first) with the
// web UI in this process and returns its URL and its result channel.
func startWebRun(t *testing.T, args ...string) (string, chan result) {
	t.Helper()
	port := freeTCPPort(t)
	cmd := "run"
	if args[0] == "master" {
		cmd, args = args[0], args[1:]
	}
	done := make(chan result, 1)
	go func() {
		done <- runMain(t, append([]string{cmd, "--web-host", "127.0.0.1", "--web-port", port, "--autoquit", "3"}, args...)...)
	}()
	ui := "http://127.0.0.1:" + port
	waitFor(t, "the web UI", func() bool {
		resp, err := http.Get(ui + "/api/info")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	return ui, done
}

// testState is the state /stats/requests reports.
func testState(t *testing.T, ui string) string {
	t.Helper()
	resp, err := http.Get(ui + "/stats/requests")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct {
		State string `json:"state"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s.State
}

// post sends a form to the API and returns the status and body.
func post(t *testing.T, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The start form's custom parameters: the command line's vars are
// listed (a secret one without its value), changed values reach the
// script of the next test, a secret left empty keeps its value, unknown
// keys are refused, and no answer or log line shows a secret.
func TestWebFormVars(t *testing.T) {
	tg := newFormTarget(t)
	file := filepath.Join(t.TempDir(), "vars.star")
	if err := os.WriteFile(file, []byte(formScript), 0o600); err != nil {
		t.Fatal(err)
	}
	ui, done := startWebRun(t, "-f", file, "--host", tg.URL, "--var", "mode=one", "--var", "api_token=s3cret-cli")

	resp, err := http.Get(ui + "/api/info")
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Vars []struct {
			Name, Value string
			Secret      bool
		} `json:"vars"`
		Editable bool `json:"vars_editable"`
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "s3cret") {
		t.Fatalf("/api/info shows the secret var: %s", b)
	}
	if got := fmt.Sprint(info.Vars); got != "[{api_token  true} {mode one false}]" || !info.Editable {
		t.Fatalf("vars %s, editable %v", got, info.Editable)
	}

	var bodies []string
	start := func(form url.Values, want int) string {
		t.Helper()
		code, body := post(t, ui+"/swarm", form)
		bodies = append(bodies, body)
		if code != want {
			t.Fatalf("POST /swarm %v: %d %s, want %d", form, code, body, want)
		}
		return body
	}
	stop := func() {
		if code, body := post(t, ui+"/stop", nil); code != http.StatusOK {
			t.Fatalf("POST /stop: %d %s", code, body)
		}
	}
	base := url.Values{"user_count": {"2"}, "spawn_rate": {"20"}}
	with := func(kv ...string) url.Values {
		f := url.Values{}
		for k, v := range base {
			f[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}

	// unknown keys and oversized values are refused, naming the field
	body := start(with("var.nope", "x"), http.StatusBadRequest)
	if !strings.Contains(body, `"field":"var.nope"`) || !strings.Contains(body, "api_token, mode") {
		t.Fatalf("unknown var: %s", body)
	}
	body = start(with("var.mode", strings.Repeat("x", maxVarValueForTest+1)), http.StatusBadRequest)
	if !strings.Contains(body, `"field":"var.mode"`) {
		t.Fatalf("oversized var: %s", body)
	}

	// a changed var, the secret left empty: the script sees mode=two and
	// the command line's token
	start(with("var.mode", "two", "var.api_token", ""), http.StatusOK)
	waitFor(t, "/v/two with the command line's token", func() bool { return tg.count("/v/two s3cret-cli") > 0 })
	// an edit cannot change them
	body = start(url.Values{"user_count": {"3"}, "var.mode": {"three"}}, http.StatusBadRequest)
	if !strings.Contains(body, "var.mode") || !strings.Contains(body, "stop it first") {
		t.Fatalf("edit with another var: %s", body)
	}
	stop()

	// a new secret value reaches the script too, and is not shown
	start(with("var.mode", "three", "var.api_token", "n3w-secret", "run_time", "1s"), http.StatusOK)
	waitFor(t, "/v/three with the new token", func() bool { return tg.count("/v/three n3w-secret") > 0 })

	r := <-done
	if r.code != ExitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if n := tg.count("/v/one s3cret-cli"); n != 0 {
		t.Errorf("%d requests with the command line's mode after the form changed it", n)
	}
	for _, s := range append(bodies, r.stderr, r.stdout) {
		if strings.Contains(s, "s3cret") || strings.Contains(s, "n3w-secret") {
			t.Fatalf("a secret var's value was shown: %s", s)
		}
	}
}

const maxVarValueForTest = 8 << 10

const modelScript = `
def hit(u):
    u.http.get("/m")

visitor = user(tasks=[hit], wait_time=constant(0.2))
`

// The start form's workload models in one process: an open-model test
// at the requested arrival rate, a closed test with stages that ends by
// itself, a closed test bounded by iterations, and the field errors.
func TestWebFormWorkloadModels(t *testing.T) {
	tg := newFormTarget(t)
	file := filepath.Join(t.TempDir(), "model.star")
	if err := os.WriteFile(file, []byte(modelScript), 0o600); err != nil {
		t.Fatal(err)
	}
	ui, done := startWebRun(t, "-f", file, "--host", tg.URL)
	hits := func() int {
		tg.mu.Lock()
		defer tg.mu.Unlock()
		return tg.hits
	}
	state := func() string { return testState(t, ui) }

	for _, c := range []struct {
		form  url.Values
		field string
	}{
		{url.Values{"arrival_rate": {"fast"}}, "arrival_rate"},
		{url.Values{"arrival_rate": {"0/s"}}, "arrival_rate"},
		{url.Values{"arrival_rate": {"5/s"}, "stages": {"1s:2:1"}}, "stages"},
		{url.Values{"stages": {"1s:lots:1"}}, "stages"},
		{url.Values{"arrival_stages": {"1s"}}, "arrival_stages"},
		{url.Values{"arrival_rate": {"5/s"}, "max_users": {"-1"}}, "max_users"},
		{url.Values{"user_count": {"1"}, "max_users": {"5"}}, "max_users"},
		{url.Values{"user_count": {"1"}, "iterations": {"many"}}, "iterations"},
		{url.Values{"spawn_rate": {"1"}, "stages": {""}}, "user_count"},
	} {
		code, body := post(t, ui+"/swarm", c.form)
		if code != http.StatusBadRequest || !strings.Contains(body, `"field":"`+c.field+`"`) {
			t.Errorf("%v: %d %s, want an error on %s", c.form, code, body, c.field)
		}
	}
	if hits() != 0 {
		t.Fatalf("a refused start sent %d requests", hits())
	}

	// open model: 25 iterations a second, whatever the users do
	code, body := post(t, ui+"/swarm", url.Values{"arrival_rate": {"25/s"}, "max_users": {"20"}, "run_time": {"4s"}})
	if code != http.StatusOK || !strings.Contains(body, `"arrival_rate":"25/s"`) {
		t.Fatalf("open-model start: %d %s", code, body)
	}
	waitFor(t, "the open-model test's first request", func() bool { return hits() > 0 })
	t0 := time.Now()
	n0 := hits()
	time.Sleep(2 * time.Second)
	rate := float64(hits()-n0) / time.Since(t0).Seconds()
	if rate < 25*0.7 || rate > 25*1.3 {
		t.Errorf("arrival rate %.1f/s at the target, want 25/s", rate)
	}
	waitFor(t, "the open-model test's end", func() bool { return state() == "stopped" })
	var doc struct {
		Run struct {
			Model       string `json:"model"`
			ArrivalRate string `json:"arrival_rate"`
			Users       int    `json:"users"`
		} `json:"run"`
	}
	resp, err := http.Get(ui + "/stats/summary.json")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil || doc.Run.Model != "open" || doc.Run.ArrivalRate != "25/s" || doc.Run.Users != 20 {
		t.Errorf("the summary of the open-model test: %+v (%v)", doc.Run, err)
	}

	// closed model with stages: it ramps and ends by itself
	n0 = hits()
	if code, body := post(t, ui+"/swarm", url.Values{"stages": {"1s:2:10,1s:4:10"}, "spawn_rate": {"1"}}); code != http.StatusOK {
		t.Fatalf("stages start: %d %s", code, body)
	}
	waitFor(t, "the stages to finish", func() bool { return hits() > n0 && state() == "stopped" })

	// closed model again, ended by its iterations
	n0 = hits()
	if code, body := post(t, ui+"/swarm", url.Values{"user_count": {"3"}, "spawn_rate": {"10"}, "iterations": {"7"}, "stages": {""}}); code != http.StatusOK || !strings.Contains(body, `"iterations":7`) {
		t.Fatalf("iterations start: %d %s", code, body)
	}
	waitFor(t, "the iterations to finish", func() bool { return state() == "stopped" })
	if got := hits() - n0; got != 7 {
		t.Errorf("-i 7 from the form: the target received %d requests", got)
	}

	r := <-done
	if r.code != ExitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
}

// On a master, the form's model and custom parameters reach the workers:
// an open-model test with a changed var at the requested rate, then a
// closed one with another value.
func TestWebFormMaster(t *testing.T) {
	tg := newFormTarget(t)
	file := filepath.Join(t.TempDir(), "vars.star")
	if err := os.WriteFile(file, []byte(formScript), 0o600); err != nil {
		t.Fatal(err)
	}
	mport := freeTCPPort(t)
	ui, done := startWebRun(t, "master", "-f", file, "--host", tg.URL, "--var", "mode=one", "--var", "api_token=tok",
		"--master-bind-host", "127.0.0.1", "--master-bind-port", mport)
	wdone := make(chan result, 1)
	go func() { wdone <- runMain(t, "worker", "--master-host", "127.0.0.1", "--master-port", mport) }()

	// The worker is listed as soon as it joins, before any test: a user
	// sees it joined before pressing Start (Locust's worker count).
	waitFor(t, "the worker listed before the first test", func() bool {
		resp, err := http.Get(ui + "/stats/requests")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var s struct {
			Workers []struct {
				State string `json:"state"`
			} `json:"workers"`
			Count int    `json:"worker_count"`
			State string `json:"state"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
			t.Fatal(err)
		}
		return s.State == "ready" && s.Count == 1 && len(s.Workers) == 1 && s.Workers[0].State == "ready"
	})
	// 409 until the worker has joined
	var code int
	var body string
	waitFor(t, "the open-model start", func() bool {
		code, body = post(t, ui+"/swarm", url.Values{"arrival_rate": {"30/s"}, "max_users": {"10"}, "run_time": {"3s"}, "var.mode": {"two"}})
		return code != http.StatusConflict
	})
	if code != http.StatusOK {
		t.Fatalf("open-model start: %d %s", code, body)
	}
	waitFor(t, "requests to /v/two", func() bool { return tg.count("/v/two tok") > 0 })
	t0, n0 := time.Now(), tg.count("/v/two tok")
	time.Sleep(1500 * time.Millisecond)
	if rate := float64(tg.count("/v/two tok")-n0) / time.Since(t0).Seconds(); rate < 30*0.7 || rate > 30*1.3 {
		t.Errorf("open model at 30/s on the worker: the target saw %.1f/s", rate)
	}
	waitFor(t, "the open-model test's end", func() bool { return testState(t, ui) == "stopped" })
	waitFor(t, "a closed start", func() bool {
		code, body = post(t, ui+"/swarm", url.Values{"user_count": {"2"}, "spawn_rate": {"10"}, "stages": {""}, "run_time": {"1s"}, "var.mode": {"three"}})
		return code != http.StatusConflict
	})
	if code != http.StatusOK {
		t.Fatalf("closed start: %d %s", code, body)
	}
	waitFor(t, "requests to /v/three", func() bool { return tg.count("/v/three tok") > 0 })
	r := <-done
	<-wdone
	if r.code != ExitOK {
		t.Fatalf("master: exit %d\n%s", r.code, r.stderr)
	}
	if n := tg.count("/v/one tok"); n != 0 {
		t.Errorf("%d requests with the command line's mode", n)
	}
}
