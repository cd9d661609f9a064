package script

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"
	"golang.org/x/net/http/httpguts"
)

// The keyword arguments of u.http.*, as Python's requests names them.
// Every method takes all of them; the methods differ only in which ones
// may also be passed by position (see positionalSlots).
const (
	kwParams = iota
	kwData
	kwJSON
	kwHeaders
	kwCookies
	kwFiles
	kwAuth
	kwTimeout
	kwAllowRedirects
	kwVerify
	kwCert
	kwName
	numKw
)

var httpKeywords = [numKw]string{
	kwParams: "params", kwData: "data", kwJSON: "json", kwHeaders: "headers", kwCookies: "cookies",
	kwFiles: "files", kwAuth: "auth", kwTimeout: "timeout", kwAllowRedirects: "allow_redirects",
	kwVerify: "verify", kwCert: "cert", kwName: "name",
}

// positionalSlots is what the arguments after the path mean, per method,
// as in requests: get(url, params), post(url, data, json), put/patch(url,
// data); delete, head, options and request take keywords only.
func positionalSlots(fn string) (slots [2]int, n int) {
	switch fn {
	case "get":
		return [2]int{kwParams}, 1
	case "post":
		return [2]int{kwData, kwJSON}, 2
	case "put", "patch":
		return [2]int{kwData}, 1
	}
	return slots, 0
}

// HTTPParams describes the parameters of u.http.<method>, for static
// checks of scripts: positional lists what may be passed by position, in
// order; keywords is every name that may be passed as name=value. ok is
// false when method is not a method of u.http.
func HTTPParams(method string) (positional, keywords []string, ok bool) {
	found := false
	for _, m := range httpMethods {
		found = found || m == method
	}
	if !found {
		return nil, nil, false
	}
	if method == "request" {
		positional = []string{"method", "path"}
	} else {
		positional = []string{"path"}
	}
	slots, n := positionalSlots(method)
	for _, s := range slots[:n] {
		positional = append(positional, httpKeywords[s])
	}
	keywords = append([]string{"path"}, httpKeywords[:]...)
	return positional, keywords, true
}

// reqArgs are the unpacked arguments of one u.http.* call. A keyword
// that was not given, or given as None, is nil.
type reqArgs struct {
	method string // request's first argument, upper-cased
	path   string
	kw     [numKw]starlark.Value
}

// unpack reads args (after request's method) and kwargs. It does what
// starlark.UnpackArgs does, without its per-call allocations, and with
// per-method positional meanings.
func (a *reqArgs) unpack(fn string, args starlark.Tuple, kwargs []starlark.Tuple) error {
	slots, n := positionalSlots(fn)
	lead := 1 // positional arguments before the optional ones
	if fn == "request" {
		if len(args) < 1 {
			return fmt.Errorf("request: missing method argument")
		}
		m, ok := starlark.AsString(args[0])
		if !ok {
			return fmt.Errorf("request: method must be a string, got %s", args[0].Type())
		}
		if !httpguts.ValidHeaderFieldName(m) { // a token, as RFC 9110 has it
			return fmt.Errorf("request: %q is not a valid method", m)
		}
		a.method, args, lead = strings.ToUpper(m), args[1:], 2
	}
	hasPath := false
	if len(args) > 0 {
		p, ok := starlark.AsString(args[0])
		if !ok {
			return fmt.Errorf("%s: path must be a string, got %s", fn, args[0].Type())
		}
		a.path, hasPath = p, true
		if len(args)-1 > n {
			return fmt.Errorf("%s: got %d positional arguments, want at most %d (%s)", fn, len(args)+lead-1, n+lead, signature(fn))
		}
		for i, v := range args[1:] {
			a.kw[slots[i]] = v
		}
	}
	for _, kv := range kwargs {
		k, _ := starlark.AsString(kv[0])
		if k == "path" {
			p, ok := starlark.AsString(kv[1])
			if !ok {
				return fmt.Errorf("%s: path must be a string, got %s", fn, kv[1].Type())
			}
			if hasPath {
				return fmt.Errorf("%s: got multiple values for parameter path", fn)
			}
			a.path, hasPath = p, true
			continue
		}
		i := keywordIndex(k)
		if i < 0 {
			return fmt.Errorf("%s: unexpected keyword argument %q%s (accepted: %s)", fn, k, keywordHint(k), strings.Join(httpKeywords[:], ", "))
		}
		if a.kw[i] != nil {
			return fmt.Errorf("%s: got multiple values for parameter %s", fn, k)
		}
		a.kw[i] = kv[1]
	}
	if !hasPath {
		return fmt.Errorf("%s: missing argument for path", fn)
	}
	for i, v := range a.kw {
		if v == starlark.None {
			a.kw[i] = nil
		}
	}
	return nil
}

// keywordHint says what a Locust or requests keyword that u.http does not
// take becomes, for the error that refuses it.
func keywordHint(k string) string {
	switch k {
	case "catch_response":
		return ": not needed, r.failure() and r.success() work on every response"
	case "stream":
		return ": bodies are read whole (up to --max-body)"
	}
	return ""
}

func keywordIndex(k string) int {
	for i, name := range httpKeywords {
		if name == k {
			return i
		}
	}
	return -1
}

// signature is how a method is called, for error messages.
func signature(fn string) string {
	pos, _, _ := HTTPParams(fn)
	return fn + "(" + strings.Join(pos, ", ") + ", ...)"
}
