package httpclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// hostConns holds one user's keep-alive connections to one origin.
//
// It replaces fasthttp.HostClient, which costs an idle user about 25 KB:
// its read and write buffers live in per-HostClient pools (so every user
// keeps its own 16 KB + 4 KB), and it runs one idle-connection cleaner
// goroutine per HostClient. Here the buffers come from process-wide pools
// and are held only while a request is on the wire, and idle connections
// are expired when the user next looks for one. The wire format (request
// writing, response parsing, bodies, chunking) is still fasthttp's.
type hostConns struct {
	addr  string // host:port to dial
	isTLS bool
	tls   *tls.Config
	idle  []idleConn // most recently used last
}

type idleConn struct {
	wire
	last time.Time
}

// wire is a connection, and its socket for the one-call exchange
// (exchange.go): raw is nil for a TLS connection.
type wire struct {
	c   net.Conn
	raw syscall.RawConn
	// until is the deadline set on c (Unix ns; 0: none), kept across
	// requests while it suits them (see setDeadline)
	until int64
}

// setDeadline gives w the deadline of a request that began at now: the
// one w has when it is no earlier than deadline and later by at most a
// thousandth of the timeout, else deadline plus that much. Setting a
// deadline costs ~300 ns (a runtime timer is moved): a user sending
// requests back to back now sets one every ~60 ms of a 60 s timeout
// instead of each time, and a timeout fires at most 0.1% late.
func (w *wire) setDeadline(now, deadline time.Time) error {
	d := deadline.UnixNano()
	slack := int64(deadline.Sub(now) / 1024)
	if d <= w.until && w.until <= d+slack {
		return nil
	}
	w.until = 0
	if err := w.c.SetDeadline(deadline.Add(time.Duration(slack))); err != nil {
		return err
	}
	w.until = d + slack
	return nil
}

const (
	// maxIdlePerHost is how many idle connections a user keeps per origin
	// (a user makes one request at a time).
	maxIdlePerHost = 2
	// maxIdleTime is how long an unused connection is kept (as net/http's
	// IdleConnTimeout and the HostClient setting it replaces).
	maxIdleTime = 90 * time.Second
	// readBufferSize bounds the response header block, as HostClient's
	// ReadBufferSize did.
	readBufferSize  = 16 << 10
	writeBufferSize = 4 << 10
)

// Process-wide buffer pools: a buffer is taken for one request's write or
// read and given back at once, so 10,000 idle users hold none. (A
// sync.Pool is a cache, not state: any Get may return a fresh buffer.)
var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}
	writerPool = sync.Pool{New: func() any { return newReqWriter() }}
	headPool   = sync.Pool{New: func() any { return newHeadReader() }}
)

// do sends req and reads resp on one of h's connections, dialling a new
// one when none is idle. A request that fails on a reused connection
// before any response byte arrived (the server closed it while it was
// idle) is retried once on a fresh connection if its method is idempotent.
//
// The body is read by readBody, not fasthttp: into one allocation with
// the header block (raw), keeping at most max bytes.
//
// now is when the request began: connections are aged by it rather than
// by another reading of the clock.
func (h *hostConns) do(req *fasthttp.Request, resp *fasthttp.Response, now, deadline time.Time, max int64) (raw []byte, headLen int, truncated bool, err error) {
	for attempt := 0; ; attempt++ {
		conn, reused, err := h.conn(now, deadline)
		if err != nil {
			return nil, 0, false, err
		}
		rt := roundTrip{req: req, resp: resp, max: max}
		retryable := true
		err = conn.setDeadline(now, deadline)
		if err == nil {
			retryable, err = rt.run(conn)
		}
		if err == nil {
			if req.ConnectionClose() || resp.ConnectionClose() || rt.untilClose {
				conn.c.Close()
			} else {
				h.put(conn, now)
			}
			return rt.raw, rt.headLen, rt.truncated, nil
		}
		conn.c.Close()
		if !(reused && retryable && attempt == 0 && idempotent(req) && !isTimeout(err)) {
			return nil, 0, false, err
		}
		resp.Reset()
	}
}

// conn returns an idle connection that has not expired, or dials one.
func (h *hostConns) conn(now, deadline time.Time) (w wire, reused bool, err error) {
	for len(h.idle) > 0 {
		ic := h.idle[len(h.idle)-1]
		h.idle[len(h.idle)-1] = idleConn{}
		h.idle = h.idle[:len(h.idle)-1]
		if now.Sub(ic.last) <= maxIdleTime {
			return ic.wire, true, nil
		}
		ic.c.Close()
	}
	w, err = h.dial(deadline)
	return w, false, err
}

func (h *hostConns) dial(deadline time.Time) (wire, error) {
	d := net.Dialer{Deadline: deadline, KeepAlive: 30 * time.Second}
	c, err := d.Dial("tcp", h.addr)
	if err != nil {
		return wire{}, err
	}
	if !h.isTLS {
		w := wire{c: c}
		if sc, ok := c.(syscall.Conn); ok {
			w.raw, _ = sc.SyscallConn() // kept: SyscallConn allocates
		}
		return w, nil
	}
	tc := tls.Client(c, h.tls)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return wire{}, explainTLS(err)
	}
	return wire{c: tc}, nil
}

// put keeps w for the next request, last used at now (the start of its
// last request: a connection is aged a little early, never late); beyond
// maxIdlePerHost the oldest goes.
func (h *hostConns) put(w wire, now time.Time) {
	if len(h.idle) >= maxIdlePerHost {
		h.idle[0].c.Close()
		copy(h.idle, h.idle[1:])
		h.idle = h.idle[:len(h.idle)-1]
	}
	h.idle = append(h.idle, idleConn{wire: w, last: now})
}

// closeIdle closes every idle connection.
func (h *hostConns) closeIdle() {
	for i, ic := range h.idle {
		ic.c.Close()
		h.idle[i] = idleConn{}
	}
	h.idle = h.idle[:0]
}

// roundTrip is one request and its response on one connection.
type roundTrip struct {
	req  *fasthttp.Request
	resp *fasthttp.Response
	max  int64
	// results: the header block and the kept body in one slice (the body
	// starts at headLen), whether the body was cut, and
	// whether it ran until the connection closed
	raw                   []byte
	headLen               int
	truncated, untilClose bool
}

// run writes the request and reads the response on w. retryable reports
// that no response byte was read, so the server cannot have answered.
func (rt *roundTrip) run(w wire) (retryable bool, err error) {
	req, resp := rt.req, rt.resp
	c := w.c
	// The first read goes into a small buffer, so that a user waiting for
	// its answer holds 512 bytes, not a 16 KB reader: with thousands of
	// users waiting on a slow server, big buffers would add up to many
	// megabytes, which the pool then keeps for two GC cycles.
	hr := headPool.Get().(*headReader)
	defer func() {
		hr.head, hr.r, hr.more = nil, nil, false
		headPool.Put(hr)
	}()
	rw := writerPool.Get().(*reqWriter)
	rw.c = c
	err = req.Write(rw.bw)
	if err == nil {
		err = rw.bw.Flush()
	}
	var n int
	switch {
	case err != nil:
	case !rw.through && w.raw != nil:
		n, err = hr.exchange(w, rw.held)
	default:
		if err = rw.flush(); err == nil {
			n, err = c.Read(hr.buf[:])
		}
	}
	rw.release()
	writerPool.Put(rw)
	if n == 0 {
		if err == nil || errors.Is(err, io.EOF) {
			err = fasthttp.ErrConnectionClosed
		}
		return true, err
	}
	hr.head, hr.r = hr.buf[:n], c
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(hr)
	defer func() {
		br.Reset(nil)
		readerPool.Put(br)
	}()
	// fasthttp reads the header only; the body is read here, bounded
	resp.SkipBody = true
	if err := resp.Read(br); err != nil {
		return false, err
	}
	head := hr.headerBlock(n-br.Buffered(), resp.StatusCode())
	if head == nil {
		head = resp.Header.Header() // fasthttp writes it out again
	}
	rt.headLen = len(head)
	if rt.req.Header.IsHead() || noBody(resp.StatusCode()) {
		rt.raw = append([]byte(nil), head...)
		return false, nil
	}
	rt.raw, rt.truncated, rt.untilClose, err = readBody(br, head, resp.Header.ContentLength(), rt.max)
	return false, err
}

// noBody: statuses whose responses have no body whatever their header says.
func noBody(status int) bool {
	return status < 200 || status == 204 || status == 304
}

func idempotent(req *fasthttp.Request) bool {
	h := &req.Header
	return h.IsGet() || h.IsHead() || h.IsPut() || h.IsDelete() || h.IsOptions() || h.IsTrace()
}

// isTimeout reports whether err is a deadline having passed.
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrDialTimeout) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// hostname is addr without its port, for TLS server name verification.
func hostname(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}
