package httpclient

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// connCounter is an httptest server that counts the connections it
// accepted.
func connCounter(t testing.TB, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestKeepAlive(t *testing.T) {
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		wantConns int64
		wantBody  string
	}{
		{"reused", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hi") }, 1, "hi"},
		{"Connection: close", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Connection", "close")
			io.WriteString(w, "bye")
		}, 5, "bye"},
		{"chunked", func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, "a")
			w.(http.Flusher).Flush()
			io.WriteString(w, strings.Repeat("b", 100_000))
		}, 1, "a" + strings.Repeat("b", 100_000)},
		{"big header block", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Big", strings.Repeat("h", 6000)) // far past the 512-byte first read
			io.WriteString(w, "ok")
		}, 1, "ok"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, conns := connCounter(t, tc.handler)
			c := New(Options{})
			defer c.CloseIdle()
			for i := 0; i < 5; i++ {
				r := do(t, c, &Request{Method: "GET", URL: srv.URL + "/"})
				if r.Status != 200 || string(r.Body) != tc.wantBody {
					t.Fatalf("request %d: status %d, body of %d bytes", i, r.Status, len(r.Body))
				}
			}
			if got := conns.Load(); got != tc.wantConns {
				t.Errorf("%d connections for 5 requests, want %d", got, tc.wantConns)
			}
		})
	}
}

// rawServer answers each request on a connection with handle's bytes,
// then closes the connection when closeAfter requests were answered.
func rawServer(t *testing.T, closeAfter int, answer string) (addr string, conns *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns = &atomic.Int64{}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				br := bufio.NewReader(c)
				for i := 0; closeAfter == 0 || i < closeAfter; i++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					if _, err := io.WriteString(c, answer); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String(), conns
}

func TestStaleKeepAliveIsRetriedWhenIdempotent(t *testing.T) {
	// The server closes every connection after one answer, without saying
	// so (as a server does when its keep-alive timeout passes).
	addr, conns := rawServer(t, 1, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	tests := []struct {
		method  string
		wantErr bool
	}{
		{"GET", false}, {"HEAD", false}, {"PUT", false}, {"DELETE", false},
		{"POST", true}, {"PATCH", true}, // not idempotent: never sent twice
	}
	for _, tc := range tests {
		c := New(Options{})
		do(t, c, &Request{Method: "GET", URL: "http://" + addr + "/first"})
		time.Sleep(50 * time.Millisecond) // let the server's close arrive
		r, err := c.Do(context.Background(), &Request{Method: tc.method, URL: "http://" + addr + "/second", Body: []byte("x")})
		if tc.wantErr {
			if err == nil {
				t.Errorf("%s on a closed keep-alive connection: no error, want one (not retried)", tc.method)
			}
		} else if err != nil || r.Status != 200 {
			t.Errorf("%s on a closed keep-alive connection: %v, want a retry on a new connection", tc.method, err)
		}
		c.CloseIdle()
	}
	if conns.Load() < int64(len(tests)) {
		t.Errorf("only %d connections", conns.Load())
	}
}

func TestBodyUntilClose(t *testing.T) {
	// No Content-Length, no chunking: the body ends when the server
	// closes, and the connection must not be reused.
	addr, conns := rawServer(t, 1, "HTTP/1.1 200 OK\r\n\r\n"+strings.Repeat("z", 3000))
	c := New(Options{})
	defer c.CloseIdle()
	for i := 0; i < 3; i++ {
		r := do(t, c, &Request{Method: "GET", URL: "http://" + addr + "/"})
		if len(r.Body) != 3000 {
			t.Fatalf("body of %d bytes, want 3000", len(r.Body))
		}
	}
	if got := conns.Load(); got != 3 {
		t.Errorf("%d connections, want 3 (one per request)", got)
	}
}

func TestIdleConnectionsExpire(t *testing.T) {
	srv, conns := connCounter(t, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "x") })
	c := New(Options{}).(*fastClient)
	defer c.CloseIdle()
	do(t, c, &Request{Method: "GET", URL: srv.URL + "/"})
	hc := c.last
	if len(hc.idle) != 1 {
		t.Fatalf("%d idle connections after one request, want 1", len(hc.idle))
	}
	old := hc.idle[0].c
	hc.idle[0].last = time.Now().Add(-maxIdleTime - time.Second)
	do(t, c, &Request{Method: "GET", URL: srv.URL + "/"})
	if got := conns.Load(); got != 2 {
		t.Errorf("%d connections, want 2: an expired idle connection was reused", got)
	}
	if _, err := old.Write([]byte("x")); err == nil {
		t.Error("the expired connection was not closed")
	}
}

func TestSeveralOrigins(t *testing.T) {
	a, na := connCounter(t, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "a") })
	b, nb := connCounter(t, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "b") })
	c := New(Options{})
	for i := 0; i < 3; i++ {
		for _, s := range []struct{ url, want string }{{a.URL, "a"}, {b.URL, "b"}} {
			if r := do(t, c, &Request{Method: "GET", URL: s.url + "/"}); string(r.Body) != s.want {
				t.Fatalf("%s answered %q", s.url, r.Body)
			}
		}
	}
	if na.Load() != 1 || nb.Load() != 1 {
		t.Errorf("connections: %d and %d, want 1 each", na.Load(), nb.Load())
	}
	c.CloseIdle()
	fc := c.(*fastClient)
	for key, hc := range fc.hosts {
		if len(hc.idle) != 0 {
			t.Errorf("%s: %d idle connections after CloseIdle", key.origin, len(hc.idle))
		}
	}
}

func TestIdleClientsHoldNoGoroutines(t *testing.T) {
	// fasthttp.HostClient ran one cleaner goroutine per client; 10,000
	// idle users would hold 10,000 of them.
	srv, _ := connCounter(t, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "x") })
	const n = 100
	clients := make([]Client, n)
	for i := range clients {
		clients[i] = New(Options{})
		do(t, clients[i], &Request{Method: "GET", URL: fmt.Sprintf("%s/%d", srv.URL, i)})
	}
	// The server holds one goroutine per keep-alive connection; the
	// clients must hold none.
	serverSide := n
	if g := runtime.NumGoroutine(); g > serverSide+20 {
		t.Errorf("%d goroutines with %d idle clients", g, n)
	}
	for _, c := range clients {
		c.CloseIdle()
	}
}

func BenchmarkGet(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "<!doctype html><title>bench</title><p>Hello from the benchmark target.</p>\n")
	}))
	defer srv.Close()
	for _, im := range impls {
		b.Run(im.name, func(b *testing.B) {
			c := New(im.opts)
			defer c.CloseIdle()
			req := &Request{Method: "GET", URL: srv.URL + "/"}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Do(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// deadlineConn counts the deadlines set on it.
type deadlineConn struct {
	net.Conn
	set []time.Time
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.set = append(c.set, t)
	return nil
}

func TestDeadlineKeptWhileItSuits(t *testing.T) {
	start := time.Now()
	c := &deadlineConn{}
	w := wire{c: c}
	steps := []struct {
		at      time.Duration // when the request begins, after start
		timeout time.Duration
		set     bool
	}{
		{0, time.Minute, true},                                // a new connection
		{time.Millisecond, time.Minute, false},                // 1 ms later: the one set is at most 58 ms late
		{50 * time.Millisecond, time.Minute, false},           // still within a thousandth of the timeout
		{70 * time.Millisecond, time.Minute, true},            // the one set would be early: set again
		{80 * time.Millisecond, 100 * time.Millisecond, true}, // a shorter timeout: set at once
		{81 * time.Millisecond, time.Minute, true},
	}
	for i, s := range steps {
		now := start.Add(s.at)
		before := len(c.set)
		if err := w.setDeadline(now, now.Add(s.timeout)); err != nil {
			t.Fatal(err)
		}
		if got := len(c.set) > before; got != s.set {
			t.Errorf("step %d: deadline set = %v, want %v", i, got, s.set)
		}
		d := c.set[len(c.set)-1]
		if want := now.Add(s.timeout); d.Before(want) || d.Sub(want) > s.timeout/1000 {
			t.Errorf("step %d: connection deadline %v after the request's, want 0 to %v", i, d.Sub(want), s.timeout/1000)
		}
	}
}

func TestShorterTimeoutOnAKeptConnection(t *testing.T) {
	srv, conns := connCounter(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(600 * time.Millisecond)
		}
		io.WriteString(w, "ok")
	})
	c := New(Options{})
	defer c.CloseIdle()
	do(t, c, &Request{Method: "GET", URL: srv.URL + "/"}) // sets a 60 s deadline
	start := time.Now()
	_, err := c.Do(context.Background(), &Request{Method: "GET", URL: srv.URL + "/slow", Timeout: 100 * time.Millisecond})
	if el := time.Since(start); err == nil || el > 400*time.Millisecond {
		t.Errorf("timeout of 100 ms on a kept connection: %v after %v", err, el)
	}
	if conns.Load() != 1 {
		t.Errorf("%d connections: the second request did not reuse the first's", conns.Load())
	}
}

func TestSameOriginAs(t *testing.T) {
	tests := []struct {
		url, key string
		want     bool
	}{
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080", true},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", true},
		{"http://127.0.0.1:8080?q=1", "http://127.0.0.1:8080", true},
		{"http://127.0.0.1:8080#top", "http://127.0.0.1:8080", true},
		{"http://127.0.0.1:80801/", "http://127.0.0.1:8080", false}, // another port
		{"http://a.bc/", "http://a.b", false},                       // another host
		{"http://a.b@evil/", "http://a.b", false},                   // userinfo: the host is evil
		{"https://a.b/", "http://a.b", false},
		{"http://a/", "http://a.b", false},
	}
	for _, tc := range tests {
		if got := sameOriginAs(tc.url, tc.key); got != tc.want {
			t.Errorf("sameOriginAs(%q, %q) = %v, want %v", tc.url, tc.key, got, tc.want)
		}
		if k, _, _, err := origin(tc.url); tc.want && (err != nil || k != tc.key) {
			t.Errorf("origin(%q) = %q, %v: the fast path disagrees", tc.url, k, err)
		}
	}
}
