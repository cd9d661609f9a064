package httpclient

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// threadIO is this thread's count of read and write system calls
// (/proc/thread-self/io), or ok false where Linux does not tell.
func threadIO(t *testing.T) (reads, writes int, ok bool) {
	t.Helper()
	b, err := os.ReadFile("/proc/thread-self/io")
	if err != nil {
		return 0, 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		n, _ := strconv.Atoi(v)
		switch k {
		case "syscr":
			reads = n
		case "syscw":
			writes = n
		}
	}
	return reads, writes, true
}

func TestOneWriteAndOneReadPerRequest(t *testing.T) {
	// The answer is one segment, so that one read can take it whole.
	addr, _ := rawServer(t, 0, "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello world\n")
	// Locked, the goroutine makes all its system calls on this thread:
	// the thread's counters are the client's.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c := New(Options{})
	defer c.CloseIdle()
	req := &Request{Method: "GET", URL: "http://" + addr + "/"}
	do(t, c, req) // dials
	r0, w0, ok := threadIO(t)
	if !ok {
		t.Skip("no /proc/thread-self/io")
	}
	r1, w1, _ := threadIO(t) // what reading the counters costs
	const n = 50
	for range n {
		if r := do(t, c, req); string(r.Body) != "hello world\n" {
			t.Fatalf("body %q", r.Body)
		}
	}
	r2, w2, _ := threadIO(t)
	reads, writes := r2-r1-(r1-r0), w2-w1-(w1-w0)
	if reads != n {
		t.Errorf("%d read system calls for %d keep-alive requests, want one each", reads, n)
	}
	// The runtime may write to its poller's eventfd from this thread now
	// and then; the request itself is one write.
	if writes < n || writes > n+n/10 {
		t.Errorf("%d write system calls for %d keep-alive requests, want one each", writes, n)
	}
}

func TestExchangeEdges(t *testing.T) {
	srv, conns := connCounter(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.Method+" "+strconv.Itoa(len(b))+" "+r.Header.Get("X-Big")[:min(3, len(r.Header.Get("X-Big")))])
	})
	c := New(Options{})
	defer c.CloseIdle()
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"small", Request{Method: "GET"}, "GET 0 "},
		// bigger than the 4 KB the request is held in: written through
		{"body past the buffer", Request{Method: "POST", Body: []byte(strings.Repeat("b", 100_000))}, "POST 100000 "},
		{"header past the buffer", Request{Method: "GET", Header: []Header{{"X-Big", strings.Repeat("h", 6000)}}}, "GET 0 hhh"},
		{"exactly the buffer", Request{Method: "POST", Body: []byte(strings.Repeat("e", writeBufferSize-100))}, "POST " + strconv.Itoa(writeBufferSize-100) + " "},
		{"small again", Request{Method: "GET"}, "GET 0 "},
	}
	for _, tc := range tests {
		tc.req.URL = srv.URL + "/"
		if r := do(t, c, &tc.req); string(r.Body) != tc.want {
			t.Errorf("%s: server answered %q, want %q", tc.name, r.Body, tc.want)
		}
	}
	if got := conns.Load(); got != 1 {
		t.Errorf("%d connections, want 1 (kept alive throughout)", got)
	}
}

func TestExchangeErrors(t *testing.T) {
	// A server that reads the request, then resets the connection
	// (SO_LINGER 0) or closes it without answering.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			req, err := http.ReadRequest(bufio.NewReader(c))
			if err == nil && req.URL.Path == "/reset" {
				c.(*net.TCPConn).SetLinger(0)
			}
			c.Close()
		}
	})
	base := "http://" + l.Addr().String()
	tests := []struct {
		path, want string
	}{
		{"/reset", "read tcp "},
		{"/close", "closed connection before returning the first response byte"},
	}
	for _, tc := range tests {
		c := New(Options{})
		// POST: not retried, so the first connection's error is the answer
		_, err := c.Do(context.Background(), &Request{Method: "POST", URL: base + tc.path})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one with %q", tc.path, err, tc.want)
		}
		if tc.path == "/reset" && err != nil && !strings.Contains(err.Error(), "connection reset by peer") {
			t.Errorf("%s: error %v, want the reset named", tc.path, err)
		}
		c.CloseIdle()
	}
	// A deadline that passes while waiting for the answer is a timeout.
	slow, _ := rawServer(t, 0, "") // reads requests, never answers
	c := New(Options{})
	defer c.CloseIdle()
	start := time.Now()
	_, err = c.Do(context.Background(), &Request{Method: "GET", URL: "http://" + slow + "/", Timeout: 100 * time.Millisecond})
	if te := (*TimeoutError)(nil); err == nil || !strings.Contains(err.Error(), "timeout after 100ms") {
		t.Errorf("no answer: error %v (%T), want %T", err, err, te)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("timed out after %v", el)
	}
}

func TestResponseHeaderAsSent(t *testing.T) {
	big := strings.Repeat("h", 1000) // past the first 512-byte read
	tests := []struct {
		name, answer string
		want         http.Header
	}{
		{"one block", "HTTP/1.1 200 OK\r\nX-A: 1\r\nX-Dup: a\r\nX-Dup: b\r\nContent-Length: 2\r\n\r\nok",
			http.Header{"X-A": {"1"}, "X-Dup": {"a", "b"}, "Content-Length": {"2"}}},
		{"after 100 Continue", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nok",
			http.Header{"X-A": {"1"}, "Content-Length": {"2"}}},
		{"past the first read", "HTTP/1.1 200 OK\r\nX-Big: " + big + "\r\nContent-Length: 2\r\n\r\nok",
			http.Header{"X-Big": {big}, "Content-Length": {"2"}}},
	}
	for _, tc := range tests {
		addr, _ := rawServer(t, 0, tc.answer)
		c := New(Options{})
		for i := range 2 { // a new connection, then a kept one
			r := do(t, c, &Request{Method: "GET", URL: "http://" + addr + "/"})
			if r.Status != 200 || string(r.Body) != "ok" {
				t.Fatalf("%s #%d: status %d body %q", tc.name, i, r.Status, r.Body)
			}
			for k, v := range tc.want {
				if got := r.Header().Values(k); !slices.Equal(got, v) {
					t.Errorf("%s #%d: header %s = %q, want %q", tc.name, i, k, got, v)
				}
			}
		}
		c.CloseIdle()
	}
}
