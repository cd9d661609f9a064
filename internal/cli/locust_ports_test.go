package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/script"
)

// The ports of Locust's documented examples (testdata/locust/*.star, each
// naming the example it ports and what changed) run through the whole
// CLI against a loopback server that imitates what the example expects,
// and the server checks what it received.

// seenReq is one request a port's target received.
type seenReq struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
	SID                 string // the session cookie: one per virtual user
	At                  time.Time
}

// portTarget records every request, gives each new client a session
// cookie (each virtual user has its own jar, so the cookie names the
// user), and answers with the port's handler.
type portTarget struct {
	URL  string
	mu   sync.Mutex
	reqs []seenReq
	n    int
}

func newPortTarget(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, body []byte)) *portTarget {
	t.Helper()
	pt := &portTarget{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		pt.mu.Lock()
		sid := ""
		if c, err := r.Cookie("sid"); err == nil {
			sid = c.Value
		} else {
			pt.n++
			sid = strconv.Itoa(pt.n)
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: sid, Path: "/"})
		}
		pt.reqs = append(pt.reqs, seenReq{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body, sid, time.Now()})
		pt.mu.Unlock()
		if handle != nil {
			handle(w, r, body)
		}
	}))
	t.Cleanup(srv.Close)
	pt.URL = srv.URL
	return pt
}

func (pt *portTarget) all() []seenReq {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	return slices.Clone(pt.reqs)
}

func (pt *portTarget) paths() map[string]int {
	m := map[string]int{}
	for _, r := range pt.all() {
		m[r.Method+" "+r.Path]++
	}
	return m
}

// bySID is each user's requests, in the order they arrived.
func (pt *portTarget) bySID() map[string][]seenReq {
	m := map[string][]seenReq{}
	for _, r := range pt.all() {
		m[r.SID] = append(m[r.SID], r)
	}
	return m
}

// runPort runs testdata/locust/<file> headless with args, writes its JSON
// summary and returns the run's result and summary.
func runPort(t *testing.T, file string, args ...string) (result, *output.Document) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.json")
	all := append([]string{"run", "-f", filepath.Join("testdata", "locust", file), "--headless", "--json", out, "--seed", "7"}, args...)
	r := runMain(t, all...)
	if r.code == ExitConfig {
		t.Fatalf("%s: exit %d\n%s", file, r.code, r.stderr)
	}
	doc, err := output.ReadJSON(out)
	if err != nil {
		t.Fatalf("%s: no JSON summary (exit %d): %v\n%s", file, r.code, err, r.stderr)
	}
	if len(doc.Stats.Exceptions) > 0 && file != "manual_report.star" {
		t.Errorf("%s raised script errors: %+v", file, doc.Stats.Exceptions)
	}
	return r, doc
}

// entries is the summary's requests by "METHOD name".
func entries(doc *output.Document) map[string][2]int64 {
	m := map[string][2]int64{}
	for _, e := range doc.Stats.Entries {
		m[e.Method+" "+e.Name] = [2]int64{e.Requests, e.Failures}
	}
	return m
}

func failures(doc *output.Document) map[string]int64 {
	m := map[string]int64{}
	for _, e := range doc.Stats.Errors {
		m[e.Method+" "+e.Name+": "+e.Error] += e.Occurrences
	}
	return m
}

// sameJSON reports whether body is the JSON value want. (Starlark's
// json.encode sorts a dict's keys, where Python keeps their order.)
func sameJSON(body []byte, want string) bool {
	var a, b any
	return json.Unmarshal(body, &a) == nil && json.Unmarshal([]byte(want), &b) == nil && fmt.Sprint(a) == fmt.Sprint(b)
}

func okHandler(w http.ResponseWriter, _ *http.Request, _ []byte) { w.Write([]byte("ok")) }

func TestLocustExamplePorts(t *testing.T) {
	t.Run("quickstart", func(t *testing.T) {
		t.Parallel()
		pt := newPortTarget(t, okHandler)
		r, doc := runPort(t, "quickstart.star", "--host", pt.URL, "-u", "2", "-r", "100", "-i", "8", "--var", "scale=0.002")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		for sid, reqs := range pt.bySID() {
			if reqs[0].Path != "/login" || reqs[0].Method != "POST" || reqs[0].Header.Get("Content-Type") != "application/json" ||
				!sameJSON(reqs[0].Body, `{"username":"foo","password":"bar"}`) {
				t.Errorf("user %s did not log in first with the JSON body: %s %s %q", sid, reqs[0].Method, reqs[0].Path, reqs[0].Body)
			}
			next := 0
			for _, q := range reqs[1:] {
				switch q.Path {
				case "/item":
					if q.Query != fmt.Sprintf("id=%d", next) {
						t.Errorf("user %s: /item?%s, want id=%d", sid, q.Query, next)
					}
					next = (next + 1) % 10
				case "/hello", "/world":
				default:
					t.Errorf("unexpected %s", q.Path)
				}
			}
		}
		e := entries(doc)
		if e["GET /item"][0] == 0 || e["POST /login"][0] != 2 {
			t.Errorf("entries %v: want GET /item grouped by name= and 2 logins", e)
		}
	})

	t.Run("custom_wait", func(t *testing.T) {
		t.Parallel()
		pt := newPortTarget(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
			if r.URL.Path == "/does_not_exist" {
				http.NotFound(w, r)
			}
		})
		r, doc := runPort(t, "custom_wait.star", "--host", pt.URL, "-u", "4", "-r", "100", "-i", "40", "--var", "scale=0.001")
		if r.code != 1 {
			t.Errorf("exit %d, want 1: the 404s are failures and --exit-code-on-error defaults to 1, as in Locust", r.code)
		}
		p := pt.paths()
		if p["GET /"] == 0 || p["GET /stats/requests"] == 0 || p["GET /does_not_exist"] == 0 || len(p) != 3 {
			t.Errorf("paths %v", p)
		}
		for k, e := range entries(doc) {
			if (e[1] > 0) != (k == "GET /does_not_exist") {
				t.Errorf("%s: %d failures", k, e[1])
			}
		}
	})

	t.Run("browse_docs", func(t *testing.T) {
		t.Parallel()
		pages := map[string]string{
			"/en/latest/": `<div class="toctree-wrapper"><ul><li><a class="reference internal" href="quickstart.html">Q</a></li>` +
				`<li><a class="reference internal" href="writing.html">W</a></li></ul></div><a class="reference internal" href="outside.html">O</a>`,
			"/en/latest/quickstart.html": `<p><a class="internal" href="api.html">api</a><a class="external" href="https://x.test/">x</a></p>`,
			"/en/latest/writing.html":    `<a class="reference internal" href="api.html">api</a> <a class="internal" href="changelog.html">c</a>`,
			"/en/latest/api.html":        `api`,
			"/en/latest/changelog.html":  `changes`,
		}
		pt := newPortTarget(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
			if p, ok := pages[r.URL.Path]; ok {
				w.Write([]byte("<html><body>" + p + "</body></html>"))
				return
			}
			http.NotFound(w, r)
		})
		r, doc := runPort(t, "browse_docs.star", "--host", pt.URL+"/en/latest/", "-u", "4", "-r", "100", "-i", "60", "--var", "scale=0.0001")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		p := pt.paths()
		for _, want := range []string{"/en/latest/", "/en/latest/quickstart.html", "/en/latest/writing.html", "/en/latest/api.html", "/en/latest/changelog.html"} {
			if p["GET "+want] == 0 {
				t.Errorf("%s never fetched: %v", want, p)
			}
		}
		if len(p) != 5 {
			t.Errorf("fetched pages the links do not lead to: %v", p)
		}
		if doc.Stats.Total.Failures != 0 {
			t.Errorf("%d failures", doc.Stats.Total.Failures)
		}
	})

	t.Run("csrf_login", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		issued, valid, invalid := map[string]bool{}, 0, 0
		pt := newPortTarget(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case r.URL.Path == "/sign-in" && r.Method == "GET":
				tok := fmt.Sprintf("tok-%d-%d", len(issued), time.Now().UnixNano())
				issued[tok] = true
				fmt.Fprintf(w, "<html>\n<form action=\"/sign-in\" method=\"post\"><input type=\"hidden\" name=\"authenticity_token\" value=\"%s\"><input name=\"user[email]\"></form>\n</html>", tok)
			case r.URL.Path == "/sign-in":
				f, err := url.ParseQuery(string(body))
				tok := f.Get("authenticity_token")
				if err != nil || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || !issued[tok] ||
					f.Get("user[email]") != "username" || f.Get("user[password]") != "password" || r.URL.RawQuery != "" {
					invalid++
					http.Redirect(w, r, "/sign-in?failed=1", http.StatusFound)
					return
				}
				delete(issued, tok)
				valid++
				http.Redirect(w, r, "/welcome", http.StatusFound)
			}
		})
		r, doc := runPort(t, "csrf_login.star", "--host", pt.URL, "-u", "3", "-r", "100", "-i", "9", "--var", "scale=0.001")
		if r.code != 0 || valid < 9 || invalid != 0 || doc.Stats.Total.Failures != 0 {
			t.Errorf("exit %d, %d valid and %d invalid sign-ins, %d failures; want 0, 9+, 0, 0\n%s", r.code, valid, invalid, doc.Stats.Total.Failures, r.stderr)
		}
		if pt.paths()["GET /welcome"] != valid {
			t.Errorf("the redirect to /welcome was not followed: %v", pt.paths())
		}
	})

	t.Run("dynamic_credentials", func(t *testing.T) {
		t.Parallel()
		pt := newPortTarget(t, okHandler)
		r, doc := runPort(t, "dynamic_credentials.star", "--host", pt.URL, "-u", "5", "-r", "100", "-i", "30", "--var", "scale=0.0005")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		var logins []string
		for _, q := range pt.all() {
			if q.Path == "/login" {
				logins = append(logins, string(q.Body)+" ?"+q.Query)
			}
		}
		sort.Strings(logins)
		want := []string{"username=user1&password=password ?", "username=user2&password=password ?", "username=user3&password=password ?"}
		if !slices.Equal(logins, want) {
			t.Errorf("logins %q, want each account once, as a form body: %q", logins, want)
		}
		for k := range entries(doc) {
			if strings.Contains(k, "password") {
				t.Errorf("a password in a request name: %s", k)
			}
		}
	})

	t.Run("nested_tasksets_and_fast_http", func(t *testing.T) {
		t.Parallel()
		pt := newPortTarget(t, okHandler)
		for _, f := range []string{"nested_tasksets.star", "fast_http.star"} {
			before := len(pt.all())
			r, _ := runPort(t, f, "--host", pt.URL, "-u", "2", "-r", "100", "-i", "40", "--var", "scale=0.0001")
			if r.code != 0 {
				t.Fatalf("%s: exit %d: %s", f, r.code, r.stderr)
			}
			got := map[string]int{}
			for _, q := range pt.all()[before:] {
				got[q.Path]++
			}
			if got["/"] == 0 || got["/stats/requests"] == 0 || len(got) != 2 {
				t.Errorf("%s: paths %v", f, got)
			}
		}
	})

	t.Run("markov_store", func(t *testing.T) {
		t.Parallel()
		pt := newPortTarget(t, okHandler)
		r, _ := runPort(t, "markov_store.star", "--host", pt.URL, "-u", "3", "-r", "100", "-i", "90", "--var", "scale=0.0005")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		next := map[string][]string{
			"/catalog":   {"/product/1"},
			"/product/1": {"/cart/add", "/catalog", "/checkout"},
			"/cart/add":  {"/product/1", "/checkout"},
			"/checkout":  {"/catalog"},
		}
		seen := map[string]int{}
		for sid, reqs := range pt.bySID() {
			if reqs[0].Path != "/catalog" {
				t.Errorf("user %s started at %s", sid, reqs[0].Path)
			}
			for i, q := range reqs {
				seen[q.Path]++
				if q.Path == "/cart/add" && (q.Method != "POST" || string(q.Body) != `{"product_id":1}`) {
					t.Errorf("add to cart: %s %q", q.Method, q.Body)
				}
				if i > 0 && !slices.Contains(next[reqs[i-1].Path], q.Path) {
					t.Errorf("user %s went from %s to %s", sid, reqs[i-1].Path, q.Path)
				}
			}
		}
		if len(seen) != 4 {
			t.Errorf("states visited: %v", seen)
		}
	})

	t.Run("multiple_hosts", func(t *testing.T) {
		t.Parallel()
		web, api := newPortTarget(t, okHandler), newPortTarget(t, okHandler)
		r, doc := runPort(t, "multiple_hosts.star", "--host", web.URL, "--var", "API_HOST="+api.URL, "-u", "2", "-r", "100", "-i", "20", "--var", "scale=0.0001")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		w, a := web.paths(), api.paths()
		if w["GET /"] == 0 || len(w) != 1 || a["GET /stats/requests"] == 0 || len(a) != 1 {
			t.Errorf("web got %v, api got %v", w, a)
		}
		if entries(doc)["GET /stats/requests"][0] != int64(a["GET /stats/requests"]) {
			t.Errorf("entries %v", entries(doc))
		}
	})

	t.Run("rest_validation", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		n := 0
		pt := newPortTarget(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
			mu.Lock()
			n++
			k := n
			mu.Unlock()
			switch r.URL.Path {
			case "/authenticate":
				var c struct{ Username string }
				json.Unmarshal(body, &c)
				switch {
				case k%7 == 0:
					w.Write([]byte(`{"error": "account locked"}`))
				case k%5 == 0:
					w.Write([]byte(`{"message": "Welcome bar!"}`))
				default:
					fmt.Fprintf(w, `{"message": "Welcome %s!"}`, c.Username)
				}
			case "/checkout/confirm":
				if k%3 == 0 {
					w.Write([]byte(`{}`))
					return
				}
				w.Write([]byte(`{"orderId": 42}`))
			}
		})
		r, doc := runPort(t, "rest_validation.star", "--host", pt.URL, "-u", "2", "-r", "100", "-i", "40")
		if r.code != 1 {
			t.Errorf("exit %d, want 1 (failed validations)", r.code)
		}
		f := failures(doc)
		e := entries(doc)
		authFail := f["POST /authenticate: account locked"] + f["POST /authenticate: Wrong welcome message: Welcome bar!"]
		if f["POST /authenticate: account locked"] == 0 || f["POST /authenticate: Wrong welcome message: Welcome bar!"] == 0 ||
			f["POST /checkout/confirm: orderId missing"] == 0 {
			t.Errorf("failures %v", f)
		}
		if e["POST /authenticate"][1] != authFail || e["POST /checkout/confirm"][0] != e["POST /authenticate"][0]-authFail {
			t.Errorf("entries %v: a failed authentication must end the task before the checkout", e)
		}
	})

	t.Run("patterns", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		tokens := map[string]bool{}
		var problems []string
		var uploads [][3]string
		bad := func(format string, a ...any) {
			mu.Lock()
			problems = append(problems, fmt.Sprintf(format, a...))
			mu.Unlock()
		}
		pt := newPortTarget(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
			authz := r.Header.Get("Authorization")
			mu.Lock()
			known := tokens[strings.TrimPrefix(authz, "Bearer ")]
			mu.Unlock()
			if authz != "" && !known {
				bad("unknown Authorization %q on %s", authz, r.URL.Path)
			}
			switch p := r.Method + " " + r.URL.Path; p {
			case "POST /api/auth/login":
				if !sameJSON(body, `{"username":"testuser","password":"testpass"}`) {
					bad("login body %q", body)
				}
				mu.Lock()
				tok := fmt.Sprintf("tok-%d", len(tokens))
				tokens[tok] = true
				mu.Unlock()
				fmt.Fprintf(w, `{"token": %q}`, tok)
			case "GET /api/items":
				w.Write([]byte(`[{"id": 42}]`))
			case "POST /api/items":
				w.WriteHeader(http.StatusCreated)
			case "GET /api/items/42", "PUT /api/items/42":
				w.Write([]byte(`{"id": 42}`))
			case "DELETE /api/items/42":
				w.WriteHeader(http.StatusNoContent)
			case "DELETE /api/items/999":
				http.NotFound(w, r)
			case "GET /api/user/profile", "PUT /api/user/profile":
				if !known {
					w.WriteHeader(http.StatusUnauthorized)
				}
			case "POST /graphql":
				var q struct {
					Query     string
					Variables map[string]string
				}
				if err := json.Unmarshal(body, &q); err != nil || !strings.Contains(q.Query, "{") ||
					strings.Contains(q.Query, "$id") != (q.Variables["id"] == "42") {
					bad("graphql body %q", body)
				}
				w.Write([]byte(`{"data": {}}`))
			case "GET /api/files/data.csv":
				w.Write([]byte(strings.Repeat("a,b\n", 4096)))
			case "POST /api/upload":
				_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
				if err != nil {
					bad("upload content type %q", r.Header.Get("Content-Type"))
					return
				}
				mr := multipart.NewReader(strings.NewReader(string(body)), params["boundary"])
				for {
					part, err := mr.NextPart()
					if err != nil {
						break
					}
					b, _ := io.ReadAll(part)
					mu.Lock()
					uploads = append(uploads, [3]string{part.FormName() + ":" + part.FileName(), part.Header.Get("Content-Type"), string(b)})
					mu.Unlock()
				}
			default:
				bad("unexpected %s", p)
				http.NotFound(w, r)
			}
		})
		// Every class must get its share of the iterations, also on a busy
		// machine: all users start within 10 ms (-r 1000) and wait 1-3 ms
		// between tasks, so the first users cannot use up -i before the
		// last ones start (a run on a loaded machine sent no GET
		// /api/items/[id], 1 in 6 of RestApiUser's picks, with -r 100).
		r, doc := runPort(t, "patterns.star", "--host", pt.URL, "-u", "10", "-r", "1000", "-i", "300", "--var", "scale=0.001")
		if r.code != 0 || doc.Stats.Total.Failures != 0 {
			t.Errorf("exit %d, failures %v\n%s", r.code, failures(doc), r.stderr)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Error(p)
		}
		p := pt.paths()
		// One login per BearerTokenUser started: 2 of the 10 users (on a
		// very slow machine -i may still end the test before the second).
		if len(tokens) < 1 || len(tokens) > 2 || p["GET /api/user/profile"]+p["PUT /api/user/profile"] == 0 || p["POST /graphql"] == 0 || len(uploads) == 0 {
			t.Errorf("%d logins (want 1 or 2), paths %v, %d uploads", len(tokens), p, len(uploads))
		}
		for _, u := range uploads {
			if u != [3]string{"file:test.txt", "", strings.Repeat("test data", 100)} {
				t.Errorf("upload part %q", u)
				break
			}
		}
		if e := entries(doc); e["DELETE /api/items/999"][0] == 0 || e["GET /api/items/[id]"][0] == 0 {
			t.Errorf("entries %v", e)
		}
	})

	t.Run("test_data_management", func(t *testing.T) {
		t.Parallel()
		pt := newPortTarget(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
			if r.URL.Path == "/post" {
				json.NewEncoder(w).Encode(map[string]string{"data": string(body)})
			}
		})
		r, doc := runPort(t, "test_data_management.star", "--host", pt.URL, "-u", "3", "-r", "100", "-i", "6", "--var", "scale=0.0001")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		// Locust's timestrings have a tenth of a second: values may repeat,
		// so count the requests that carry each kind of data.
		kinds, globals := map[string]int{}, map[string]bool{}
		for _, q := range pt.all() {
			if q.Path != "/get" {
				continue
			}
			k := q.Query[:strings.LastIndexByte(q.Query, '_')+1]
			kinds[k]++
			if k == "global_test_data_" {
				globals[q.Query] = true
			}
		}
		if fmt.Sprint(kinds) != "map[global_test_data_:6 task_run_specific_testdata_:6 test-run-specific_:6 user-specific_:6]" || len(globals) != 1 {
			t.Errorf("test data sent back: %v, %d global values; want each kind once per task, one global value", kinds, len(globals))
		}
		if n := entries(doc)["POST /post"][0]; n != 2+3+6 {
			t.Errorf("%d POST /post in the statistics, want 11 (setup's 2 included)", n)
		}
		if !strings.Contains(r.stderr, "3. Starting test run") || !strings.Contains(r.stderr, "stopping test run") {
			t.Errorf("setup/teardown did not print: %s", r.stderr)
		}
	})

	t.Run("testdata_from_csv", func(t *testing.T) {
		t.Parallel()
		pt := newPortTarget(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
			var c struct{ Username string }
			json.Unmarshal(body, &c)
			fmt.Fprintf(w, `{"message": "Welcome %s!"}`, c.Username)
		})
		r, doc := runPort(t, "testdata_from_csv.star", "--host", pt.URL, "-u", "3", "-r", "100", "-i", "9")
		if r.code != 0 || doc.Stats.Total.Failures != 0 {
			t.Fatalf("exit %d, %d failures: %s", r.code, doc.Stats.Total.Failures, r.stderr)
		}
		got := map[string]int{}
		for _, q := range pt.all() {
			var c struct{ Username, Password string }
			json.Unmarshal(q.Body, &c)
			got[c.Username+":"+c.Password]++
		}
		want := map[string]int{"alice:pw-a": 3, "bob:pw-b": 3, "carol:pw,c": 3}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("credentials used %v, want every row in turn %v", got, want)
		}
	})

	t.Run("manual_report", func(t *testing.T) {
		t.Parallel()
		// A plain User: no HTTP, so no --host either.
		r, doc := runPort(t, "manual_report.star", "-u", "3", "-r", "100", "-i", "30", "--var", "scale=0.01")
		if r.code != 1 {
			t.Errorf("exit %d, want 1 (failed samples)\n%s", r.code, r.stderr)
		}
		e, f := entries(doc), failures(doc)
		if e["manual successful_task"][0] == 0 || e["manual successful_task"][1] != 0 ||
			e["manual failing_task"][0] == 0 || e["manual failing_task"][1] != e["manual failing_task"][0] ||
			e["manual decorator_test"][0] == 0 || f["manual failing_task: Oh nooes!"] != e["manual failing_task"][0] {
			t.Errorf("entries %v failures %v", e, f)
		}
	})

	t.Run("x_forwarded_for", func(t *testing.T) {
		t.Parallel()
		pt := newPortTarget(t, okHandler)
		r, _ := runPort(t, "x_forwarded_for.star", "--host", pt.URL, "-u", "4", "-r", "100", "-t", "300ms")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		ip := regexp.MustCompile(`^10\.10\.\d{1,3}\.\d{1,3}$`)
		users := pt.bySID()
		for sid, reqs := range users {
			for _, q := range reqs {
				if x := q.Header.Get("X-Forwarded-For"); !ip.MatchString(x) || x != reqs[0].Header.Get("X-Forwarded-For") {
					t.Errorf("user %s sent X-Forwarded-For %q (first %q)", sid, x, reqs[0].Header.Get("X-Forwarded-For"))
				}
			}
		}
		if len(users) != 4 {
			t.Errorf("%d users", len(users))
		}
	})

	t.Run("stop_on_threshold", func(t *testing.T) {
		t.Parallel()
		pt := newPortTarget(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
			if r.URL.Path == "/error" {
				w.WriteHeader(http.StatusInternalServerError)
			}
		})
		r, doc := runPort(t, "stop_on_threshold.star", "--host", pt.URL, "-u", "5", "-r", "100", "-t", "30s", "--abort-grace", "1s", "--var", "scale=0.01")
		if r.code != 1 || r.took > 10*time.Second || doc.ThresholdsPassed {
			t.Errorf("exit %d after %s, thresholds passed %v: want 1, stopped early by the failed threshold\n%s", r.code, r.took, doc.ThresholdsPassed, r.stderr)
		}
	})

	t.Run("runner_quit", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		items := 0
		pt := newPortTarget(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
			if r.URL.Path == "/item" {
				mu.Lock()
				items++
				if items >= 20 {
					w.Header().Set("X-Result", "fail")
				}
				mu.Unlock()
			}
		})
		r, doc := runPort(t, "runner_quit.star", "--host", pt.URL, "-u", "2", "-r", "100", "-t", "30s")
		if r.took > 10*time.Second || doc.Run.StopTestReason != "Limit exceeded by a large amount" {
			t.Errorf("exit %d after %s, stop_test_reason %q", r.code, r.took, doc.Run.StopTestReason)
		}
		for _, q := range pt.all() {
			if q.Path == "/login" && (string(q.Body) != "username=foo&password=bar" || q.Query != "") {
				t.Errorf("login sent %q ?%s, want a form body", q.Body, q.Query)
			}
		}
	})

	t.Run("tags", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			flags []string
			want  string
		}{
			{[]string{"-T", "tag1"}, "[/task1 /task2]"},
			{[]string{"-T", "tag2,tag3"}, "[/task2 /task3]"},
			{[]string{"-E", "tag3"}, "[/task1 /task2 /task4]"},
		} {
			pt := newPortTarget(t, okHandler)
			r, _ := runPort(t, "tags.star", append([]string{"--host", pt.URL, "-u", "1", "-i", "40"}, tc.flags...)...)
			var got []string
			for p := range pt.paths() {
				got = append(got, strings.TrimPrefix(p, "GET "))
			}
			sort.Strings(got)
			if r.code != 0 || fmt.Sprint(got) != tc.want {
				t.Errorf("%v: exit %d, paths %v, want %s", tc.flags, r.code, got, tc.want)
			}
		}
	})

	t.Run("wait_time_method", func(t *testing.T) {
		t.Parallel()
		pt := newPortTarget(t, okHandler)
		r, _ := runPort(t, "wait_time_method.star", "--host", pt.URL, "-u", "1", "-i", "4", "--var", "scale=0.04")
		reqs := pt.all()
		if r.code != 0 || len(reqs) != 4 {
			t.Fatalf("exit %d, %d requests", r.code, len(reqs))
		}
		for i := 1; i < len(reqs); i++ {
			if gap, want := reqs[i].At.Sub(reqs[i-1].At), time.Duration(i)*40*time.Millisecond; gap < want-5*time.Millisecond {
				t.Errorf("wait %d: %s, want >= %s", i, gap, want)
			}
		}
	})

	t.Run("command_line_argument", func(t *testing.T) {
		t.Parallel()
		pt := newPortTarget(t, okHandler)
		r, _ := runPort(t, "command_line_argument.star", "--host", pt.URL, "-u", "1", "-i", "2", "--var", "my_argument=hello world", "--var", "arg2=3")
		if r.code != 0 || !strings.Contains(r.stderr, "Custom argument supplied: hello world") {
			t.Errorf("exit %d: %s", r.code, r.stderr)
		}
		for _, q := range pt.all() {
			if q.Query != "param=hello+world&arg2=3" {
				t.Errorf("query %q", q.Query)
			}
		}
	})

	t.Run("semaphore_wait", func(t *testing.T) {
		t.Parallel()
		pt := newPortTarget(t, okHandler)
		// Five users started one every 0.2 s all send their first request
		// once the last has started.
		r, _ := runPort(t, "semaphore_wait.star", "--host", pt.URL, "-u", "5", "-r", "5", "-t", "2s", "--var", "users=5", "--var", "scale=0.05")
		users := pt.bySID()
		var first []time.Time
		for _, reqs := range users {
			first = append(first, reqs[0].At)
		}
		slices.SortFunc(first, func(a, b time.Time) int { return a.Compare(b) })
		if r.code != 0 || len(first) != 5 || first[4].Sub(first[0]) > 150*time.Millisecond {
			t.Errorf("exit %d, first requests %v: want 5 users released together", r.code, first)
		}
	})

	t.Run("weights_and_class_arguments", func(t *testing.T) {
		t.Parallel()
		users := func(pt *portTarget) map[string]int {
			m := map[string]int{}
			for _, reqs := range pt.bySID() {
				m[reqs[0].Path]++
			}
			return m
		}
		pt := newPortTarget(t, okHandler)
		r, _ := runPort(t, "weights.star", "--host", pt.URL, "-u", "8", "-r", "100", "-t", "300ms")
		if got := users(pt); r.code != 0 || fmt.Sprint(got) != "map[/mobile:2 /web:6]" {
			t.Errorf("exit %d, users %v: want 6 web and 2 mobile", r.code, got)
		}
		pt = newPortTarget(t, okHandler)
		r, _ = runPort(t, "weights.star", "--host", pt.URL, "-u", "4", "-r", "100", "-t", "300ms", "MobileUser")
		if got := users(pt); r.code != 0 || fmt.Sprint(got) != "map[/mobile:4]" {
			t.Errorf("exit %d, users %v: want the 4 users all mobile", r.code, got)
		}
		bad := runMain(t, "run", "-f", filepath.Join("testdata", "locust", "weights.star"), "--headless", "--host", pt.URL, "-t", "1s", "DesktopUser")
		if want := "DesktopUser is not a user class of testdata/locust/weights.star (it has MobileUser, WebUser)"; bad.code != ExitConfig || !strings.Contains(bad.stderr, want) {
			t.Errorf("an unknown class: exit %d, %q; want %d and %q", bad.code, bad.stderr, ExitConfig, want)
		}
	})

	t.Run("wait_functions", func(t *testing.T) {
		t.Parallel()
		pt := newPortTarget(t, okHandler)
		r, doc := runPort(t, "wait_functions.star", "--host", pt.URL, "-u", "3", "-r", "100", "-t", "1s", "--var", "scale=0.01")
		if r.code != 0 || len(pt.bySID()) != 3 || doc.Stats.Total.Requests < 10 {
			t.Errorf("exit %d, %d users, %d requests", r.code, len(pt.bySID()), doc.Stats.Total.Requests)
		}
	})
}

// The ports of Locust's custom_shape examples give the targets the
// Python tick() methods give, at the same times.
func TestLocustShapePorts(t *testing.T) {
	doubleWave := func(rt float64) int { // double_wave.py's formula
		return int(math.RoundToEven((60-20)*math.Exp(-math.Pow(rt/40-5, 2)) + (40-20)*math.Exp(-math.Pow(rt/40-10, 2)) + 20))
	}
	type tick struct {
		t     float64
		users int
		want  string // users/spawn_rate/only, or "None"
	}
	for _, tc := range []struct {
		file  string
		vars  map[string]string
		ticks []tick
	}{
		{"shape_double_wave.star", nil, []tick{
			{0, 0, fmt.Sprintf("%d/%d/[]", doubleWave(0), doubleWave(0))},
			{199.6, 0, fmt.Sprintf("%d/%d/[]", doubleWave(200), doubleWave(200))},
			{330, 0, fmt.Sprintf("%d/%d/[]", doubleWave(330), doubleWave(330))},
			{400, 0, fmt.Sprintf("%d/%d/[]", doubleWave(400), doubleWave(400))},
			{600, 0, "None"},
		}},
		{"shape_stages.star", nil, []tick{
			{0, 0, "10/10/[WebsiteUserA]"}, {70, 0, "50/10/[WebsiteUserB]"}, {179, 0, "100/10/[WebsiteUserA]"},
			{200, 0, "30/10/[]"}, {235, 0, "1/1/[]"}, {240, 0, "None"},
		}},
		{"shape_dispatch.star", nil, []tick{{0, 0, "1/1/[]"}, {39, 0, "30/1/[]"}, {40, 0, "1/1/[]"}, {210, 0, "130/0.25/[]"}, {284, 0, "1/5/[]"}, {285, 0, "None"}}},
		{"shape_step_load.star", nil, []tick{{0, 0, "10/10/[]"}, {65, 0, "30/10/[]"}, {600, 0, "210/10/[]"}, {601, 0, "None"}}},
		{"shape_step_load.star", map[string]string{"shape": "wait_user_count"}, []tick{
			{0, 0, "10/100/[]"}, {1, 10, "10/100/[]"}, {11, 10, "10/100/[]"}, {12, 10, "10/100/[]"}, // dwell 10 s once at 10 users
			{13, 10, "20/100/[]"}, {20, 12, "20/100/[]"}, {21, 20, "20/100/[]"}, {37, 20, "20/100/[]"},
			{38, 20, "10/100/[]"}, {40, 10, "10/100/[]"}, {51, 10, "10/100/[]"}, {52, 10, "None"},
		}},
	} {
		s, err := script.LoadFile(filepath.Join("testdata", "locust", tc.file), script.Options{Vars: tc.vars})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range tc.ticks {
			target, done, err := s.Workload.Shape.Tick(time.Duration(k.t*float64(time.Second)), k.users)
			got := "None"
			if !done {
				got = fmt.Sprintf("%d/%g/%v", target.Users, target.SpawnRate, target.Only)
			}
			if err != nil || got != k.want {
				t.Errorf("%s %v: shape(%g, %d) = %s, %v; want %s", tc.file, tc.vars, k.t, k.users, got, err, k.want)
			}
		}
	}
}
