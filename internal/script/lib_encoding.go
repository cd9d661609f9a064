package script

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// base64 and urllib. Both return strings where Python returns bytes:
// Starlark strings hold any bytes, and a string is what the next step
// (a header, a URL, json.decode) wants.

func newBase64Module() *starlarkstruct.Module {
	codec := func(name string, enc *base64.Encoding, encode bool) *starlark.Builtin {
		return starlark.NewBuiltin("base64."+name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var v starlark.Value
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
				return nil, err
			}
			s, err := strOrBytes(b.Name(), "the argument", v)
			if err != nil {
				return nil, err
			}
			if encode {
				return starlark.String(enc.EncodeToString([]byte(s))), nil
			}
			// Tokens (JWT segments, URL parameters) often come without
			// their padding: accept them as they are.
			s = strings.TrimRight(strings.NewReplacer("\n", "", "\r", "", " ", "").Replace(s), "=")
			out, err := enc.WithPadding(base64.NoPadding).DecodeString(s)
			if err != nil {
				return nil, fmt.Errorf("%s: invalid base64: %v", b.Name(), err)
			}
			return starlark.String(out), nil
		})
	}
	return &starlarkstruct.Module{Name: "base64", Members: starlark.StringDict{
		"b64encode":         codec("b64encode", base64.StdEncoding, true),
		"b64decode":         codec("b64decode", base64.StdEncoding, false),
		"urlsafe_b64encode": codec("urlsafe_b64encode", base64.URLEncoding, true),
		"urlsafe_b64decode": codec("urlsafe_b64decode", base64.URLEncoding, false),
	}}
}

// newURLLibModule is Python's urllib.parse; urllib.parse.quote and
// urllib.quote are the same function, so ported code works either way.
func newURLLibModule() *starlarkstruct.Module {
	m := starlark.StringDict{
		"quote":        starlark.NewBuiltin("urllib.quote", urlQuote),
		"quote_plus":   starlark.NewBuiltin("urllib.quote_plus", urlQuote),
		"unquote":      starlark.NewBuiltin("urllib.unquote", urlUnquote),
		"unquote_plus": starlark.NewBuiltin("urllib.unquote_plus", urlUnquote),
		"urlencode":    starlark.NewBuiltin("urllib.urlencode", urlEncode),
		"parse_qs":     starlark.NewBuiltin("urllib.parse_qs", urlParseQS),
		"parse_qsl":    starlark.NewBuiltin("urllib.parse_qsl", urlParseQS),
		"urlparse":     starlark.NewBuiltin("urllib.urlparse", urlParse),
		"urljoin":      starlark.NewBuiltin("urllib.urljoin", urlJoin),
	}
	parse := &starlarkstruct.Module{Name: "urllib.parse", Members: m}
	all := starlark.StringDict{"parse": parse}
	for k, v := range m {
		all[k] = v
	}
	return &starlarkstruct.Module{Name: "urllib", Members: all}
}

// quote percent-encodes every byte but letters, digits, "_.-~" and safe,
// as Python's urllib.parse.quote does.
func quote(s, safe string, plus bool) string {
	var b strings.Builder
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("_.-~", c) >= 0:
			b.WriteByte(c)
		case c < 0x80 && strings.IndexByte(safe, c) >= 0:
			b.WriteByte(c)
		case c == ' ' && plus:
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// unquote decodes %XX escapes (and + with plus); malformed escapes stay
// as they are, as in Python.
func unquote(s string, plus bool) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '+' && plus {
			b.WriteByte(' ')
			continue
		}
		if c == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

func urlQuote(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	plus := b.Name() == "urllib.quote_plus"
	var (
		v    starlark.Value
		safe = "/"
	)
	if plus {
		safe = ""
	}
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "string", &v, "safe?", &safe); err != nil {
		return nil, err
	}
	s, err := strOrBytes(b.Name(), "string", v)
	if err != nil {
		return nil, err
	}
	return starlark.String(quote(s, safe, plus)), nil
}

func urlUnquote(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "string", &s); err != nil {
		return nil, err
	}
	return starlark.String(unquote(s, b.Name() == "urllib.unquote_plus")), nil
}

// queryString is str(v) for a query value, the string itself for strings.
func queryString(v starlark.Value) string {
	switch v := v.(type) {
	case starlark.String:
		return string(v)
	case starlark.Bytes:
		return string(v)
	}
	return v.String()
}

func urlEncode(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		query starlark.Value
		doseq bool
		safe  string
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "query", &query, "doseq?", &doseq, "safe?", &safe); err != nil {
		return nil, err
	}
	var pairs []starlark.Tuple
	switch q := query.(type) {
	case starlark.IterableMapping:
		pairs = q.Items()
	case *starlark.List, starlark.Tuple:
		it := starlark.Iterate(q)
		defer it.Done()
		var x starlark.Value
		for i := 0; it.Next(&x); i++ {
			p, ok := x.(starlark.Indexable)
			if !ok || p.Len() != 2 {
				return nil, fmt.Errorf("%s: query[%d] must be a (name, value) pair, got %s", b.Name(), i, x)
			}
			pairs = append(pairs, starlark.Tuple{p.Index(0), p.Index(1)})
		}
	default:
		return nil, fmt.Errorf("%s: query must be a dict or a list of (name, value) pairs, got %s", b.Name(), query.Type())
	}
	var out strings.Builder
	add := func(k, v starlark.Value) {
		if out.Len() > 0 {
			out.WriteByte('&')
		}
		out.WriteString(quote(queryString(k), safe, true))
		out.WriteByte('=')
		out.WriteString(quote(queryString(v), safe, true))
	}
	for _, p := range pairs {
		seq, isSeq := p[1].(starlark.Indexable)
		if _, isStr := p[1].(starlark.String); !doseq || !isSeq || isStr {
			add(p[0], p[1])
			continue
		}
		for i := range seq.Len() {
			add(p[0], seq.Index(i))
		}
	}
	return starlark.String(out.String()), nil
}

// urlParseQS is parse_qs (a dict of lists) and parse_qsl (a list of pairs).
func urlParseQS(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		qs        string
		keepBlank bool
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "qs", &qs, "keep_blank_values?", &keepBlank); err != nil {
		return nil, err
	}
	dict := starlark.NewDict(0)
	var list []starlark.Value
	for _, field := range strings.Split(qs, "&") {
		if field == "" {
			continue
		}
		k, v, hasEq := strings.Cut(field, "=")
		if !hasEq && !keepBlank || v == "" && !keepBlank {
			continue
		}
		key, val := starlark.String(unquote(k, true)), starlark.String(unquote(v, true))
		if b.Name() == "urllib.parse_qsl" {
			list = append(list, starlark.Tuple{key, val})
			continue
		}
		old, found, _ := dict.Get(key)
		if !found {
			old = starlark.NewList(nil)
			_ = dict.SetKey(key, old)
		}
		_ = old.(*starlark.List).Append(val)
	}
	if b.Name() == "urllib.parse_qsl" {
		return starlark.NewList(list), nil
	}
	return dict, nil
}

func urlParse(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "url", &s); err != nil {
		return nil, err
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	netloc := u.Host
	var user, pass starlark.Value = starlark.None, starlark.None
	if u.User != nil {
		netloc = u.User.String() + "@" + u.Host
		user = starlark.String(u.User.Username())
		if p, ok := u.User.Password(); ok {
			pass = starlark.String(p)
		}
	}
	path, params := u.EscapedPath(), ""
	if u.Opaque != "" {
		path = u.Opaque
	}
	if i := strings.LastIndexByte(path, '/'); strings.Contains(path[i+1:], ";") {
		j := i + 1 + strings.IndexByte(path[i+1:], ';')
		path, params = path[:j], path[j+1:]
	}
	var host, port starlark.Value = starlark.None, starlark.None
	if h := u.Hostname(); h != "" {
		host = starlark.String(strings.ToLower(h))
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n > 65535 {
			return nil, fmt.Errorf("%s: port out of range: %s", b.Name(), p)
		}
		port = starlark.MakeInt(n)
	}
	return starlarkstruct.FromStringDict(starlark.String("ParseResult"), starlark.StringDict{
		"scheme": starlark.String(u.Scheme), "netloc": starlark.String(netloc), "path": starlark.String(path),
		"params": starlark.String(params), "query": starlark.String(u.RawQuery), "fragment": starlark.String(u.EscapedFragment()),
		"hostname": host, "port": port, "username": user, "password": pass,
	}), nil
}

func urlJoin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var base, ref string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "base", &base, "url", &ref); err != nil {
		return nil, err
	}
	bu, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("%s: base: %v", b.Name(), err)
	}
	ru, err := url.Parse(ref)
	if err != nil {
		return nil, fmt.Errorf("%s: url: %v", b.Name(), err)
	}
	return starlark.String(bu.ResolveReference(ru).String()), nil
}
