package httpclient

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// bodyServer serves /fixed?n= (Content-Length), /chunked?n= and
// /gzip-bomb?n= (n zero bytes, gzip-compressed) and counts connections.
func bodyServer(t testing.TB) (string, func() int64) {
	t.Helper()
	var bomb bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 64 { // 64 MiB of zeros in about 64 KB
		gz.Write(zeros)
	}
	gz.Close()
	srv, conns := connCounter(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		switch r.URL.Path {
		case "/fixed":
			w.Header().Set("Content-Length", strconv.Itoa(n))
			io.Copy(w, io.LimitReader(repeatReader('x'), int64(n)))
		case "/chunked":
			for n > 0 {
				k := min(n, 3000)
				w.Write(bytes.Repeat([]byte{'c'}, k))
				w.(http.Flusher).Flush() // one chunk each
				n -= k
			}
		case "/gzip-bomb":
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Length", strconv.Itoa(bomb.Len()))
			w.Write(bomb.Bytes())
		}
	})
	return srv.URL, conns.Load
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// The cap at its edge, for every way a body can be delimited: a body of
// exactly max bytes is whole, one byte more is cut to max and marked;
// the rest is read and dropped, so the connection is reused.
func TestMaxBody(t *testing.T) {
	url, conns := bodyServer(t)
	const max = 10000
	forEach(t, func(t *testing.T, o Options) {
		before := conns()
		o.MaxBody = max
		c := New(o)
		defer c.CloseIdle()
		for _, tc := range []struct {
			path      string
			n         int
			wantLen   int
			truncated bool
		}{
			{"/fixed", max, max, false},
			{"/fixed", max + 1, max, true},
			{"/fixed", 5 * max, max, true},
			{"/chunked", max, max, false},
			{"/chunked", max + 1, max, true},
			{"/chunked", 7*max + 5, max, true},
			{"/fixed", 10, 10, false}, // after all that, the connection still works
		} {
			r := do(t, c, &Request{Method: "GET", URL: fmt.Sprintf("%s%s?n=%d", url, tc.path, tc.n)})
			if len(r.Body) != tc.wantLen || r.Truncated != tc.truncated {
				t.Errorf("%s n=%d: body %d bytes, truncated %v; want %d, %v", tc.path, tc.n, len(r.Body), r.Truncated, tc.wantLen, tc.truncated)
			}
			if strings.Trim(string(r.Body), "xc") != "" {
				t.Errorf("%s n=%d: body is not the start of what was sent", tc.path, tc.n)
			}
		}
		if n := conns() - before; n != 1 {
			t.Errorf("%d connections for 7 requests, want 1 (the rest of a cut body is drained)", n)
		}
	})
}

// -1 keeps everything, DiscardBody keeps nothing (and still reuses the
// connection), the default is DefaultMaxBody.
func TestMaxBodyModes(t *testing.T) {
	url, _ := bodyServer(t)
	forEach(t, func(t *testing.T, o Options) {
		for _, tc := range []struct {
			max       int64
			n, want   int
			truncated bool
		}{
			{0, DefaultMaxBody + 1, DefaultMaxBody, true},
			{NoBodyLimit, DefaultMaxBody + 1, DefaultMaxBody + 1, false},
			{DiscardBody, 100, 0, true},
			{DiscardBody, 0, 0, false},
		} {
			o.MaxBody = tc.max
			c := New(o)
			r := do(t, c, &Request{Method: "GET", URL: fmt.Sprintf("%s/fixed?n=%d", url, tc.n)})
			if len(r.Body) != tc.want || r.Truncated != tc.truncated {
				t.Errorf("max %d, n %d: %d bytes, truncated %v; want %d, %v", tc.max, tc.n, len(r.Body), r.Truncated, tc.want, tc.truncated)
			}
			c.CloseIdle()
		}
	})
}

// A 64 KB gzip body that inflates to 64 MiB costs about the cap, not
// 64 MiB: inflating stops at the cap.
func TestGzipBombStopsAtCap(t *testing.T) {
	url, _ := bodyServer(t)
	const max = 1 << 20
	forEach(t, func(t *testing.T, o Options) {
		o.MaxBody = max
		c := New(o)
		defer c.CloseIdle()
		req := &Request{Method: "GET", URL: url + "/gzip-bomb", Header: []Header{{"Accept-Encoding", "gzip"}}}
		do(t, c, req) // warm up pools and the connection
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		r := do(t, c, req)
		runtime.ReadMemStats(&m1)
		if len(r.Body) != max || !r.Truncated || r.Body[max-1] != 0 {
			t.Fatalf("body %d bytes, truncated %v; want the first %d inflated bytes", len(r.Body), r.Truncated, max)
		}
		if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 8*max {
			t.Errorf("one bomb allocated %d MB; want O(cap = 1 MB)", alloc>>20)
		}
	})
}

// A body that runs until the connection closes is cut too.
func TestMaxBodyUntilClose(t *testing.T) {
	addr, _ := rawServer(t, 1, "HTTP/1.1 200 OK\r\n\r\n"+strings.Repeat("z", 3000))
	c := New(Options{MaxBody: 1000})
	defer c.CloseIdle()
	r := do(t, c, &Request{Method: "GET", URL: "http://" + addr + "/"})
	if len(r.Body) != 1000 || !r.Truncated {
		t.Fatalf("body %d bytes, truncated %v; want 1000, true", len(r.Body), r.Truncated)
	}
}

func TestChunkSize(t *testing.T) {
	for _, tc := range []struct {
		line string
		want int64
		ok   bool
	}{
		{"1a\r\n", 26, true}, {"FF;ext=1\r\n", 255, true}, {"0\r\n", 0, true},
		{"\r\n", 0, false}, {"zz\r\n", 0, false}, {"1000000000000000\r\n", 0, false},
	} {
		got, ok := chunkSize([]byte(tc.line))
		if got != tc.want || ok != tc.ok {
			t.Errorf("chunkSize(%q) = %d, %v; want %d, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

// BenchmarkBigBody measures one user fetching a 100 MB body (-benchmem:
// bytes per op is what the body costs).
func BenchmarkBigBody(b *testing.B) {
	url, _ := bodyServer(b)
	for _, im := range impls {
		b.Run(im.name, func(b *testing.B) {
			c := New(im.opts)
			defer c.CloseIdle()
			req := &Request{Method: "GET", URL: url + "/fixed?n=100000000"}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Do(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
