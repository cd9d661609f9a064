package script

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/redact"
	"github.com/stampede-load/stampede/internal/stats"
	"go.starlark.net/lib/json"
	"go.starlark.net/starlark"
)

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
	return fmt.Sprintf("<response %s %s: %d>", r.method, redact.URL(r.url), r.status())
}
func (r *response) Type() string          { return "response" }
func (r *response) Freeze()               {}
func (r *response) Truth() starlark.Bool  { return starlark.Bool(r.ok()) }
func (r *response) Hash() (uint32, error) { return 0, errors.New("unhashable: response") }
func (r *response) AttrNames() []string {
	return []string{"content", "elapsed", "error", "failure", "headers", "json", "ok", "rename", "status_code", "success", "text", "url"}
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
	case "rename":
		return starlark.NewBuiltin("rename", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var name starlark.Value
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &name); err != nil {
				return nil, err
			}
			n, err := statNameArg("rename: name", name)
			if err != nil {
				return nil, err
			}
			r.name = n
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
	if r.resp != nil {
		s.Truncated = r.resp.Truncated
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
		return starlark.NewBuiltin("get", mappingGet(h)), nil
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

// mappingGet is m.get(key, default=None), as a dict's: r.headers.get and
// u.http.cookies.get.
func mappingGet(m starlark.Mapping) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var k starlark.Value
		var def starlark.Value = starlark.None
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &k, &def); err != nil {
			return nil, err
		}
		v, found, err := m.Get(k)
		if err != nil || !found {
			return def, err
		}
		return v, nil
	}
}
