package script

import (
	"errors"
	"fmt"
	"strings"

	"go.starlark.net/starlark"
)

// userValue is the `u` passed to tasks.
type userValue struct {
	vu       *VU
	http     *httpValue
	state    *starlark.Dict
	stop     *starlark.Builtin
	stopTest *starlark.Builtin
	// made on first use, as stop
	interrupt, sleep, record *starlark.Builtin
}

var _ starlark.HasAttrs = (*userValue)(nil)

func (u *userValue) String() string        { return fmt.Sprintf("<user %s #%d>", u.vu.Class.Name, u.vu.ID) }
func (u *userValue) Type() string          { return "user_instance" }
func (u *userValue) Freeze()               {}
func (u *userValue) Truth() starlark.Bool  { return true }
func (u *userValue) Hash() (uint32, error) { return uint32(u.vu.ID), nil }
func (u *userValue) AttrNames() []string {
	return []string{"host", "http", "id", "interrupt", "name", "record", "setup_data", "sleep", "state", "stop", "stop_test"}
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
	case "record":
		if u.record == nil {
			u.record = starlark.NewBuiltin("record", u.vu.record)
		}
		return u.record, nil
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
	case "stop_test":
		if u.stopTest == nil {
			u.stopTest = starlark.NewBuiltin("stop_test", u.vu.stopTestBuiltin)
		}
		return u.stopTest, nil
	case "setup_data":
		return u.vu.setupData.Value(), nil
	}
	return nil, nil
}

// httpValue is `u.http`.
type httpValue struct {
	vu      *VU
	methods [len(httpMethods)]*starlark.Builtin
	headers *starlark.Dict // u.http.headers, made on first use
	cookies *cookiesValue  // u.http.cookies, made on first use
}

var httpMethods = [...]string{"get", "post", "put", "patch", "delete", "head", "options", "request"}

var _ starlark.HasAttrs = (*httpValue)(nil)

func (h *httpValue) String() string        { return "<http client>" }
func (h *httpValue) Type() string          { return "http" }
func (h *httpValue) Freeze()               {}
func (h *httpValue) Truth() starlark.Bool  { return true }
func (h *httpValue) Hash() (uint32, error) { return 0, errors.New("unhashable: http") }
func (h *httpValue) AttrNames() []string {
	return append([]string{"cookies", "headers"}, httpMethods[:]...)
}

func (h *httpValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "headers":
		if h.headers == nil {
			h.headers = starlark.NewDict(4)
		}
		return h.headers, nil
	case "cookies":
		if h.cookies == nil {
			h.cookies = &cookiesValue{vu: h.vu}
		}
		return h.cookies, nil
	}
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
