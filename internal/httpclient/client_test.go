package httpclient

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// echo is what the test server's /echo answers.
type echo struct {
	Method, Path, Query, Body, Host string
	Header                          http.Header
}

func testHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo-Method", r.Method)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(echo{r.Method, r.URL.Path, r.URL.RawQuery, string(b), r.Host, r.Header})
	})
	mux.HandleFunc("/redirect/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		to := r.URL.Query().Get("to")
		if to == "" {
			to = "/echo"
		}
		w.Header().Set("Location", to)
		w.WriteHeader(code)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: r.URL.Query().Get("v"), Path: "/"})
		if to := r.URL.Query().Get("then"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
		}
	})
	mux.HandleFunc("/cookie", func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("sid")
		if err != nil {
			io.WriteString(w, "none")
			return
		}
		io.WriteString(w, c.Value)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-r.Context().Done():
		}
		io.WriteString(w, "done")
	})
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, r *http.Request) {
		// compressed whether or not the client asked for it
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "text/plain")
		gz := gzip.NewWriter(w)
		io.WriteString(gz, strings.Repeat("compressed body ", 100))
		gz.Close()
	})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		w.WriteHeader(code)
	})
	return mux
}

var impls = []struct {
	name string
	opts Options
}{
	{"fasthttp", Options{}},
	{"net/http", Options{HTTP2: true}},
}

func forEach(t *testing.T, f func(t *testing.T, o Options)) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) { f(t, im.opts) })
	}
}

func newServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(testHandler())
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, c Client, r *Request) *Response {
	t.Helper()
	resp, err := c.Do(context.Background(), r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.URL, err)
	}
	return resp
}

func decodeEcho(t *testing.T, resp *Response) echo {
	t.Helper()
	var e echo
	if err := json.Unmarshal(resp.Body, &e); err != nil {
		t.Fatalf("not an echo (status %d): %q", resp.Status, resp.Body)
	}
	return e
}

func TestMethodsHeadersBodies(t *testing.T) {
	forEach(t, func(t *testing.T, o Options) {
		srv := newServer(t)
		o.UserAgent = "stampede/test"
		c := New(o)
		defer c.CloseIdle()
		tests := []struct {
			method string
			body   string
		}{
			{"GET", ""}, {"POST", `{"a":1}`}, {"PUT", "put body"}, {"PATCH", "patch"}, {"DELETE", ""},
			{"OPTIONS", ""}, {"PROPFIND", "<xml/>"},
		}
		for _, tc := range tests {
			resp := do(t, c, &Request{Method: tc.method, URL: srv.URL + "/echo?q=1&r=%20x", Body: []byte(tc.body),
				Header: []Header{{"X-Test", "v1"}, {"Content-Type", "text/custom"}}, FollowRedirects: true})
			e := decodeEcho(t, resp)
			if resp.Status != 200 || e.Method != tc.method || e.Path != "/echo" || e.Query != "q=1&r=%20x" || e.Body != tc.body {
				t.Errorf("%s: got status %d %+v", tc.method, resp.Status, e)
			}
			if e.Header.Get("X-Test") != "v1" || e.Header.Get("Content-Type") != "text/custom" || e.Header.Get("User-Agent") != "stampede/test" {
				t.Errorf("%s: request headers %v", tc.method, e.Header)
			}
			if got := resp.Header().Get("x-echo-method"); got != tc.method {
				t.Errorf("%s: response header X-Echo-Method = %q", tc.method, got)
			}
			if resp.URL != srv.URL+"/echo?q=1&r=%20x" || resp.Elapsed <= 0 || !strings.HasPrefix(resp.Proto, "HTTP/1.1") {
				t.Errorf("%s: URL %q elapsed %v proto %q", tc.method, resp.URL, resp.Elapsed, resp.Proto)
			}
		}
		head := do(t, c, &Request{Method: "HEAD", URL: srv.URL + "/echo"})
		if head.Status != 200 || len(head.Body) != 0 || head.Header().Get("X-Echo-Method") != "HEAD" {
			t.Errorf("HEAD: status %d body %q", head.Status, head.Body)
		}
		// a Host header names the virtual host
		e := decodeEcho(t, do(t, c, &Request{Method: "GET", URL: srv.URL + "/echo", Header: []Header{{"Host", "vhost.test"}}}))
		if e.Host != "vhost.test" {
			t.Errorf("Host header: server saw %q", e.Host)
		}
		if s := do(t, c, &Request{Method: "GET", URL: srv.URL + "/status/503"}); s.Status != 503 {
			t.Errorf("status = %d", s.Status)
		}
	})
}

func TestRedirects(t *testing.T) {
	forEach(t, func(t *testing.T, o Options) {
		srv := newServer(t)
		c := New(o)
		defer c.CloseIdle()
		tests := []struct {
			code       int
			method     string
			wantMethod string
			wantBody   string
		}{
			{301, "GET", "GET", ""},
			{302, "GET", "GET", ""},
			{303, "POST", "GET", ""}, // 303 See Other: GET, body dropped
			{302, "POST", "GET", ""}, // as browsers and net/http do
			{301, "POST", "GET", ""},
			{307, "POST", "POST", "payload"}, // 307/308 keep method and body
			{308, "PUT", "PUT", "payload"},
		}
		for _, tc := range tests {
			url := srv.URL + "/redirect/" + strconv.Itoa(tc.code)
			resp := do(t, c, &Request{Method: tc.method, URL: url, Body: []byte("payload"), FollowRedirects: true})
			e := decodeEcho(t, resp)
			if e.Method != tc.wantMethod || e.Body != tc.wantBody || resp.URL != srv.URL+"/echo" {
				t.Errorf("%d after %s: followed with %s body %q to %s; want %s body %q", tc.code, tc.method, e.Method, e.Body, resp.URL, tc.wantMethod, tc.wantBody)
			}
			nf := do(t, c, &Request{Method: tc.method, URL: url, Body: []byte("payload")})
			if nf.Status != tc.code || nf.Header().Get("Location") != "/echo" || nf.URL != url {
				t.Errorf("%d not followed: status %d location %q url %q", tc.code, nf.Status, nf.Header().Get("Location"), nf.URL)
			}
		}
		// relative and absolute locations
		resp := do(t, c, &Request{Method: "GET", URL: srv.URL + "/redirect/302?to=" + srv.URL + "/echo%3Fabs%3D1", FollowRedirects: true})
		if e := decodeEcho(t, resp); e.Query != "abs=1" {
			t.Errorf("absolute Location: %+v", e)
		}
		_, err := c.Do(context.Background(), &Request{Method: "GET", URL: srv.URL + "/loop", FollowRedirects: true})
		if err == nil || !strings.Contains(err.Error(), "stopped after 10 redirects") {
			t.Errorf("redirect loop: %v", err)
		}
	})
}

func TestCookies(t *testing.T) {
	forEach(t, func(t *testing.T, o Options) {
		srv := newServer(t)
		a, b := New(o), New(o)
		defer a.CloseIdle()
		defer b.CloseIdle()
		get := func(c Client, path string) string {
			return string(do(t, c, &Request{Method: "GET", URL: srv.URL + path, FollowRedirects: true}).Body)
		}
		if got := get(a, "/cookie"); got != "none" {
			t.Errorf("fresh client sends cookie %q", got)
		}
		get(a, "/set?v=alice")
		if got := get(a, "/cookie"); got != "alice" {
			t.Errorf("cookie across requests = %q", got)
		}
		if got := get(b, "/cookie"); got != "none" {
			t.Errorf("another client sees cookie %q: jars must be per user", got)
		}
		// set on a redirect response, sent on the next hop
		if got := get(b, "/set?v=bob&then=/cookie"); got != "bob" {
			t.Errorf("cookie across a redirect = %q", got)
		}
		if got := get(a, "/cookie"); got != "alice" {
			t.Errorf("first client's cookie changed to %q", got)
		}
		// an explicit Cookie header wins over the jar
		r := do(t, a, &Request{Method: "GET", URL: srv.URL + "/cookie", Header: []Header{{"Cookie", "sid=manual"}}})
		if string(r.Body) != "manual" {
			t.Errorf("explicit Cookie header: server saw %q", r.Body)
		}
	})
}

func TestTimeouts(t *testing.T) {
	forEach(t, func(t *testing.T, o Options) {
		srv := newServer(t)
		o.Timeout = 300 * time.Millisecond
		c := New(o)
		defer c.CloseIdle()
		tests := []struct {
			name    string
			timeout time.Duration
			want    string
		}{
			{"per request", 100 * time.Millisecond, "timeout after 100ms"},
			{"client default", 0, "timeout after 300ms"},
		}
		for _, tc := range tests {
			start := time.Now()
			_, err := c.Do(context.Background(), &Request{Method: "GET", URL: srv.URL + "/slow?ms=5000", Timeout: tc.timeout})
			var te *TimeoutError
			if !errors.As(err, &te) || err.Error() != tc.want {
				t.Errorf("%s: error %v (%T), want %q", tc.name, err, err, tc.want)
			}
			if el := time.Since(start); el > 3*time.Second {
				t.Errorf("%s: returned after %v", tc.name, el)
			}
		}
		// the client still works after a timeout
		if r := do(t, c, &Request{Method: "GET", URL: srv.URL + "/slow?ms=1"}); string(r.Body) != "done" {
			t.Errorf("after a timeout: %q", r.Body)
		}
		// a cancelled context stops before sending
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := c.Do(ctx, &Request{Method: "GET", URL: srv.URL + "/echo"}); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled context: %v", err)
		}
	})
}

func TestRequestStart(t *testing.T) {
	// A caller that read the clock already passes its reading: the
	// response time and the timeout count from it.
	forEach(t, func(t *testing.T, o Options) {
		srv := newServer(t)
		c := New(o)
		defer c.CloseIdle()
		r := do(t, c, &Request{Method: "GET", URL: srv.URL + "/echo", Start: time.Now().Add(-time.Second)})
		if r.Elapsed < time.Second || r.Elapsed > 10*time.Second {
			t.Errorf("Elapsed %v, want the second before Do and the request", r.Elapsed)
		}
		before := time.Now()
		_, err := c.Do(context.Background(), &Request{Method: "GET", URL: srv.URL + "/slow?ms=5000",
			Timeout: time.Second, Start: before.Add(-900 * time.Millisecond)})
		if te := (*TimeoutError)(nil); !errors.As(err, &te) || te.After != time.Second {
			t.Errorf("error %v, want a timeout after 1s", err)
		}
		if waited := time.Since(before); waited > 700*time.Millisecond {
			t.Errorf("timed out %v after Do, want ~100ms (1s from Start)", waited)
		}
	})
}

func TestGzipBodiesAreDecoded(t *testing.T) {
	forEach(t, func(t *testing.T, o Options) {
		srv := newServer(t)
		c := New(o)
		defer c.CloseIdle()
		want := strings.Repeat("compressed body ", 100)
		for _, hdr := range [][]Header{nil, {{"Accept-Encoding", "gzip, deflate"}}} {
			r := do(t, c, &Request{Method: "GET", URL: srv.URL + "/gzip", Header: hdr})
			if string(r.Body) != want {
				t.Errorf("Accept-Encoding %v: body %q..., want decoded text", hdr, r.Body[:min(20, len(r.Body))])
			}
		}
	})
}

func TestHTTPS(t *testing.T) {
	forEach(t, func(t *testing.T, o Options) {
		srv := httptest.NewUnstartedServer(testHandler())
		srv.EnableHTTP2 = true
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
		srv.StartTLS()
		defer srv.Close()
		strict := New(o)
		defer strict.CloseIdle()
		if _, err := strict.Do(context.Background(), &Request{Method: "GET", URL: srv.URL + "/echo"}); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("self-signed certificate accepted without InsecureSkipVerify: %v", err)
		}
		o.InsecureSkipVerify = true
		c := New(o)
		defer c.CloseIdle()
		r := do(t, c, &Request{Method: "POST", URL: srv.URL + "/echo", Body: []byte("tls")})
		if e := decodeEcho(t, r); e.Body != "tls" || r.Status != 200 {
			t.Errorf("over TLS: %+v", e)
		}
		wantProto := "HTTP/1.1"
		if o.HTTP2 {
			wantProto = "HTTP/2.0" // net/http negotiates HTTP/2 where offered
		}
		if r.Proto != wantProto {
			t.Errorf("proto = %q, want %q", r.Proto, wantProto)
		}
	})
}

func TestConnectionErrors(t *testing.T) {
	forEach(t, func(t *testing.T, o Options) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		c := New(o)
		defer c.CloseIdle()
		_, err = c.Do(context.Background(), &Request{Method: "GET", URL: "http://" + addr + "/x"})
		if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), addr) {
			t.Errorf("refused: %v", err)
		}
		if err != nil && strings.Contains(err.Error(), `Get "`) {
			t.Errorf("error repeats the URL: %v", err)
		}
		for _, bad := range []string{"ftp://" + addr + "/x", "no-scheme"} {
			if _, err := c.Do(context.Background(), &Request{Method: "GET", URL: bad}); err == nil {
				t.Errorf("%s: no error", bad)
			}
		}
	})
}

func TestParseHeader(t *testing.T) {
	raw := []byte("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n")
	h := parseHeader(raw)
	if h.Get("Content-Type") != "text/plain" || len(h.Values("Set-Cookie")) != 2 {
		t.Errorf("parsed %v", h)
	}
	if r := (&Response{}); len(r.Header()) != 0 {
		t.Error("empty response has headers")
	}
	if got := parseHeader(nil); len(got) != 0 {
		t.Errorf("nil: %v", got)
	}
	if !bytes.Equal((&Response{raw: raw}).raw, raw) {
		t.Fatal("unreachable")
	}
}

func TestRedirectMethod(t *testing.T) {
	tests := []struct {
		status       int
		method, want string
		keepBody     bool
	}{
		{301, "POST", "GET", false}, {302, "POST", "GET", false}, {303, "POST", "GET", false},
		{303, "PUT", "GET", false}, {302, "GET", "GET", false}, {303, "HEAD", "HEAD", false},
		{307, "POST", "POST", true}, {308, "DELETE", "DELETE", true}, {307, "GET", "GET", true},
	}
	for _, tc := range tests {
		if m, keep := redirectMethod(tc.status, tc.method); m != tc.want || keep != tc.keepBody {
			t.Errorf("redirectMethod(%d, %s) = %s, %v; want %s, %v", tc.status, tc.method, m, keep, tc.want, tc.keepBody)
		}
	}
}

func TestDecodeBody(t *testing.T) {
	plain := []byte(strings.Repeat("abc ", 50))
	var gz, zl bytes.Buffer
	g := gzip.NewWriter(&gz)
	g.Write(plain)
	g.Close()
	z := zlib.NewWriter(&zl)
	z.Write(plain)
	z.Close()
	tests := []struct {
		enc     string
		in      []byte
		wantErr bool
	}{
		{"gzip", gz.Bytes(), false}, {"GZIP ", gz.Bytes(), false}, {"x-gzip", gz.Bytes(), false},
		{"deflate", zl.Bytes(), false}, {"identity", plain, false},
		{"gzip", []byte("not gzip"), true}, {"compress", plain, true},
	}
	for _, tc := range tests {
		got, _, err := decodeBody(tc.enc, tc.in, -1)
		if (err != nil) != tc.wantErr || (!tc.wantErr && !bytes.Equal(got, plain)) {
			t.Errorf("decodeBody(%q): %q, %v", tc.enc, got, err)
		}
	}
}

// A URL with a line break (say, a link taken from a hostile response)
// must not reach the request line, where it would add headers.
func TestControlCharactersInURL(t *testing.T) {
	forEach(t, func(t *testing.T, o Options) {
		srv := newServer(t)
		c := New(o)
		defer c.CloseIdle()
		_, err := c.Do(context.Background(), &Request{Method: "GET", URL: srv.URL + "/echo\r\nX-Injected: 1\r\n"})
		if err == nil || !strings.Contains(err.Error(), "invalid control character in URL") {
			t.Errorf("error %v", err)
		}
	})
}
