package script

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/redact"
	"go.starlark.net/lib/json"
	"go.starlark.net/starlark"
	"golang.org/x/net/http/httpguts"
)

// requestPool holds the requests u.http.* hands the client: one is in use
// per user at a time, for the length of the call.
var requestPool = sync.Pool{New: func() any { return new(httpclient.Request) }}

// maxStatName bounds a name a script gives a statistics row (name=,
// r.rename, u.record): names travel to the master, the UI and every report.
const maxStatName = 1024

// do makes one request of u.http.<fn> and returns its response, which is
// recorded when the task returns.
func (h *httpValue) do(method string, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	v := h.vu
	fn := b.Name()
	var a reqArgs
	if err := a.unpack(fn, args, kwargs); err != nil {
		return nil, err
	}
	if a.method != "" {
		method = a.method
	}
	if v.interrupted.Load() {
		return nil, errInterrupted
	}
	req := requestPool.Get().(*httpclient.Request)
	defer func() {
		*req = httpclient.Request{} // holds no body or header for the pool
		requestPool.Put(req)
	}()
	*req = httpclient.Request{Method: method, FollowRedirects: a.kw[kwAllowRedirects] == nil || bool(a.kw[kwAllowRedirects].Truth())}
	target := a.path
	if q, err := encodeParams(a.kw[kwParams]); err != nil {
		return nil, fmt.Errorf("%s: params: %w", fn, err)
	} else if q != "" {
		if strings.Contains(target, "?") {
			target += "&" + q
		} else {
			target += "?" + q
		}
	}
	var statName string
	var err error
	if req.URL, statName, err = v.resolve(method, target); err != nil {
		return nil, err
	}
	if name := a.kw[kwName]; name != nil {
		n, err := statNameArg(fn+": name", name)
		if err != nil {
			return nil, err
		}
		statName = n
	}
	if err := h.setHeaders(fn, req, a.kw[kwHeaders]); err != nil {
		return nil, err
	}
	if err := setBody(v.thread, fn, req, &a); err != nil {
		return nil, err
	}
	dig, err := setAuth(fn, req, a.kw[kwAuth])
	if err != nil {
		return nil, err
	}
	if err := v.setCookiesAndTLS(fn, req, &a); err != nil {
		return nil, err
	}
	if tm := a.kw[kwTimeout]; tm != nil {
		f, ok := starlark.AsFloat(tm)
		if !ok || !(f > 0) || f > maxTimeoutSeconds {
			return nil, fmt.Errorf("%s: timeout must be a positive number of seconds (at most %d)", fn, maxTimeoutSeconds)
		}
		req.Timeout = time.Duration(f * float64(time.Second))
	}
	return v.send(method, statName, req, dig), nil
}

// send makes the request and keeps its response, to be recorded when the
// task returns with the verdict the task gave it.
func (v *VU) send(method, statName string, req *httpclient.Request, dig *digestAuth) *response {
	start := time.Now()
	req.Start = start // the client times the request from here: one clock reading fewer
	var resp *httpclient.Response
	var authErr, err error
	if dig != nil {
		resp, authErr, err = v.doDigest(req, dig)
	} else {
		resp, err = v.client.Do(v.ctx, req)
	}
	r := &response{method: method, name: statName, url: req.URL, lag: v.lag, open: v.open}
	switch {
	case err != nil:
		r.err, r.service = err.Error(), time.Since(start)
	case authErr != nil:
		r.resp, r.err, r.service = resp, authErr.Error(), time.Since(start)
	case dig != nil: // a digest exchange is timed as a whole: both round trips
		r.resp, r.service = resp, time.Since(start)
	default:
		r.resp, r.service = resp, resp.Elapsed
	}
	v.pending = append(v.pending, r)
	return r
}

// resolve makes a request target (a path or an absolute URL) the URL to
// request, and the name its statistics get by default.
func (v *VU) resolve(method, target string) (url, statName string, err error) {
	target = requote(target)
	if isAbsURL(target) {
		return target, redact.URL(target), nil // a password in the URL would reach every output
	}
	if v.host == "" {
		return "", "", fmt.Errorf("%s %s: no host: pass --host, or set host in the script or in user(host=...)", method, target)
	}
	if !strings.HasPrefix(target, "/") {
		target = "/" + target
	}
	if target != v.lastPath { // a user requesting the same path again reuses its URL
		v.lastPath, v.lastURL = target, v.host+target
	}
	return v.lastURL, target, nil
}

// maxTimeoutSeconds keeps a timeout inside time.Duration.
const maxTimeoutSeconds = 24 * 3600

// statNameArg checks a statistics name given by the script.
func statNameArg(what string, v starlark.Value) (string, error) {
	n, ok := starlark.AsString(v)
	if !ok {
		return "", fmt.Errorf("%s must be a string, got %s", what, v.Type())
	}
	if n == "" || len(n) > maxStatName {
		return "", fmt.Errorf("%s must be 1 to %d bytes long, got %d", what, maxStatName, len(n))
	}
	return n, nil
}

// setHeaders puts the user's default headers (u.http.headers) and the
// request's headers on req; a request header replaces a default of the
// same name, and a request header set to None removes it (as requests
// merges a session's headers).
func (h *httpValue) setHeaders(fn string, req *httpclient.Request, hv starlark.Value) error {
	var removed []string
	if hv != nil {
		d, ok := hv.(*starlark.Dict)
		if !ok {
			return fmt.Errorf("%s: headers must be a dict, got %s", fn, hv.Type())
		}
		for _, kv := range d.Items() {
			if kv[1] == starlark.None {
				k, ok := starlark.AsString(kv[0])
				if !ok {
					return fmt.Errorf("%s: header names must be strings, got %s", fn, kv[0].Type())
				}
				removed = append(removed, k)
				continue
			}
			k, val, err := headerPair(fn, kv)
			if err != nil {
				return err
			}
			req.Header = append(req.Header, httpclient.Header{Key: k, Value: val})
		}
	}
	if h.headers == nil || h.headers.Len() == 0 {
		return nil
	}
	given := len(req.Header)
	for _, kv := range h.headers.Items() {
		k, val, err := headerPair("u.http.headers", kv)
		if err != nil {
			return err
		}
		if hasHeader(req.Header[:given], k) || containsFold(removed, k) {
			continue
		}
		req.Header = append(req.Header, httpclient.Header{Key: k, Value: val})
	}
	return nil
}

// headerPair checks one header: a header with a line break in it would
// let a value inject headers or a second request into the connection.
func headerPair(where string, kv starlark.Tuple) (string, string, error) {
	k, ok1 := starlark.AsString(kv[0])
	val, ok2 := starlark.AsString(kv[1])
	if !ok1 || !ok2 {
		return "", "", fmt.Errorf("%s: header names and values must be strings", where)
	}
	if !httpguts.ValidHeaderFieldName(k) {
		return "", "", fmt.Errorf("%s: %q is not a valid header name", where, k)
	}
	if !httpguts.ValidHeaderFieldValue(val) {
		// the value is not shown: it may be a secret
		return "", "", fmt.Errorf("%s: the value of header %s contains a control character (line break?)", where, k)
	}
	return k, val, nil
}

func hasHeader(h []httpclient.Header, key string) bool {
	for _, x := range h {
		if strings.EqualFold(x.Key, key) {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// setHeader sets key on h, replacing any field of that name.
func setHeader(h []httpclient.Header, key, value string) []httpclient.Header {
	out := h[:0]
	for _, x := range h {
		if !strings.EqualFold(x.Key, key) {
			out = append(out, x)
		}
	}
	return append(out, httpclient.Header{Key: key, Value: value})
}

func addDefaultHeader(h []httpclient.Header, key, value string) []httpclient.Header {
	if hasHeader(h, key) {
		return h
	}
	return append(h, httpclient.Header{Key: key, Value: value})
}

// setBody encodes json=, data= and files= as requests does: files= makes
// a multipart/form-data body whose first parts are data='s fields; a dict
// data= is form-encoded; a string or bytes data= is sent as is.
func setBody(t *starlark.Thread, fn string, req *httpclient.Request, a *reqArgs) error {
	jsonBody, data, files := a.kw[kwJSON], a.kw[kwData], a.kw[kwFiles]
	if jsonBody != nil && (data != nil || files != nil) {
		return fmt.Errorf("%s: json= cannot be combined with data= or files=", fn)
	}
	switch {
	case files != nil:
		body, ctype, err := encodeMultipart(files, data)
		if err != nil {
			return fmt.Errorf("%s: %w", fn, err)
		}
		req.Body = body
		req.Header = addDefaultHeader(req.Header, "Content-Type", ctype)
	case jsonBody != nil:
		enc, err := starlark.Call(t, json.Module.Members["encode"], starlark.Tuple{jsonBody}, nil)
		if err != nil {
			return fmt.Errorf("%s: json: %w", fn, err)
		}
		req.Body = []byte(string(enc.(starlark.String)))
		req.Header = addDefaultHeader(req.Header, "Content-Type", "application/json")
	case data != nil:
		switch d := data.(type) {
		case starlark.String:
			req.Body = []byte(string(d))
		case starlark.Bytes:
			req.Body = []byte(string(d))
		case *starlark.Dict:
			q, err := encodeParams(d)
			if err != nil {
				return fmt.Errorf("%s: data: %w", fn, err)
			}
			req.Body = []byte(q)
			req.Header = addDefaultHeader(req.Header, "Content-Type", "application/x-www-form-urlencoded")
		default:
			return fmt.Errorf("%s: data must be a string, bytes or dict, got %s", fn, data.Type())
		}
	}
	return nil
}

// requote percent-encodes the bytes a URL may not hold as they are (a
// space, a quote, non-ASCII, control characters), as requests'
// requote_uri does: both clients then send the same request line, where
// the fasthttp one would send a space as is. '%' is kept, so an encoded
// URL is unchanged.
func requote(s string) string {
	i := 0
	for i < len(s) && uriSafe(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, i, len(s)+16)
	copy(b, s)
	for ; i < len(s); i++ {
		if c := s[i]; uriSafe(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

func uriSafe(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("-._~!#$%&'()*+,/:;=?@[]", c) >= 0
}

func isAbsURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// encodeParams url-encodes a dict of scalars or lists of scalars in the
// dict's order, as requests does (url.Values would sort the keys): a
// server or a signature may depend on the order the script wrote.
func encodeParams(v starlark.Value) (string, error) {
	if v == nil || v == starlark.None {
		return "", nil
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return "", fmt.Errorf("must be a dict, got %s", v.Type())
	}
	var b strings.Builder
	err := eachField(d, func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(v))
	})
	return b.String(), err
}

// eachField calls f for each key and value of a dict of scalars or lists
// of scalars; a list repeats its key.
func eachField(d *starlark.Dict, f func(k, v string)) error {
	for _, kv := range d.Items() {
		k, ok := starlark.AsString(kv[0])
		if !ok {
			return fmt.Errorf("keys must be strings, got %s", kv[0].Type())
		}
		if l, ok := kv[1].(*starlark.List); ok {
			for i := 0; i < l.Len(); i++ {
				f(k, queryString(l.Index(i)))
			}
			continue
		}
		f(k, queryString(kv[1]))
	}
	return nil
}
