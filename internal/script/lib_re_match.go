package script

import (
	"fmt"

	"go.starlark.net/starlark"
)

// reMatchValue is a match object. m[1] and m["name"] work as m.group(...).
type reMatchValue struct {
	p   *rePattern
	s   string
	loc []int
}

var (
	_ starlark.HasAttrs = (*reMatchValue)(nil)
	_ starlark.Mapping  = (*reMatchValue)(nil)
)

func (m *reMatchValue) String() string {
	return fmt.Sprintf("<re.Match span=(%d, %d) match=%s>", m.loc[0], m.loc[1], starlark.String(m.s[m.loc[0]:m.loc[1]]))
}
func (m *reMatchValue) Type() string          { return "re.Match" }
func (m *reMatchValue) Freeze()               {}
func (m *reMatchValue) Truth() starlark.Bool  { return true }
func (m *reMatchValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: re.Match") }

func (m *reMatchValue) Get(k starlark.Value) (starlark.Value, bool, error) {
	g, err := m.groupIndex("re.Match", k)
	if err != nil {
		return nil, false, err
	}
	return m.groupOr(g, starlark.None), true, nil
}

// groupIndex resolves a group number or name.
func (m *reMatchValue) groupIndex(fn string, k starlark.Value) (int, error) {
	switch k := k.(type) {
	case starlark.Int:
		g, ok := k.Int64()
		if !ok || g < 0 || g > int64(m.p.re.NumSubexp()) {
			return 0, fmt.Errorf("%s: no such group %s (the pattern has %d)", fn, k, m.p.re.NumSubexp())
		}
		return int(g), nil
	case starlark.String:
		g := m.p.re.SubexpIndex(string(k))
		if g < 0 {
			return 0, fmt.Errorf("%s: no group named %s", fn, k)
		}
		return g, nil
	}
	return 0, fmt.Errorf("%s: a group is a number or a name, got %s", fn, k.Type())
}

// groupOr is group g's text, or def if it did not take part in the match.
func (m *reMatchValue) groupOr(g int, def starlark.Value) starlark.Value {
	if m.loc[2*g] < 0 {
		return def
	}
	return starlark.String(m.s[m.loc[2*g]:m.loc[2*g+1]])
}

func (m *reMatchValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "string":
		return starlark.String(m.s), nil
	case "re":
		return m.p, nil
	case "group", "groups", "groupdict", "start", "end", "span":
		return starlark.NewBuiltin("Match."+name, m.method), nil
	}
	return nil, nil
}

func (m *reMatchValue) AttrNames() []string {
	return []string{"end", "group", "groupdict", "groups", "re", "span", "start", "string"}
}

func (m *reMatchValue) method(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	switch fn {
	case "Match.group":
		if len(kwargs) > 0 {
			return nil, fmt.Errorf("%s: takes no keyword arguments", fn)
		}
		if len(args) == 0 {
			return m.groupOr(0, starlark.None), nil
		}
		out := make(starlark.Tuple, len(args))
		for i, a := range args {
			g, err := m.groupIndex(fn, a)
			if err != nil {
				return nil, err
			}
			out[i] = m.groupOr(g, starlark.None)
		}
		if len(out) == 1 {
			return out[0], nil
		}
		return out, nil
	case "Match.groups", "Match.groupdict":
		var def starlark.Value = starlark.None
		if err := starlark.UnpackArgs(fn, args, kwargs, "default?", &def); err != nil {
			return nil, err
		}
		n := m.p.re.NumSubexp()
		if fn == "Match.groups" {
			out := make(starlark.Tuple, n)
			for g := range n {
				out[g] = m.groupOr(g+1, def)
			}
			return out, nil
		}
		d := starlark.NewDict(n)
		for g, name := range m.p.re.SubexpNames() {
			if name != "" {
				if _, found, _ := d.Get(starlark.String(name)); !found {
					_ = d.SetKey(starlark.String(name), m.groupOr(g, def))
				}
			}
		}
		return d, nil
	}
	// start, end, span
	var k starlark.Value = starlark.MakeInt(0)
	if err := starlark.UnpackArgs(fn, args, kwargs, "group?", &k); err != nil {
		return nil, err
	}
	g, err := m.groupIndex(fn, k)
	if err != nil {
		return nil, err
	}
	start, end := starlark.MakeInt(m.loc[2*g]), starlark.MakeInt(m.loc[2*g+1])
	switch fn {
	case "Match.start":
		return start, nil
	case "Match.end":
		return end, nil
	}
	return starlark.Tuple{start, end}, nil
}
