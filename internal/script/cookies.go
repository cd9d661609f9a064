package script

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/stampede-load/stampede/internal/httpclient"
	"go.starlark.net/starlark"
	"golang.org/x/net/http/httpguts"
)

// cookieArgs reads cookies=: a dict of cookie names to values.
func cookieArgs(v starlark.Value) ([]httpclient.Header, error) {
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf("must be a dict, got %s", v.Type())
	}
	out := make([]httpclient.Header, 0, d.Len())
	for _, kv := range d.Items() {
		name, value, err := cookiePair(kv[0], kv[1])
		if err != nil {
			return nil, err
		}
		out = append(out, httpclient.Header{Key: name, Value: value})
	}
	return out, nil
}

// cookiePair checks a cookie name and value: either could otherwise
// split the Cookie header into cookies the script did not mean.
func cookiePair(k, v starlark.Value) (string, string, error) {
	name, ok := starlark.AsString(k)
	if !ok {
		return "", "", fmt.Errorf("cookie names must be strings, got %s", k.Type())
	}
	if !httpguts.ValidHeaderFieldName(name) {
		return "", "", fmt.Errorf("%q is not a valid cookie name", name)
	}
	value, ok := starlark.AsString(v)
	if !ok {
		return "", "", fmt.Errorf("the value of cookie %s must be a string, got %s", name, v.Type())
	}
	if strings.ContainsAny(value, ";\r\n\x00") || !httpguts.ValidHeaderFieldValue(value) {
		return "", "", fmt.Errorf("the value of cookie %s contains ';' or a control character", name)
	}
	return name, value, nil
}

// cookiesValue is u.http.cookies: the user's cookie jar as a dict from
// names to values. Reading a name that several cookies share (for
// different domains or paths) gives the one set last.
type cookiesValue struct{ vu *VU }

var (
	_ starlark.HasSetKey = (*cookiesValue)(nil)
	_ starlark.Iterable  = (*cookiesValue)(nil)
	_ starlark.Sequence  = (*cookiesValue)(nil)
	_ starlark.HasAttrs  = (*cookiesValue)(nil)
)

func (c *cookiesValue) jar() *httpclient.Jar  { return c.vu.client.Jar() }
func (c *cookiesValue) String() string        { return fmt.Sprintf("<cookies %d>", c.Len()) }
func (c *cookiesValue) Type() string          { return "cookies" }
func (c *cookiesValue) Freeze()               {}
func (c *cookiesValue) Truth() starlark.Bool  { return c.Len() > 0 }
func (c *cookiesValue) Hash() (uint32, error) { return 0, errors.New("unhashable: cookies") }

// byName is the value of each cookie name, the last set winning, and the
// names in the order they were first set.
func (c *cookiesValue) byName() (names []string, values map[string]string) {
	values = map[string]string{}
	for _, ck := range c.jar().All() {
		if _, ok := values[ck.Name]; !ok {
			names = append(names, ck.Name)
		}
		values[ck.Name] = ck.Value
	}
	return names, values
}

func (c *cookiesValue) Len() int {
	names, _ := c.byName()
	return len(names)
}

func (c *cookiesValue) Iterate() starlark.Iterator {
	names, _ := c.byName()
	l := make([]starlark.Value, len(names))
	for i, n := range names {
		l[i] = starlark.String(n)
	}
	return starlark.NewList(l).Iterate()
}

func (c *cookiesValue) Get(k starlark.Value) (starlark.Value, bool, error) {
	name, ok := starlark.AsString(k)
	if !ok {
		return nil, false, fmt.Errorf("cookie names must be strings, got %s", k.Type())
	}
	_, values := c.byName()
	v, found := values[name]
	return starlark.String(v), found, nil
}

// SetKey sets a cookie for the user's host, all paths:
// u.http.cookies["sid"] = "x".
func (c *cookiesValue) SetKey(k, v starlark.Value) error {
	return c.set(k, v, "", "/")
}

func (c *cookiesValue) set(k, v starlark.Value, domain, path string) error {
	name, value, err := cookiePair(k, v)
	if err != nil {
		return fmt.Errorf("u.http.cookies: %w", err)
	}
	if domain == "" {
		u, err := url.Parse(c.vu.host)
		if c.vu.host == "" || err != nil || u.Host == "" {
			return errors.New("u.http.cookies: this user has no host to set the cookie for: use u.http.cookies.set(name, value, domain=...)")
		}
		domain = u.Host
	}
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("u.http.cookies: path must start with /, got %q", path)
	}
	c.jar().Set(httpclient.Cookie{Name: name, Value: value, Domain: domain, Path: path})
	return nil
}

func (c *cookiesValue) AttrNames() []string {
	return []string{"clear", "get", "items", "keys", "pop", "set", "values"}
}

func (c *cookiesValue) Attr(name string) (starlark.Value, error) {
	var fn func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)
	switch name {
	case "get":
		fn = mappingGet(c)
	case "keys", "values", "items":
		fn = func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
				return nil, err
			}
			names, values := c.byName()
			l := make([]starlark.Value, len(names))
			for i, n := range names {
				switch name {
				case "keys":
					l[i] = starlark.String(n)
				case "values":
					l[i] = starlark.String(values[n])
				default:
					l[i] = starlark.Tuple{starlark.String(n), starlark.String(values[n])}
				}
			}
			return starlark.NewList(l), nil
		}
	case "clear":
		fn = func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
				return nil, err
			}
			c.jar().Clear()
			return starlark.None, nil
		}
	case "pop":
		// pop(name[, default]) removes every cookie of that name
		fn = func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var k, def starlark.Value
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &k, &def); err != nil {
				return nil, err
			}
			v, found, err := c.Get(k)
			if err != nil {
				return nil, err
			}
			if !found {
				if def == nil {
					return nil, fmt.Errorf("pop: no cookie %s", k)
				}
				return def, nil
			}
			c.jar().Delete(string(k.(starlark.String)))
			return v, nil
		}
	case "set":
		fn = func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var k, v starlark.Value
			domain, path := "", "/"
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &k, "value", &v, "domain?", &domain, "path?", &path); err != nil {
				return nil, err
			}
			return starlark.None, c.set(k, v, domain, path)
		}
	default:
		return nil, nil
	}
	return starlark.NewBuiltin(name, fn), nil
}
