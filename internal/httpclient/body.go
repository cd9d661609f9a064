package httpclient

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"
)

// DefaultMaxBody is the most bytes of one response body a user keeps
// (--max-body), decoded or not: a 100 MB download or a decompression
// bomb then costs a user this much memory, not the body's size. Bytes
// beyond it are read from the connection and dropped, so the connection
// is reused and the response time still covers the whole body.
const DefaultMaxBody = 10 << 20

// NoBodyLimit as Options.MaxBody keeps every body whole (--max-body -1).
const NoBodyLimit = -1

// DiscardBody as Options.MaxBody keeps no body at all (--max-body 0): it
// is read and dropped (scripts that check nothing but the status).
const DiscardBody = -2

// limit is the cap as a byte count: -1 for none.
func (o Options) limit() int64 {
	switch {
	case o.MaxBody == 0:
		return DefaultMaxBody
	case o.MaxBody == DiscardBody:
		return 0
	case o.MaxBody < 0:
		return -1
	}
	return o.MaxBody
}

// readBody reads the body that follows a response header from br,
// keeping at most max bytes (max < 0: all) after head in one allocation.
// untilClose reports a body delimited by the end of the connection,
// which therefore cannot be reused.
func readBody(br *bufio.Reader, head []byte, contentLength int, max int64) (buf []byte, truncated, untilClose bool, err error) {
	switch {
	case contentLength >= 0:
		keep := int64(contentLength)
		if max >= 0 && keep > max {
			keep, truncated = max, true
		}
		buf = make([]byte, len(head)+int(keep))
		copy(buf, head)
		if _, err = io.ReadFull(br, buf[len(head):]); err != nil {
			return nil, false, false, err
		}
		if truncated {
			_, err = br.Discard(contentLength - int(keep))
		}
		return buf, truncated, false, err
	case contentLength == -1:
		buf, truncated, err = readChunked(br, append(make([]byte, 0, len(head)+4096), head...), len(head), max)
		return buf, truncated, false, err
	}
	// identity: the body runs until the server closes the connection
	buf = append(make([]byte, 0, len(head)+4096), head...)
	w := &capWriter{b: buf, max: max, base: len(head)}
	_, err = io.Copy(w, br)
	return w.b, w.truncated, true, err
}

// capWriter appends up to max bytes (after base) and drops the rest.
type capWriter struct {
	b         []byte
	base      int
	max       int64
	truncated bool
}

func (w *capWriter) Write(p []byte) (int, error) {
	room := len(p)
	if w.max >= 0 {
		room = int(min(int64(room), max(0, w.max-int64(len(w.b)-w.base))))
	}
	if room < len(p) {
		w.truncated = true
	}
	w.b = append(w.b, p[:room]...)
	return len(p), nil
}

// ReadFrom reads straight into the kept bytes (io.Copy would allocate a
// 32 KB buffer per response), then drops what comes past the cap.
func (w *capWriter) ReadFrom(r io.Reader) (n int64, err error) {
	for {
		room := -1
		if w.max >= 0 {
			room = int(max(0, w.max-int64(len(w.b)-w.base)))
		}
		if room == 0 {
			m, err := io.Copy(io.Discard, r)
			w.truncated = w.truncated || m > 0
			return n + m, err
		}
		if len(w.b) == cap(w.b) { // double (append grows big slices by 1.25x)
			more := max(len(w.b), 512)
			if room > 0 {
				more = min(more, room)
			}
			w.b = slices.Grow(w.b, more)
		}
		end := cap(w.b)
		if room > 0 {
			end = min(end, len(w.b)+room)
		}
		k, err := r.Read(w.b[len(w.b):end])
		w.b = w.b[:len(w.b)+k]
		n += int64(k)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// readChunked reads a chunked body into buf, keeping at most max bytes
// after base; trailers are read and dropped.
func readChunked(br *bufio.Reader, buf []byte, base int, max int64) ([]byte, bool, error) {
	w := &capWriter{b: buf, base: base, max: max}
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return nil, false, fmt.Errorf("reading a chunk size: %w", err)
		}
		size, ok := chunkSize(line)
		if !ok {
			return nil, false, fmt.Errorf("bad chunk size line %q", truncate(line, 40))
		}
		if size == 0 {
			for { // trailer fields, up to an empty line
				l, err := br.ReadSlice('\n')
				if err != nil {
					return nil, false, fmt.Errorf("reading chunked trailers: %w", err)
				}
				if len(bytes.TrimRight(l, "\r\n")) == 0 {
					return w.b, w.truncated, nil
				}
			}
		}
		for size > 0 { // io.CopyN would allocate a 32 KB buffer per chunk
			if br.Buffered() == 0 {
				if _, err := br.Peek(1); err != nil {
					return nil, false, fmt.Errorf("reading a chunk: %w", err)
				}
			}
			n := int(min(size, int64(br.Buffered())))
			p, _ := br.Peek(n)
			w.Write(p)
			br.Discard(n)
			size -= int64(n)
		}
		if crlf, err := br.ReadSlice('\n'); err != nil || len(bytes.TrimRight(crlf, "\r\n")) != 0 {
			return nil, false, errors.New("no CRLF after a chunk")
		}
	}
}

// chunkSize parses a chunk-size line (hex digits, then optional
// extensions after ';').
func chunkSize(line []byte) (int64, bool) {
	var n int64
	digits := 0
	for _, c := range line {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		case c == ';' || c == '\r' || c == '\n' || c == ' ' || c == '\t':
			return n, digits > 0
		default:
			return 0, false
		}
		if digits++; digits > 15 {
			return 0, false // > 2^60: not a real chunk
		}
		n = n<<4 | int64(d)
	}
	return n, digits > 0
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

// decodeBody undoes a Content-Encoding, inflating at most max bytes
// (max < 0: all), so a small compressed body cannot expand into
// gigabytes. gzip and deflate keep the first max bytes of a body over
// the cap; br and zstd keep none of it.
func decodeBody(encoding string, b []byte, max int64) (out []byte, truncated bool, err error) {
	var r io.Reader
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "gzip", "x-gzip":
		if r, err = gzip.NewReader(bytes.NewReader(b)); err != nil {
			return nil, false, err
		}
	case "deflate":
		if r, err = zlib.NewReader(bytes.NewReader(b)); err != nil {
			return nil, false, err
		}
	case "br", "zstd":
		resp := fasthttp.AcquireResponse()
		defer fasthttp.ReleaseResponse(resp)
		resp.SetBodyRaw(b)
		resp.Header.SetContentEncoding(strings.ToLower(strings.TrimSpace(encoding)))
		limit := 0
		if max >= 0 {
			limit = int(max)
		}
		if max == 0 {
			return nil, true, nil
		}
		dec, err := resp.BodyUncompressedWithLimit(limit)
		if errors.Is(err, fasthttp.ErrBodyTooLarge) {
			return nil, true, nil
		}
		return append([]byte(nil), dec...), false, err
	case "identity":
		return b, false, nil
	default:
		return nil, false, fmt.Errorf("unsupported Content-Encoding %q", encoding)
	}
	w := &capWriter{max: max}
	if max >= 0 {
		// read one byte past the cap to know whether there was more,
		// and stop inflating there
		r = io.LimitReader(r, max+1)
	}
	if _, err := io.Copy(w, r); err != nil {
		return nil, false, err
	}
	return w.b, w.truncated, nil
}
