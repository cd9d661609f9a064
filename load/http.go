package load

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/stampede-load/stampede/internal/httpclient"
)

// Header is an HTTP header.
type Header = http.Header

// Option changes one request.
type Option func(*request)

type request struct {
	name string
	req  httpclient.Request
	err  error
}

// Name records the request under name instead of its path (the script's
// name=), e.g. "/item?id=[id]" for /item?id=1, /item?id=2, ...
func Name(name string) Option { return func(r *request) { r.name = name } }

// WithHeader adds a header field to the request.
func WithHeader(key, value string) Option {
	return func(r *request) {
		switch {
		case !httpguts.ValidHeaderFieldName(key):
			r.err = fmt.Errorf("%q is not a valid header name", key)
		case !httpguts.ValidHeaderFieldValue(value):
			// the value is not shown: it may be a secret
			r.err = fmt.Errorf("the value of header %s contains a control character (line break?)", key)
		default:
			r.req.Header = append(r.req.Header, httpclient.Header{Key: key, Value: value})
		}
	}
}

// JSON sends v encoded as JSON, with Content-Type application/json (the
// script's json=).
func JSON(v any) Option {
	return func(r *request) {
		b, err := json.Marshal(v)
		if err != nil {
			r.err = fmt.Errorf("json: %w", err)
			return
		}
		r.req.Body = b
		r.req.Header = append(r.req.Header, httpclient.Header{Key: "Content-Type", Value: "application/json"})
	}
}

// Timeout bounds the whole exchange, redirects included (default
// --request-timeout).
func Timeout(d time.Duration) Option {
	return func(r *request) {
		if d <= 0 {
			r.err = errors.New("timeout must be positive")
		}
		r.req.Timeout = d
	}
}

// NoRedirects returns a redirect as it is instead of following it (the
// script's allow_redirects=False).
func NoRedirects() Option { return func(r *request) { r.req.FollowRedirects = false } }

// Get requests path (relative to the host, or an absolute URL) with GET.
func (u *User) Get(path string, opts ...Option) Response {
	return u.Request(http.MethodGet, path, nil, opts...)
}

// Post sends body to path with POST.
func (u *User) Post(path string, body []byte, opts ...Option) Response {
	return u.Request(http.MethodPost, path, body, opts...)
}

// Request makes a request with any method. A request that cannot be made
// (no host, a bad option) is counted as an exception, as a script error
// is, and its Response's Err says why.
func (u *User) Request(method, path string, body []byte, opts ...Option) Response {
	r := request{req: httpclient.Request{Method: method, Body: body, FollowRedirects: true}}
	for _, o := range opts {
		o(&r)
	}
	if r.err == nil && !httpguts.ValidHeaderFieldName(method) {
		r.err = fmt.Errorf("%q is not a valid HTTP method", method)
	}
	if r.err != nil {
		err := fmt.Errorf("%s %s: %w", method, path, r.err)
		u.vu.Exception(err)
		return Response{err: err}
	}
	resp, err := u.vu.Request(&r.req, path, r.name)
	if err != nil {
		if !errors.Is(err, ErrStopping) {
			u.vu.Exception(err)
		}
		return Response{err: err}
	}
	return Response{r: resp}
}
