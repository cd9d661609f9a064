// Package httpclient is the HTTP client of one virtual user: its own
// connections and cookie jar, redirects, timeouts, and a response that the
// script can read.
//
// Two implementations sit behind one interface. The default is built on
// fasthttp, measured at about twice the request rate of net/http on one
// core for HTTP/1.1 keep-alive traffic (see bench/). net/http is kept
// behind Options.HTTP2 for HTTP/2, proxies from the environment, and
// anything fasthttp does not speak.
package httpclient

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"
)

// Header is one request header field.
type Header struct {
	Key, Value string
}

// Request is one HTTP request of a virtual user.
type Request struct {
	Method string
	// URL is absolute: scheme, host and path.
	URL    string
	Header []Header
	Body   []byte
	// Timeout bounds the whole exchange, redirects included; zero means
	// Options.Timeout.
	Timeout         time.Duration
	FollowRedirects bool
	// Cookies are sent with this request (and its redirects to the same
	// origin) besides the jar's, replacing jar cookies of the same name;
	// they are not stored. An explicit Cookie header replaces both.
	Cookies []Header
	// TLS, when set, replaces the client's TLS settings for this request.
	TLS *TLSConfig
	// Start is when the caller began the request, if it read the clock
	// already: Elapsed and the timeout count from it. Zero: from when
	// Do is called.
	Start time.Time
}

// Response is what came back. Body is decoded (Content-Encoding removed).
type Response struct {
	Status  int
	Proto   string
	URL     string // the final URL, after redirects
	Body    []byte
	Elapsed time.Duration
	// Truncated is set when the body was longer than Options.MaxBody:
	// Body holds its first MaxBody bytes (or none, for br and zstd
	// bodies over the cap).
	Truncated bool

	header http.Header
	raw    []byte // fasthttp's raw header block, parsed on first use
}

// Header returns the response header fields. It is parsed lazily because
// most load-test tasks never look at it.
func (r *Response) Header() http.Header {
	if r.header == nil && r.raw != nil {
		r.header = parseHeader(r.raw)
		r.raw = nil
	}
	if r.header == nil {
		r.header = http.Header{}
	}
	return r.header
}

func parseHeader(raw []byte) http.Header {
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw)))
	if _, err := tp.ReadLine(); err != nil { // status line
		return http.Header{}
	}
	h, err := tp.ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return http.Header{}
	}
	return http.Header(h)
}

// Client is the HTTP client of one virtual user. It is not safe for
// concurrent use: a user makes one request at a time.
type Client interface {
	Do(ctx context.Context, req *Request) (*Response, error)
	// CloseIdle closes idle connections; the user is going away.
	CloseIdle()
	// Jar is the user's cookie jar.
	Jar() *Jar
}

// Options configures a Client.
type Options struct {
	// HTTP2 selects net/http, which negotiates HTTP/2 where offered and
	// honours HTTP_PROXY/HTTPS_PROXY.
	HTTP2              bool
	InsecureSkipVerify bool
	UserAgent          string
	// Timeout is the default per-request timeout (Locust's FastHttpUser
	// uses 60 s).
	Timeout time.Duration
	// MaxBody is the most bytes of a response body kept, after decoding
	// (0: DefaultMaxBody; NoBodyLimit; DiscardBody). The rest is read and
	// dropped, and the response is marked Truncated.
	MaxBody int64
}

// DefaultTimeout is used when Options.Timeout is zero.
const DefaultTimeout = 60 * time.Second

// maxRedirects matches net/http's default policy.
const maxRedirects = 10

// New returns a client for one virtual user.
func New(o Options) Client {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.HTTP2 {
		return newStdClient(o)
	}
	return newFastClient(o)
}

// ErrTooManyRedirects is returned when a redirect chain is longer than 10.
var ErrTooManyRedirects = errors.New("stopped after 10 redirects")

// ErrControlCharInURL is returned for a URL with a control character.
var ErrControlCharInURL = errors.New("invalid control character in URL")

func isCTL(r rune) bool { return r < ' ' || r == 0x7f }

// TimeoutError reports a request that did not finish in time.
type TimeoutError struct{ After time.Duration }

func (e *TimeoutError) Error() string { return fmt.Sprintf("timeout after %s", e.After) }

// isRedirect reports whether status asks the client to follow Location.
func isRedirect(status int) bool {
	switch status {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// redirectMethod is the method of the follow-up request and whether the
// body goes with it, as browsers and net/http do it: 307/308 repeat the
// request; 301/302/303 turn it into a GET (a HEAD stays a HEAD) without a
// body.
func redirectMethod(status int, method string) (string, bool) {
	if status == 307 || status == 308 {
		return method, true
	}
	if method == http.MethodGet || method == http.MethodHead {
		return method, false
	}
	return http.MethodGet, false
}

func resolve(base, location string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	l, err := url.Parse(location)
	if err != nil {
		return "", fmt.Errorf("bad redirect location %q: %w", location, err)
	}
	return b.ResolveReference(l).String(), nil
}

// sameOrigin reports whether two absolute URLs have the same scheme, host
// and port.
func sameOrigin(a, b string) bool {
	ka, _, _, errA := origin(a)
	kb, _, _, errB := origin(b)
	return errA == nil && errB == nil && strings.EqualFold(ka, kb)
}

// withoutCredentials is h without the fields that carry credentials.
func withoutCredentials(h []Header) []Header {
	var out []Header
	for _, x := range h {
		if !strings.EqualFold(x.Key, "Authorization") && !strings.EqualFold(x.Key, "Cookie") && !strings.EqualFold(x.Key, "Proxy-Authorization") {
			out = append(out, x)
		}
	}
	return out
}
