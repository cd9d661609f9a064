package script

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/stats"
	"go.starlark.net/lib/json"
	"go.starlark.net/starlark"
)

// userValue is the `u` passed to tasks.
type userValue struct {
	vu    *VU
	http  *httpValue
	state *starlark.Dict
	stop  *starlark.Builtin
	// made on first use, as stop
	interrupt, sleep *starlark.Builtin
}

var _ starlark.HasAttrs = (*userValue)(nil)

func (u *userValue) String() string        { return fmt.Sprintf("<user %s #%d>", u.vu.Class.Name, u.vu.ID) }
func (u *userValue) Type() string          { return "user_instance" }
func (u *userValue) Freeze()               {}
func (u *userValue) Truth() starlark.Bool  { return true }
func (u *userValue) Hash() (uint32, error) { return uint32(u.vu.ID), nil }
func (u *userValue) AttrNames() []string {
	return []string{"host", "http", "id", "interrupt", "name", "sleep", "state", "stop"}
}

func (u *userValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "id":
		return starlark.MakeInt(u.vu.ID), nil
	case "name":
		return starlark.String(u.vu.Class.Name), nil
	case "host":
		return starlark.String(u.vu.host), nil
	case "http":
		return u.http, nil
	case "state":
		if u.state == nil { // created on first use: most users never need one
			u.state = starlark.NewDict(4)
		}
		return u.state, nil
	case "stop":
		if u.stop == nil {
			u.stop = starlark.NewBuiltin("stop", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
				return nil, errUserStop
			})
		}
		return u.stop, nil
	case "interrupt":
		if u.interrupt == nil {
			u.interrupt = starlark.NewBuiltin("interrupt", u.vu.interruptBuiltin)
		}
		return u.interrupt, nil
	case "sleep":
		if u.sleep == nil {
			u.sleep = starlark.NewBuiltin("sleep", u.vu.sleepBuiltin)
		}
		return u.sleep, nil
	}
	return nil, nil
}

// httpValue is `u.http`.
type httpValue struct {
	vu      *VU
	methods [len(httpMethods)]*starlark.Builtin
}

var httpMethods = [...]string{"get", "post", "put", "patch", "delete", "head", "options", "request"}

var _ starlark.HasAttrs = (*httpValue)(nil)

func (h *httpValue) String() string        { return "<http client>" }
func (h *httpValue) Type() string          { return "http" }
func (h *httpValue) Freeze()               {}
func (h *httpValue) Truth() starlark.Bool  { return true }
func (h *httpValue) Hash() (uint32, error) { return 0, errors.New("unhashable: http") }
func (h *httpValue) AttrNames() []string   { return append([]string(nil), httpMethods[:]...) }

func (h *httpValue) Attr(name string) (starlark.Value, error) {
	for i, m := range httpMethods {
		if m != name {
			continue
		}
		if h.methods[i] == nil { // bound once per user, not per call
			method := strings.ToUpper(m)
			h.methods[i] = starlark.NewBuiltin(m, func(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
				return h.do(method, b, args, kwargs)
			})
		}
		return h.methods[i], nil
	}
	return nil, nil
}

func (h *httpValue) do(method string, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	v := h.vu
	// UnpackArgs' targets live in one struct: as separate locals each
	// escaped to the heap, 8 allocations per request.
	a := &struct {
		path                                      string
		params, headers, jsonBody, data, name, tm starlark.Value
		allowRedirects                            bool
	}{allowRedirects: true}
	if method == "REQUEST" {
		if len(args) < 1 {
			return nil, fmt.Errorf("request: missing method argument")
		}
		m, ok := starlark.AsString(args[0])
		if !ok || m == "" {
			return nil, fmt.Errorf("request: method must be a string, got %s", args[0].Type())
		}
		method, args = strings.ToUpper(m), args[1:]
	}
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &a.path, "params?", &a.params, "headers?", &a.headers,
		"json?", &a.jsonBody, "data?", &a.data, "name?", &a.name, "timeout?", &a.tm, "allow_redirects?", &a.allowRedirects); err != nil {
		return nil, err
	}
	path, params, headers, jsonBody, data, name, tm, allowRedirects := a.path, a.params, a.headers, a.jsonBody, a.data, a.name, a.tm, a.allowRedirects
	if v.interrupted.Load() {
		return nil, errInterrupted
	}
	req := &httpclient.Request{Method: method, FollowRedirects: allowRedirects}
	target := path
	if q, err := encodeParams(params); err != nil {
		return nil, fmt.Errorf("%s: params: %w", b.Name(), err)
	} else if q != "" {
		if strings.Contains(target, "?") {
			target += "&" + q
		} else {
			target += "?" + q
		}
	}
	statName := target
	if isAbsURL(target) {
		req.URL = target
	} else {
		if v.host == "" {
			return nil, fmt.Errorf("%s %s: no host: pass --host, or set host in the script or in user(host=...)", method, target)
		}
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
			statName = target
		}
		req.URL = v.host + target
	}
	if name != nil && name != starlark.None {
		n, ok := starlark.AsString(name)
		if !ok {
			return nil, fmt.Errorf("%s: name must be a string", b.Name())
		}
		statName = n
	}
	if headers != nil && headers != starlark.None {
		d, ok := headers.(*starlark.Dict)
		if !ok {
			return nil, fmt.Errorf("%s: headers must be a dict, got %s", b.Name(), headers.Type())
		}
		for _, kv := range d.Items() {
			k, ok1 := starlark.AsString(kv[0])
			val, ok2 := starlark.AsString(kv[1])
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("%s: header names and values must be strings", b.Name())
			}
			req.Header = append(req.Header, httpclient.Header{Key: k, Value: val})
		}
	}
	switch {
	case jsonBody != nil && jsonBody != starlark.None:
		enc, err := starlark.Call(v.thread, json.Module.Members["encode"], starlark.Tuple{jsonBody}, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: json: %w", b.Name(), err)
		}
		req.Body = []byte(string(enc.(starlark.String)))
		req.Header = addDefaultHeader(req.Header, "Content-Type", "application/json")
	case data != nil && data != starlark.None:
		switch d := data.(type) {
		case starlark.String:
			req.Body = []byte(string(d))
		case starlark.Bytes:
			req.Body = []byte(string(d))
		case *starlark.Dict:
			q, err := encodeParams(d)
			if err != nil {
				return nil, fmt.Errorf("%s: data: %w", b.Name(), err)
			}
			req.Body = []byte(q)
			req.Header = addDefaultHeader(req.Header, "Content-Type", "application/x-www-form-urlencoded")
		default:
			return nil, fmt.Errorf("%s: data must be a string, bytes or dict, got %s", b.Name(), data.Type())
		}
	}
	if tm != nil && tm != starlark.None {
		f, ok := starlark.AsFloat(tm)
		if !ok || f <= 0 {
			return nil, fmt.Errorf("%s: timeout must be a positive number of seconds", b.Name())
		}
		req.Timeout = time.Duration(f * float64(time.Second))
	}
	ctx := v.ctx
	start := time.Now()
	resp, err := v.client.Do(ctx, req)
	elapsed := time.Since(start)
	r := &response{method: method, name: statName, url: req.URL, service: elapsed, lag: v.lag, open: v.open}
	if err != nil {
		r.err = err.Error()
	} else {
		r.resp = resp
		r.service = resp.Elapsed
	}
	v.pending = append(v.pending, r)
	return r, nil
}

func addDefaultHeader(h []httpclient.Header, key, value string) []httpclient.Header {
	for _, x := range h {
		if strings.EqualFold(x.Key, key) {
			return h
		}
	}
	return append(h, httpclient.Header{Key: key, Value: value})
}

func isAbsURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// encodeParams url-encodes a dict of scalars or lists of scalars.
func encodeParams(v starlark.Value) (string, error) {
	if v == nil || v == starlark.None {
		return "", nil
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return "", fmt.Errorf("must be a dict, got %s", v.Type())
	}
	vals := url.Values{}
	for _, kv := range d.Items() {
		k, ok := starlark.AsString(kv[0])
		if !ok {
			return "", fmt.Errorf("keys must be strings, got %s", kv[0].Type())
		}
		if l, ok := kv[1].(*starlark.List); ok {
			for i := 0; i < l.Len(); i++ {
				vals.Add(k, scalarString(l.Index(i)))
			}
			continue
		}
		vals.Add(k, scalarString(kv[1]))
	}
	return vals.Encode(), nil
}

func scalarString(v starlark.Value) string {
	if s, ok := starlark.AsString(v); ok {
		return s
	}
	return v.String()
}

// response is what u.http.* returns. It is recorded when the task (or
// on_start/on_stop) that made it returns, with the verdict the script
// gave: failure() and success() work like Locust's catch_response.
type response struct {
	method, name, url string
	resp              *httpclient.Response
	err               string
	service, lag      time.Duration
	open              bool
	verdict           int8 // 0 default, 1 success, -1 failure
	failMsg           string
	text              starlark.Value
	headers           *headersValue
}

var _ starlark.HasAttrs = (*response)(nil)

func (r *response) String() string {
	return fmt.Sprintf("<response %s %s: %d>", r.method, r.url, r.status())
}
func (r *response) Type() string          { return "response" }
func (r *response) Freeze()               {}
func (r *response) Truth() starlark.Bool  { return starlark.Bool(r.ok()) }
func (r *response) Hash() (uint32, error) { return 0, errors.New("unhashable: response") }
func (r *response) AttrNames() []string {
	return []string{"content", "elapsed", "error", "failure", "headers", "json", "ok", "status_code", "success", "text", "url"}
}

func (r *response) status() int {
	if r.resp == nil {
		return 0
	}
	return r.resp.Status
}

func (r *response) ok() bool { return r.resp != nil && r.resp.Status < 400 }

func (r *response) body() []byte {
	if r.resp == nil {
		return nil
	}
	return r.resp.Body
}

func (r *response) Attr(name string) (starlark.Value, error) {
	switch name {
	case "status_code":
		return starlark.MakeInt(r.status()), nil
	case "ok":
		return starlark.Bool(r.ok()), nil
	case "text":
		if r.text == nil {
			r.text = starlark.String(r.body())
		}
		return r.text, nil
	case "content":
		return starlark.Bytes(r.body()), nil
	case "elapsed":
		return starlark.Float(r.service.Seconds()), nil
	case "url":
		if r.resp != nil {
			return starlark.String(r.resp.URL), nil
		}
		return starlark.String(r.url), nil
	case "error":
		if r.err == "" {
			return starlark.None, nil
		}
		return starlark.String(r.err), nil
	case "headers":
		if r.headers == nil {
			var h http.Header
			if r.resp != nil {
				h = r.resp.Header()
			}
			r.headers = &headersValue{h: h}
		}
		return r.headers, nil
	case "json":
		return starlark.NewBuiltin("json", func(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
				return nil, err
			}
			v, err := starlark.Call(t, json.Module.Members["decode"], starlark.Tuple{starlark.String(r.body())}, nil)
			if err != nil {
				return nil, fmt.Errorf("response of %s %s is not JSON: %v", r.method, r.name, err)
			}
			return v, nil
		}), nil
	case "failure":
		return starlark.NewBuiltin("failure", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var msg string = "marked as failed by the script"
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0, &msg); err != nil {
				return nil, err
			}
			if msg == "" { // an empty message would record a success
				msg = "marked as failed by the script"
			}
			r.verdict, r.failMsg = -1, msg
			return starlark.None, nil
		}), nil
	case "success":
		return starlark.NewBuiltin("success", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
				return nil, err
			}
			r.verdict, r.failMsg = 1, ""
			return starlark.None, nil
		}), nil
	}
	return nil, nil
}

// sample is the stats record of the response, with the script's verdict.
func (r *response) sample() stats.Sample {
	s := stats.Sample{Method: r.method, Name: r.name, Latency: r.service + r.lag, Bytes: int64(len(r.body()))}
	if r.open {
		s.Service = r.service
	}
	switch {
	case r.verdict == 1:
	case r.verdict == -1:
		s.Error = r.failMsg
	case r.err != "":
		s.Error = r.err
	case r.resp.Status >= 400:
		s.Error = "HTTP " + strconv.Itoa(r.resp.Status) + " " + http.StatusText(r.resp.Status)
	}
	return s
}

// headersValue is a case-insensitive, read-only view of response headers.
type headersValue struct{ h http.Header }

var (
	_ starlark.Mapping  = (*headersValue)(nil)
	_ starlark.HasAttrs = (*headersValue)(nil)
)

func (h *headersValue) String() string        { return fmt.Sprintf("<headers %d>", len(h.h)) }
func (h *headersValue) Type() string          { return "headers" }
func (h *headersValue) Freeze()               {}
func (h *headersValue) Truth() starlark.Bool  { return len(h.h) > 0 }
func (h *headersValue) Hash() (uint32, error) { return 0, errors.New("unhashable: headers") }
func (h *headersValue) Len() int              { return len(h.h) }

func (h *headersValue) Get(k starlark.Value) (starlark.Value, bool, error) {
	s, ok := starlark.AsString(k)
	if !ok {
		return nil, false, fmt.Errorf("header name must be a string, got %s", k.Type())
	}
	vals := h.h.Values(s)
	if len(vals) == 0 {
		return nil, false, nil
	}
	return starlark.String(strings.Join(vals, ", ")), true, nil
}

func (h *headersValue) keys() []string {
	ks := make([]string, 0, len(h.h))
	for k := range h.h {
		ks = append(ks, strings.ToLower(k))
	}
	sort.Strings(ks)
	return ks
}

func (h *headersValue) AttrNames() []string { return []string{"get", "items", "keys"} }

func (h *headersValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "get":
		return starlark.NewBuiltin("get", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var k starlark.Value
			var def starlark.Value = starlark.None
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &k, &def); err != nil {
				return nil, err
			}
			v, found, err := h.Get(k)
			if err != nil || !found {
				return def, err
			}
			return v, nil
		}), nil
	case "keys":
		return starlark.NewBuiltin("keys", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			var l []starlark.Value
			for _, k := range h.keys() {
				l = append(l, starlark.String(k))
			}
			return starlark.NewList(l), nil
		}), nil
	case "items":
		return starlark.NewBuiltin("items", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			var l []starlark.Value
			for _, k := range h.keys() {
				v, _, _ := h.Get(starlark.String(k))
				l = append(l, starlark.Tuple{starlark.String(k), v})
			}
			return starlark.NewList(l), nil
		}), nil
	}
	return nil, nil
}
