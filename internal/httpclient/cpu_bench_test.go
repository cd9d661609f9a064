package httpclient

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"
)

// cannedConn is a connection that answers every request with the same
// response from memory: what the client costs in CPU without the kernel.
type cannedConn struct {
	net.Conn // nil: only what the client calls is implemented
	resp     []byte
	pending  []byte
	written  int
}

func (c *cannedConn) Write(p []byte) (int, error) {
	c.written += len(p)
	if bytes.HasSuffix(p, []byte("\r\n\r\n")) {
		c.pending = c.resp
	}
	return len(p), nil
}

func (c *cannedConn) Read(p []byte) (int, error) {
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

func (c *cannedConn) SetDeadline(time.Time) error { return nil }
func (c *cannedConn) Close() error                { return nil }

// BenchmarkGetNoNetwork is the client's own CPU per keep-alive GET: the
// connection answers from memory (nginx's `return 200 "hello world\n"`).
func BenchmarkGetNoNetwork(b *testing.B) {
	c := newFastClient(Options{Timeout: DefaultTimeout})
	hc, err := c.hostClient("http://127.0.0.1:8080/", nil)
	if err != nil {
		b.Fatal(err)
	}
	conn := &cannedConn{resp: []byte("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Tue, 01 Dec 2026 04:11:01 GMT\r\n" +
		"Content-Type: application/octet-stream\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\nhello world\n")}
	hc.put(wire{c: conn}, time.Now())
	req := &Request{Method: "GET", URL: "http://127.0.0.1:8080/"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.Do(ctx, req)
		if err != nil || resp.Status != 200 || string(resp.Body) != "hello world\n" {
			b.Fatalf("%v %+v", err, resp)
		}
	}
	if len(hc.idle) != 1 || hc.idle[0].c != conn {
		b.Fatal("the connection was not kept")
	}
}
