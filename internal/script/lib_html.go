package script

import (
	"fmt"
	stdhtml "html"
	"strings"

	"github.com/andybalholm/cascadia"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"golang.org/x/net/html"
)

// The html module: CSS selectors over the HTML5 parser of golang.org/x/net
// (the parser browsers' algorithm describes), with cascadia's selectors.

// htmlLib is one script's html module; compiled selectors are cached like
// regexps.
type htmlLib struct {
	cache *compileCache[cascadia.Sel]
}

func newHTMLModule() *starlarkstruct.Module {
	l := &htmlLib{cache: newCompileCache[cascadia.Sel](compileCacheSize)}
	return &starlarkstruct.Module{Name: "html", Members: starlark.StringDict{
		"parse":      starlark.NewBuiltin("html.parse", l.parse),
		"select":     starlark.NewBuiltin("html.select", l.selectBuiltin),
		"select_one": starlark.NewBuiltin("html.select_one", l.selectBuiltin),
		"escape":     strFunc("html.escape", stdhtml.EscapeString),
		"unescape":   strFunc("html.unescape", stdhtml.UnescapeString),
	}}
}

func (l *htmlLib) parse(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
		return nil, err
	}
	return l.document(b.Name(), v)
}

// document parses a string or bytes; an element is taken as it is.
func (l *htmlLib) document(fn string, v starlark.Value) (*htmlElement, error) {
	if e, ok := v.(*htmlElement); ok {
		return e, nil
	}
	s, err := strOrBytes(fn, "the document", v)
	if err != nil {
		return nil, fmt.Errorf("%s: the document must be a string, bytes or an element (r.text, html.parse(...)), got %s", fn, v.Type())
	}
	n, err := html.Parse(strings.NewReader(s))
	if err != nil { // the HTML5 algorithm accepts anything; only I/O errors are possible
		return nil, fmt.Errorf("%s: %v", fn, err)
	}
	return &htmlElement{lib: l, n: n}, nil
}

// selectBuiltin is html.select(doc, css) and html.select_one(doc, css).
func (l *htmlLib) selectBuiltin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var doc starlark.Value
	var css string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "doc", &doc, "selector", &css); err != nil {
		return nil, err
	}
	e, err := l.document(b.Name(), doc)
	if err != nil {
		return nil, err
	}
	return e.find(b.Name(), css, strings.HasSuffix(b.Name(), "select_one"))
}

func (l *htmlLib) compile(fn, css string) (cascadia.Sel, error) {
	return l.cache.get(css, func() (cascadia.Sel, error) {
		sel, err := cascadia.Parse(css)
		if err != nil {
			return nil, fmt.Errorf("%s: bad CSS selector %q: %v", fn, css, err)
		}
		return sel, nil
	})
}

// htmlElement is a node of a parsed document (the document itself from
// html.parse). Elements are read-only.
type htmlElement struct {
	lib *htmlLib
	n   *html.Node
}

var _ starlark.HasAttrs = (*htmlElement)(nil)

func (e *htmlElement) String() string {
	if e.n.Type == html.DocumentNode {
		return "<html document>"
	}
	return fmt.Sprintf("<html element %s>", e.n.Data)
}
func (e *htmlElement) Type() string          { return "html.element" }
func (e *htmlElement) Freeze()               {}
func (e *htmlElement) Truth() starlark.Bool  { return true }
func (e *htmlElement) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: html.element") }
func (e *htmlElement) AttrNames() []string {
	return []string{"attr", "attrs", "html", "inner_html", "select", "select_one", "tag", "text"}
}

func (e *htmlElement) find(fn, css string, one bool) (starlark.Value, error) {
	sel, err := e.lib.compile(fn, css)
	if err != nil {
		return nil, err
	}
	if one {
		if n := cascadia.Query(e.n, sel); n != nil {
			return &htmlElement{lib: e.lib, n: n}, nil
		}
		return starlark.None, nil
	}
	nodes := cascadia.QueryAll(e.n, sel)
	out := make([]starlark.Value, len(nodes))
	for i, n := range nodes {
		out[i] = &htmlElement{lib: e.lib, n: n}
	}
	return starlark.NewList(out), nil
}

func (e *htmlElement) Attr(name string) (starlark.Value, error) {
	switch name {
	case "tag":
		if e.n.Type != html.ElementNode {
			return starlark.None, nil
		}
		return starlark.String(e.n.Data), nil
	case "text":
		var b strings.Builder
		nodeText(&b, e.n)
		return starlark.String(b.String()), nil
	case "attrs":
		d := starlark.NewDict(len(e.n.Attr))
		for _, a := range e.n.Attr {
			_ = d.SetKey(starlark.String(a.Key), starlark.String(a.Val))
		}
		return d, nil
	case "html", "inner_html":
		var b strings.Builder
		if name == "html" {
			if err := html.Render(&b, e.n); err != nil {
				return nil, fmt.Errorf("html: %v", err)
			}
		} else {
			for c := e.n.FirstChild; c != nil; c = c.NextSibling {
				if err := html.Render(&b, c); err != nil {
					return nil, fmt.Errorf("inner_html: %v", err)
				}
			}
		}
		return starlark.String(b.String()), nil
	case "attr":
		return starlark.NewBuiltin("attr", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var (
				key string
				def starlark.Value = starlark.None
			)
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &key, "default?", &def); err != nil {
				return nil, err
			}
			key = strings.ToLower(key) // the parser lower-cases attribute names
			for _, a := range e.n.Attr {
				if a.Key == key && a.Namespace == "" {
					return starlark.String(a.Val), nil
				}
			}
			return def, nil
		}), nil
	case "select", "select_one":
		return starlark.NewBuiltin(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var css string
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "selector", &css); err != nil {
				return nil, err
			}
			return e.find(b.Name(), css, name == "select_one")
		}), nil
	}
	return nil, nil
}

// nodeText is the text content of a node, as the DOM's textContent (so
// also the text of <script> and <style> inside it).
func nodeText(b *strings.Builder, n *html.Node) {
	if n.Type == html.TextNode {
		b.WriteString(n.Data)
		return
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		nodeText(b, c)
	}
}
