package script

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/internal/threshold"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// clients are both HTTP client implementations, for tests that must hold
// for each.
var clients = []struct {
	name string
	opts httpclient.Options
}{{"fasthttp", httpclient.Options{}}, {"net-http", httpclient.Options{HTTP2: true}}}

func (h *harness) vuWith(id int, class, host string, o httpclient.Options) *VU {
	h.t.Helper()
	v := h.s.NewVU(id, h.s.Class(class), VUConfig{Client: httpclient.New(o), Shard: h.rec.Shard(id), Host: host})
	h.t.Cleanup(v.Close)
	return v
}

// run loads src, runs its class c's task once against host and returns
// the user and the recorded delta; an exception fails the test.
func runOnce(t *testing.T, src, host string, o httpclient.Options) (*VU, *stats.Delta) {
	t.Helper()
	h := newHarness(t, src, Options{})
	v := h.vuWith(1, "c", host, o)
	v.RunTask(context.Background())
	d := h.flush()
	if len(d.Exceptions) > 0 {
		t.Fatalf("exceptions: %v", d.Exceptions)
	}
	return v, d
}

// callError runs `def t(u): <call>` once for a user of host and returns
// the message of the one exception it raised, and what it recorded.
//
// u.http is called through an alias, which the static checks at load
// (lint.go) do not follow, so that the run-time checks are the ones tested.
func callError(t *testing.T, call, host string) (string, *stats.Delta) {
	t.Helper()
	call = strings.ReplaceAll(call, "u.http.", "client.")
	h := newHarness(t, "def t(u):\n    client = u.http\n    "+call+"\nc = user(tasks=[t])\n", Options{})
	h.vu(1, "c", host, 0).RunTask(context.Background())
	d := h.flush()
	k, _ := onlyException(t, d)
	return k.Message, d
}

// A name of exactly 1024 bytes (the bound; one more is refused, see the
// error tables) is kept whole by name=, rename and record.
func TestNameAtItsBound(t *testing.T) {
	srv := newTarget(t)
	_, d := runOnce(t, `
def t(u):
    u.http.get("/x", name="n" * 1024)
    u.http.get("/json").rename("r" * 1024)
    u.record("c" * 1024, 1)
c = user(tasks=[t])
`, srv.URL, httpclient.Options{})
	for _, k := range []stats.Key{{Method: "GET", Name: strings.Repeat("n", 1024)}, {Method: "GET", Name: strings.Repeat("r", 1024)}} {
		if e := d.Entries[k]; e == nil || e.Requests != 1 {
			t.Errorf("no entry of one request named %.10s… (%d bytes)", k.Name, len(k.Name))
		}
	}
	if len(d.Entries) != 3 {
		t.Errorf("%d entries, want 3 names of 1024 bytes", len(d.Entries))
	}
}

// The second positional argument means what it means in requests: a
// login posted as post(url, {...}) goes in the body, and the password
// never reaches a statistics name (and so the console, CSV or report).
func TestPositionalArgumentsFollowRequests(t *testing.T) {
	srv := newTarget(t)
	_, d := runOnce(t, `
def t(u):
    u.http.post("/login", {"username": "alice", "password": "s3cr3t-pw"})
    u.http.get("/search", {"q": "shoes", "page": 2, "a": ["x", "y z"]})
    u.http.put("/put", "raw")
    u.http.patch("/patch", b"\x01")
    u.http.post("/json", None, {"a": 1})
    u.http.request("POST", "/req", data={"password": "s3cr3t-pw"})
c = user(tasks=[t])
`, srv.URL, httpclient.Options{})
	want := []seen{
		{Method: "POST", Path: "/login", Body: "username=alice&password=s3cr3t-pw"}, // in the dict's order, as requests
		{Method: "GET", Path: "/search", Query: "q=shoes&page=2&a=x&a=y+z"},
		{Method: "PUT", Path: "/put", Body: "raw"},
		{Method: "PATCH", Path: "/patch", Body: "\x01"},
		{Method: "POST", Path: "/json", Body: `{"a":1}`},
		{Method: "POST", Path: "/req", Body: "password=s3cr3t-pw"},
	}
	got := srv.requests()
	if len(got) != len(want) {
		t.Fatalf("server saw %d requests, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Method != w.Method || g.Path != w.Path || g.Query != w.Query || g.Body != w.Body {
			t.Errorf("request %d = %s %s?%s %q, want %s %s?%s %q", i, g.Method, g.Path, g.Query, g.Body, w.Method, w.Path, w.Query, w.Body)
		}
	}
	if ct := got[0].Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("login Content-Type = %q", ct)
	}
	entry(t, d, "POST", "/login")
	entry(t, d, "GET", "/search?q=shoes&page=2&a=x&a=y+z")
	for k := range d.Entries {
		if strings.Contains(k.Name, "s3cr3t") {
			t.Errorf("the password is in a stats name: %q", k.Name)
		}
	}
	for k := range d.Errors {
		if strings.Contains(k.Name+k.Error, "s3cr3t") {
			t.Errorf("the password is in a failure: %+v", k)
		}
	}
}

// A path with a space or non-ASCII is percent-encoded as requests does,
// the same for both clients; an encoded path stays as it is.
func TestPathIsRequoted(t *testing.T) {
	srv := newTarget(t)
	for _, c := range clients {
		_, d := runOnce(t, `
def t(u):
    u.http.get("/a b/\u00fc", params={"q": "x y"})
    u.http.get("/a%20b?q=%C3%BC&r=1 2")
c = user(tasks=[t])
`, srv.URL, c.opts)
		if len(d.Errors) > 0 {
			t.Errorf("%s: %v", c.name, d.Errors)
		}
		entry(t, d, "GET", "/a%20b/%C3%BC?q=x+y")
		entry(t, d, "GET", "/a%20b?q=%C3%BC&r=1%202")
	}
	for _, r := range srv.requests() {
		if r.Path != "/a b/\u00fc" && r.Path != "/a b" {
			t.Errorf("server saw path %q", r.Path)
		}
	}
}

func TestRequestArgumentErrors(t *testing.T) {
	srv := newTarget(t)
	tests := []struct{ call, want string }{
		{`u.http.delete("/x", {"a": 1})`, "delete: got 2 positional arguments, want at most 1 (delete(path, ...))"},
		{`u.http.head("/x", {"a": 1})`, "head: got 2 positional arguments, want at most 1"},
		{`u.http.get("/x", {}, {})`, "get: got 3 positional arguments, want at most 2 (get(path, params, ...))"},
		{`u.http.post("/x", "a", {}, 3)`, "post: got 4 positional arguments, want at most 3"},
		{`u.http.request("POST", "/x", {"a": 1})`, "request: got 3 positional arguments, want at most 2 (request(method, path, ...))"},
		{`u.http.get("/x", foo=1)`, `get: unexpected keyword argument "foo" (accepted: params, data,`},
		{`u.http.get("/x", **{"stream": True})`, `get: unexpected keyword argument "stream": bodies are read whole (up to --max-body) (accepted:`},
		{`u.http.post("/x", "a", data="b")`, "post: got multiple values for parameter data"},
		{`u.http.get("/x", path="/y")`, "get: got multiple values for parameter path"},
		{`u.http.post("/x", json={}, data="b")`, "post: json= cannot be combined with data= or files="},
		{`u.http.get(3)`, "get: path must be a string, got int"},
		{`u.http.request("GET / HTTP/1.1\r\nX: y", "/")`, `request: "GET / HTTP/1.1\r\nX: y" is not a valid method`},
		{`u.http.request("", "/")`, `request: "" is not a valid method`},
		{`u.http.get("/x", headers={"X": "a\r\nInjected: 1"})`, "get: the value of header X contains a control character"},
		{`u.http.get("/x", headers={"Bad Name": "v"})`, `get: "Bad Name" is not a valid header name`},
		{`u.http.get("/x", name="")`, "get: name must be 1 to 1024 bytes long"},
		{`u.http.get("/x", name="n" * 1025)`, "get: name must be 1 to 1024 bytes long, got 1025"},
		{`u.http.get("/x", timeout=float("nan"))`, "get: timeout must be a positive number of seconds"},
		{`u.http.get("/x", auth="alice")`, "get: auth must be a (user, password) pair of strings or digest(user, password), got string"},
		{`u.http.get("/x", auth=("a", 1))`, "get: auth must be a (user, password) pair"},
		{`u.http.get("/x", auth=digest("a\r\nX: y", "p"))`, "digest: the user name contains a control character"},
		{`u.http.post("/x", files=["a"])`, "post: files must be a dict"},
		{`u.http.post("/x", files={"f": ("a",)})`, `post: files["f"]: files must be a dict {field: content}`},
		{`u.http.post("/x", files={"f": 3})`, `post: files["f"]: content must be a string or bytes, got int`},
		{`u.http.post("/x", files={"f": "x"}, data="raw")`, "post: with files=, data must be a dict of form fields, got string"},
		{`u.http.post("/x", files={"f": ("a", "x", "text/plain\r\nX: y")})`, "content type: the value of header Content-Type contains a control character"},
		{`u.http.get("/json").rename("")`, "rename: name must be 1 to 1024 bytes long, got 0"},
		{`u.http.get("/json").rename("r" * 1025)`, "rename: name must be 1 to 1024 bytes long, got 1025"},
		{`u.http.get("/json").rename(3)`, "rename: name must be a string, got int"},
	}
	for _, tc := range tests {
		if msg, _ := callError(t, tc.call, srv.URL); !strings.Contains(msg, tc.want) {
			t.Errorf("%s: exception %q, want %q", tc.call, msg, tc.want)
		}
	}
}

// HTTPParams is what `stampede check` reads; every keyword it lists is
// accepted by a real call.
func TestHTTPParams(t *testing.T) {
	for _, tc := range []struct {
		method string
		pos    []string
	}{
		{"get", []string{"path", "params"}},
		{"post", []string{"path", "data", "json"}},
		{"put", []string{"path", "data"}},
		{"patch", []string{"path", "data"}},
		{"delete", []string{"path"}},
		{"head", []string{"path"}},
		{"options", []string{"path"}},
		{"request", []string{"method", "path"}},
	} {
		pos, kw, ok := HTTPParams(tc.method)
		if !ok || !slices.Equal(pos, tc.pos) {
			t.Errorf("%s: positional %v, want %v", tc.method, pos, tc.pos)
		}
		if !slices.Contains(kw, "files") || !slices.Contains(kw, "auth") || !slices.Contains(kw, "path") {
			t.Errorf("%s: keywords %v", tc.method, kw)
		}
	}
	if _, _, ok := HTTPParams("fetch"); ok {
		t.Error("HTTPParams(fetch) is ok")
	}
	_, kws, _ := HTTPParams("get")
	var call strings.Builder
	for _, k := range kws {
		if k != "path" {
			call.WriteString(", " + k + "=None")
		}
	}
	srv := newTarget(t)
	runOnce(t, "def t(u):\n    u.http.get(\"/all\""+call.String()+")\nc = user(tasks=[t])\n", srv.URL, httpclient.Options{})
	if n := len(srv.requests()); n != 1 {
		t.Errorf("server saw %d requests", n)
	}
}

func TestDefaultHeaders(t *testing.T) {
	srv := newTarget(t)
	h := newHarness(t, `
def t(u):
    u.http.headers["X-Api-Key"] = "key-%d" % u.id
    u.http.headers["Accept"] = "text/plain"
    u.http.get("/1")
    u.http.get("/2", headers={"accept": "application/json", "X-Api-Key": None, "X-Extra": "e"})
    u.http.headers.pop("Accept")
    u.http.get("/3")
def other(u):
    u.http.get("/4")
c = user(tasks=[t])
d = user(tasks=[other])
`, Options{})
	h.vu(1, "c", srv.URL, 0).RunTask(context.Background())
	h.vu(2, "d", srv.URL, 0).RunTask(context.Background())
	if d := h.flush(); len(d.Exceptions) > 0 {
		t.Fatal(d.Exceptions)
	}
	reqs := srv.requests()
	check := func(i int, key, want string) {
		t.Helper()
		if got := strings.Join(reqs[i].Header.Values(key), ","); got != want {
			t.Errorf("request %s: %s = %q, want %q", reqs[i].Path, key, got, want)
		}
	}
	check(0, "X-Api-Key", "key-1")
	check(0, "Accept", "text/plain")
	check(1, "Accept", "application/json")
	check(1, "X-Api-Key", "")
	check(1, "X-Extra", "e")
	check(2, "X-Api-Key", "key-1")
	check(2, "Accept", "")
	check(3, "X-Api-Key", "") // another user has its own defaults
}

func TestRename(t *testing.T) {
	srv := newTarget(t)
	_, d := runOnce(t, `
def t(u):
    r = u.http.get("/json?id=5")
    if r.json()["id"] == 7:
        r.rename("/json?id={id}")
    u.http.get("/status/500", name="five").rename("server error")
c = user(tasks=[t])
`, srv.URL, httpclient.Options{})
	entry(t, d, "GET", "/json?id={id}")
	if e := entry(t, d, "GET", "server error"); e.Failures != 1 {
		t.Errorf("renamed failure: %+v", e)
	}
	if d.Errors[stats.ErrorKey{Method: "GET", Name: "server error", Error: "HTTP 500 Internal Server Error"}] != 1 {
		t.Errorf("errors: %v", d.Errors)
	}
	if len(d.Entries) != 2 {
		t.Errorf("entries: %v", d.Entries)
	}
}

// u.record's samples show in the stats and the CSV like requests, and a
// threshold can name them.
func TestRecord(t *testing.T) {
	_, d := runOnce(t, `
def t(u):
    u.record("db query", 12.5)
    u.record("db query", 14)
    u.record("checkout flow", 250, kind="transaction", length=10, error="payment declined")
c = user(tasks=[t])
`, "", httpclient.Options{})
	q := entry(t, d, "custom", "db query")
	if q.Requests != 2 || q.Failures != 0 || q.Latency.Min != 12.5 || q.Latency.Max != 14 {
		t.Errorf("db query: %d requests %d failures min %v max %v", q.Requests, q.Failures, q.Latency.Min, q.Latency.Max)
	}
	if tr := entry(t, d, "transaction", "checkout flow"); tr.Requests != 1 || tr.Failures != 1 || tr.ContentBytes != 10 {
		t.Errorf("transaction: %+v", tr)
	}
	if d.Errors[stats.ErrorKey{Method: "transaction", Name: "checkout flow", Error: "payment declined"}] != 1 {
		t.Errorf("errors: %v", d.Errors)
	}
	agg := stats.NewAggregate(d.Start)
	agg.Add(stats.Origin{}, d)
	sum := agg.Snapshot(d.End.Add(time.Second), false)
	var csv bytes.Buffer
	if err := output.WriteStatsCSV(&csv, sum); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(csv.String(), "\ncustom,db query,2,0,") || !strings.Contains(csv.String(), "\ntransaction,checkout flow,1,1,") {
		t.Errorf("CSV:\n%s", csv.String())
	}
	ts, err := threshold.ParseAll([]string{`max{name="db query"}<10ms`, `max{name="db query"}<20ms`, `error_rate{name="checkout flow"}<1%`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := threshold.EvaluateAll(ts, sum)
	if res[0].Passed || !res[1].Passed || res[2].Passed {
		t.Errorf("thresholds: %+v", res)
	}

	srv := newTarget(t)
	for _, tc := range []struct{ call, want string }{
		{`u.record("", 1)`, "record: name must be 1 to 1024 bytes long"},
		{`u.record("x" * 2000, 1)`, "record: name must be 1 to 1024 bytes long, got 2000"},
		{`u.record("x" * 1025, 1)`, "record: name must be 1 to 1024 bytes long, got 1025"},
		{`u.record("x", -1)`, "record: response_time_ms must be a number of milliseconds from 0 to 86400000"},
		{`u.record("x", float("nan"))`, "record: response_time_ms must be"},
		{`u.record("x", float("inf"))`, "record: response_time_ms must be"},
		{`u.record("x", "5")`, "record: response_time_ms must be"},
		{`u.record("x", 1, kind="")`, "record: kind must be 1 to 32 bytes long"},
		{`u.record("x", 1, length=-1)`, "record: length must be >= 0"},
		{`u.record("x", 1, error=3)`, "record: error must be None or a message"},
		{`u.record("x", 1, when=3)`, `record: unexpected keyword argument "when"`},
	} {
		msg, d := callError(t, tc.call, srv.URL)
		if !strings.Contains(msg, tc.want) {
			t.Errorf("%s: exception %q, want %q", tc.call, msg, tc.want)
		}
		if len(d.Entries) != 0 {
			t.Errorf("%s recorded %v", tc.call, d.Entries)
		}
	}
}

// formPart is one part of a multipart body as the server parsed it.
type formPart struct {
	Field, Filename, ContentType, Content string
}

func TestMultipartUpload(t *testing.T) {
	var parts []formPart
	var ctype string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctype = r.Header.Get("Content-Type")
		mr, err := r.MultipartReader()
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			b, _ := io.ReadAll(p)
			parts = append(parts, formPart{p.FormName(), p.FileName(), p.Header.Get("Content-Type"), string(b)})
		}
	}))
	t.Cleanup(srv.Close)
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			parts = nil
			_, d := runOnce(t, `
def t(u):
    u.http.post("/upload", {"title": "My doc", "tags": ["a", "b"]}, files={
        "doc": ("report.txt", "hello, world", "text/plain"),
        "img": ("pic.bin", b"\x89PNG\x00\xff"),
        "raw": "bare content",
        "meta": (None, "{}", "application/json", {"X-Part": "1"}),
        "odd": ('we"ird\r\nname.txt', "q"),
    })
c = user(tasks=[t])
`, srv.URL, c.opts)
			if e := entry(t, d, "POST", "/upload"); e.Failures != 0 {
				t.Fatalf("upload failed: %v", d.Errors)
			}
			if mt, _, _ := mime.ParseMediaType(ctype); mt != "multipart/form-data" {
				t.Errorf("Content-Type = %q", ctype)
			}
			want := []formPart{
				{"title", "", "", "My doc"},
				{"tags", "", "", "a"},
				{"tags", "", "", "b"},
				{"doc", "report.txt", "text/plain", "hello, world"},
				{"img", "pic.bin", "", "\x89PNG\x00\xff"},
				{"raw", "raw", "", "bare content"},
				{"meta", "", "application/json", "{}"},
				{"odd", `we"ird%0D%0Aname.txt`, "", "q"},
			}
			if !slices.Equal(parts, want) {
				t.Errorf("parts:\n got %q\nwant %q", parts, want)
			}
		})
	}
}

// The multipart body is well-formed for a standard parser too (sizes,
// boundary), not only for the part-by-part reader above.
func TestMultipartParsesAsForm(t *testing.T) {
	body, ctype, err := encodeMultipart(mustDict(t, `{"f": ("a.txt", "x" * 100000, "text/plain")}`), mustDict(t, `{"k": "v"}`))
	if err != nil {
		t.Fatal(err)
	}
	_, params, _ := mime.ParseMediaType(ctype)
	form, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).ReadForm(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	if form.Value["k"][0] != "v" || form.File["f"][0].Size != 100000 || form.File["f"][0].Filename != "a.txt" {
		t.Errorf("form: %+v %+v", form.Value, form.File)
	}
}

func mustDict(t *testing.T, expr string) *starlark.Dict {
	t.Helper()
	v, err := starlark.EvalOptions(&syntax.FileOptions{}, &starlark.Thread{}, "expr", expr, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v.(*starlark.Dict)
}

func TestBasicAuth(t *testing.T) {
	srv := newTarget(t)
	runOnce(t, `
def t(u):
    u.http.get("/a", auth=("alice", "pä:ss"))
    u.http.get("/b", auth=["bob", "x"], headers={"Authorization": "Bearer old"})
c = user(tasks=[t])
`, srv.URL, httpclient.Options{})
	reqs := srv.requests()
	for i, want := range [][2]string{{"alice", "pä:ss"}, {"bob", "x"}} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header = reqs[i].Header
		u, p, ok := r.BasicAuth()
		if !ok || u != want[0] || p != want[1] || len(r.Header.Values("Authorization")) != 1 {
			t.Errorf("request %d: basic auth %q %q %v (%v)", i, u, p, ok, r.Header.Values("Authorization"))
		}
	}
}
