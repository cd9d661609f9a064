package httpclient

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// The request's bytes are collected first and written with one system
// call; on a plain TCP connection the same call then waits for the
// answer and reads it (exchange). Go's own Read tries the socket first
// and only then waits: right after a write the answer is never there
// yet, so every request paid a read that found nothing (EAGAIN) before
// the one that read the answer.

// reqWriter holds a request's bytes until the request is complete, so
// that it goes out in one write. A request bigger than the buffer (a
// large body) is written through to the connection as it comes.
type reqWriter struct {
	bw      *bufio.Writer // what fasthttp writes to; its flushes land in held
	held    []byte
	c       net.Conn
	through bool // held was too small: what came since went to c
}

func newReqWriter() *reqWriter {
	w := &reqWriter{held: make([]byte, 0, writeBufferSize)}
	w.bw = bufio.NewWriterSize(w, writeBufferSize)
	return w
}

func (w *reqWriter) Write(p []byte) (int, error) {
	if !w.through {
		if len(w.held)+len(p) <= cap(w.held) {
			w.held = append(w.held, p...)
			return len(p), nil
		}
		w.through = true
		if err := w.flush(); err != nil {
			return 0, err
		}
	}
	return w.c.Write(p)
}

// flush writes what is held to the connection.
func (w *reqWriter) flush() error {
	if len(w.held) == 0 {
		return nil
	}
	_, err := w.c.Write(w.held)
	w.held = w.held[:0]
	return err
}

// release readies w for the pool.
func (w *reqWriter) release() {
	w.bw.Reset(w)
	w.held, w.c, w.through = w.held[:0], nil, false
}

// headReader reads the bytes of a response's first read, then the rest
// from the connection.
type headReader struct {
	buf  [512]byte
	head []byte
	r    io.Reader
	more bool // Read went past head, to r

	// exchange's state: the request, how much of it was written, and
	// what the read got
	out        []byte
	wrote, n   int
	werr, rerr error
	step       func(fd uintptr) bool // h.exchangeStep, bound once
}

func newHeadReader() *headReader {
	h := new(headReader)
	h.step = h.exchangeStep
	return h
}

func (h *headReader) Read(p []byte) (int, error) {
	if len(h.head) > 0 {
		n := copy(p, h.head)
		h.head = h.head[n:]
		return n, nil
	}
	h.more = true
	return h.r.Read(p)
}

// headerBlock is the response's header block as it came, when it is
// the first used bytes of the first read and its status line has the
// status fasthttp parsed (not a 100 Continue before the answer).
// Otherwise nil.
func (h *headReader) headerBlock(used, status int) []byte {
	if h.more || used < 16 || used > len(h.buf) {
		return nil
	}
	b := h.buf[:used]
	if !bytes.HasSuffix(b, []byte("\r\n\r\n")) {
		return nil
	}
	// "HTTP/1.1 200 ..."
	sp := bytes.IndexByte(b[:16], ' ')
	if sp < 0 || len(b) < sp+4 {
		return nil
	}
	d := b[sp+1 : sp+4]
	if int(d[0]-'0')*100+int(d[1]-'0')*10+int(d[2]-'0') != status {
		return nil
	}
	return b
}

// exchange writes req on w and reads the first bytes of the answer into
// h.buf, with one write and one read system call: both happen inside
// one RawConn.Read, which readies the poller for the socket before the
// write goes out (so the answer's arrival cannot be missed) and, when
// the write is done, parks the goroutine until the answer is there. It
// returns what c.Write then c.Read would: the same errors, and 0, io.EOF
// for a connection the server closed.
func (h *headReader) exchange(w wire, req []byte) (int, error) {
	h.out, h.wrote, h.n, h.werr, h.rerr = req, 0, 0, nil, nil
	defer func() { h.out, h.werr, h.rerr = nil, nil, nil }()
	err := w.raw.Read(h.step)
	switch {
	case h.werr != nil:
		return 0, opError(w.c, "write", os.NewSyscallError("write", h.werr))
	case h.wrote < len(h.out):
		// the socket's buffer took part of it (or the wait failed before
		// the write): the rest goes through the poller as usual
		if err == nil {
			if _, err = w.c.Write(h.out[h.wrote:]); err == nil {
				return w.c.Read(h.buf[:])
			}
		}
		return 0, rawReadError(err)
	case err != nil:
		return 0, rawReadError(err)
	case h.rerr != nil:
		return 0, opError(w.c, "read", os.NewSyscallError("read", h.rerr))
	case h.n == 0:
		return 0, io.EOF
	}
	return h.n, nil
}

// exchangeStep is called by RawConn.Read: first to write the request
// (then it asks to wait for readability), then each time the socket is
// readable, until a read gets something other than EAGAIN.
func (h *headReader) exchangeStep(fd uintptr) bool {
	if h.wrote < len(h.out) {
		for h.wrote < len(h.out) {
			n, err := syscall.Write(int(fd), h.out[h.wrote:])
			if n > 0 {
				h.wrote += n
			}
			switch {
			case err == syscall.EINTR:
			case err == syscall.EAGAIN:
				return true // exchange writes the rest
			case err != nil:
				h.werr = err
				return true
			}
		}
		return false // the answer cannot be there yet: wait for it
	}
	for {
		n, err := syscall.Read(int(fd), h.buf[:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return false
		case err != nil:
			h.rerr = err
		default:
			h.n = n
		}
		return true
	}
}

// opError is the error net.Conn's Read or Write returns for err.
func opError(c net.Conn, op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// rawReadError names a failed wait (a deadline, a closed connection) as
// c.Read would, not "raw-read".
func rawReadError(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "raw-read" {
		e := *oe
		e.Op = "read"
		return &e
	}
	return err
}
