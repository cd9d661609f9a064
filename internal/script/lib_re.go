package script

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// The re module: Python's re API over Go's RE2 engine (linear time, no
// backreferences or lookaround in patterns). Positions are byte offsets,
// which is what Starlark's string indexing uses.

// Python's flag values, so code that passes re.I | re.M keeps working.
const (
	reIgnoreCase = 2
	reMultiline  = 8
	reDotAll     = 16
	reAllFlags   = reIgnoreCase | reMultiline | reDotAll
)

// reMode says where a match may start and end.
type reMode byte

const (
	reSearch reMode = 's' // anywhere
	reMatch  reMode = 'm' // at the start of the string
	reFull   reMode = 'f' // the whole string
)

// reLib is one script's re module: its compiled-pattern cache is shared by
// every user of the script.
type reLib struct {
	cache *compileCache[*regexp.Regexp]
}

// rePattern is what re.compile returns. Frozen globals hold them, so
// every user shares one; it holds no mutable state.
type rePattern struct {
	lib   *reLib
	src   string
	flags int
	re    *regexp.Regexp // reSearch mode, also gives group names
}

// reMethod is an operation of a pattern on the rest of its arguments.
type reMethod struct {
	name string
	// npos is the number of positional arguments after the pattern, so
	// the module function knows that the next one is flags.
	npos int
	fn   func(t *starlark.Thread, fn string, p *rePattern, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)
}

var reMethods = []reMethod{
	{"search", 1, reFind(reSearch)},
	{"match", 1, reFind(reMatch)},
	{"fullmatch", 1, reFind(reFull)},
	{"findall", 1, reFindall},
	{"finditer", 1, reFinditer},
	{"sub", 3, reSub},
	{"split", 2, reSplit},
}

func newReModule() *starlarkstruct.Module {
	lib := &reLib{cache: newCompileCache[*regexp.Regexp](compileCacheSize)}
	m := starlark.StringDict{
		"compile": starlark.NewBuiltin("re.compile", lib.compileBuiltin),
		"escape":  strFunc("re.escape", regexp.QuoteMeta),
		"I":       starlark.MakeInt(reIgnoreCase), "IGNORECASE": starlark.MakeInt(reIgnoreCase),
		"M": starlark.MakeInt(reMultiline), "MULTILINE": starlark.MakeInt(reMultiline),
		"S": starlark.MakeInt(reDotAll), "DOTALL": starlark.MakeInt(reDotAll),
	}
	for _, meth := range reMethods {
		m[meth.name] = starlark.NewBuiltin("re."+meth.name, lib.moduleFunc(meth))
	}
	return &starlarkstruct.Module{Name: "re", Members: m}
}

// moduleFunc makes re.NAME(pattern, ..., flags=0) from pattern.NAME(...).
func (l *reLib) moduleFunc(meth reMethod) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var pat, flags starlark.Value = nil, starlark.MakeInt(0)
		rest := kwargs[:0:0]
		for _, kv := range kwargs {
			switch string(kv[0].(starlark.String)) {
			case "pattern":
				pat = kv[1]
			case "flags":
				flags = kv[1]
			default:
				rest = append(rest, kv)
			}
		}
		if pat == nil {
			if len(args) == 0 {
				return nil, fmt.Errorf("%s: missing argument for pattern", b.Name())
			}
			pat, args = args[0], args[1:]
		}
		if len(args) > meth.npos+1 {
			return nil, fmt.Errorf("%s: got %d arguments, want at most %d", b.Name(), len(args)+1, meth.npos+2)
		}
		if len(args) == meth.npos+1 {
			flags, args = args[meth.npos], args[:meth.npos:meth.npos]
		}
		p, err := l.pattern(b.Name(), pat, flags)
		if err != nil {
			return nil, err
		}
		return meth.fn(t, b.Name(), p, args, rest)
	}
}

func (l *reLib) compileBuiltin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var pat, flags starlark.Value = nil, starlark.MakeInt(0)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pattern", &pat, "flags?", &flags); err != nil {
		return nil, err
	}
	return l.pattern(b.Name(), pat, flags)
}

// pattern turns a pattern argument (a string or a compiled pattern) and
// flags into a compiled pattern.
func (l *reLib) pattern(fn string, pat, flagsV starlark.Value) (*rePattern, error) {
	flags, err := starlark.AsInt32(flagsV)
	if err != nil {
		return nil, fmt.Errorf("%s: flags must be an int (re.I, re.M, re.S), got %s", fn, flagsV.Type())
	}
	if flags&^reAllFlags != 0 {
		return nil, fmt.Errorf("%s: unsupported flags %d: only re.I, re.M and re.S exist", fn, flags)
	}
	switch p := pat.(type) {
	case *rePattern:
		if flags != 0 {
			return nil, fmt.Errorf("%s: cannot give flags with a compiled pattern", fn)
		}
		return p, nil
	case starlark.String:
		re, err := l.compile(fn, string(p), flags, reSearch)
		if err != nil {
			return nil, err
		}
		return &rePattern{lib: l, src: string(p), flags: flags, re: re}, nil
	}
	return nil, fmt.Errorf("%s: pattern must be a string or a compiled pattern, got %s", fn, pat.Type())
}

// compile returns the regexp for a pattern, flags and mode, from the cache.
func (l *reLib) compile(fn, pat string, flags int, mode reMode) (*regexp.Regexp, error) {
	key := string(mode) + strconv.Itoa(flags) + ":" + pat
	return l.cache.get(key, func() (*regexp.Regexp, error) {
		var prefix strings.Builder
		if flags != 0 {
			prefix.WriteString("(?")
			if flags&reIgnoreCase != 0 {
				prefix.WriteByte('i')
			}
			if flags&reMultiline != 0 {
				prefix.WriteByte('m')
			}
			if flags&reDotAll != 0 {
				prefix.WriteByte('s')
			}
			prefix.WriteByte(')')
		}
		expr := pat
		switch mode {
		case reMatch:
			expr = `\A(?:` + pat + `)`
		case reFull:
			expr = `\A(?:` + pat + `)\z`
		}
		re, err := regexp.Compile(prefix.String() + expr)
		if err != nil {
			if _, err2 := regexp.Compile(pat); err2 != nil {
				err = err2 // the message then quotes the user's pattern, not our wrapping
			}
			return nil, fmt.Errorf("%s: bad pattern: %v", fn, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		return re, nil
	})
}

var _ starlark.HasAttrs = (*rePattern)(nil)

func (p *rePattern) String() string        { return fmt.Sprintf("re.compile(%s)", starlark.String(p.src)) }
func (p *rePattern) Type() string          { return "re.Pattern" }
func (p *rePattern) Freeze()               {}
func (p *rePattern) Truth() starlark.Bool  { return true }
func (p *rePattern) Hash() (uint32, error) { return starlark.String(p.src).Hash() }

func (p *rePattern) Attr(name string) (starlark.Value, error) {
	switch name {
	case "pattern":
		return starlark.String(p.src), nil
	case "flags":
		return starlark.MakeInt(p.flags), nil
	case "groups":
		return starlark.MakeInt(p.re.NumSubexp()), nil
	case "groupindex":
		d := starlark.NewDict(0)
		for i, n := range p.re.SubexpNames() {
			if n != "" {
				if _, found, _ := d.Get(starlark.String(n)); !found {
					_ = d.SetKey(starlark.String(n), starlark.MakeInt(i))
				}
			}
		}
		return d, nil
	}
	for _, meth := range reMethods {
		if meth.name == name {
			return starlark.NewBuiltin("Pattern."+name, func(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
				return meth.fn(t, b.Name(), p, args, kwargs)
			}), nil
		}
	}
	return nil, nil
}

func (p *rePattern) AttrNames() []string {
	names := []string{"flags", "groupindex", "groups", "pattern"}
	for _, meth := range reMethods {
		names = append(names, meth.name)
	}
	return names
}

func reFind(mode reMode) func(*starlark.Thread, string, *rePattern, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(_ *starlark.Thread, fn string, p *rePattern, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var s string
		if err := starlark.UnpackArgs(fn, args, kwargs, "string", &s); err != nil {
			return nil, err
		}
		re := p.re
		if mode != reSearch {
			var err error
			if re, err = p.lib.compile(fn, p.src, p.flags, mode); err != nil {
				return nil, err
			}
		}
		loc := re.FindStringSubmatchIndex(s)
		if loc == nil {
			return starlark.None, nil
		}
		return &reMatchValue{p: p, s: s, loc: loc}, nil
	}
}

func reFindall(_ *starlark.Thread, fn string, p *rePattern, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s string
	if err := starlark.UnpackArgs(fn, args, kwargs, "string", &s); err != nil {
		return nil, err
	}
	all := p.re.FindAllStringSubmatchIndex(s, -1)
	out := make([]starlark.Value, len(all))
	n := p.re.NumSubexp()
	for i, loc := range all {
		m := &reMatchValue{p: p, s: s, loc: loc}
		switch n {
		case 0:
			out[i] = starlark.String(s[loc[0]:loc[1]])
		case 1:
			out[i] = m.groupOr(1, starlark.String(""))
		default:
			t := make(starlark.Tuple, n)
			for g := range n {
				t[g] = m.groupOr(g+1, starlark.String(""))
			}
			out[i] = t
		}
	}
	return starlark.NewList(out), nil
}

func reFinditer(_ *starlark.Thread, fn string, p *rePattern, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s string
	if err := starlark.UnpackArgs(fn, args, kwargs, "string", &s); err != nil {
		return nil, err
	}
	all := p.re.FindAllStringSubmatchIndex(s, -1)
	out := make([]starlark.Value, len(all))
	for i, loc := range all {
		out[i] = &reMatchValue{p: p, s: s, loc: loc}
	}
	return starlark.NewList(out), nil
}

func reSub(t *starlark.Thread, fn string, p *rePattern, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		repl  starlark.Value
		s     string
		count int
	)
	if err := starlark.UnpackArgs(fn, args, kwargs, "repl", &repl, "string", &s, "count?", &count); err != nil {
		return nil, err
	}
	if count < 0 {
		return nil, fmt.Errorf("%s: count must be >= 0, got %d", fn, count)
	}
	var (
		tmpl     []replPart
		callable starlark.Callable
	)
	switch r := repl.(type) {
	case starlark.String:
		var err error
		if tmpl, err = parseRepl(p.re, string(r)); err != nil {
			return nil, fmt.Errorf("%s: %v", fn, err)
		}
	case starlark.Callable:
		callable = r
	default:
		return nil, fmt.Errorf("%s: repl must be a string or a function, got %s", fn, repl.Type())
	}
	n := -1
	if count > 0 {
		n = count
	}
	var out strings.Builder
	last := 0
	for _, loc := range p.re.FindAllStringSubmatchIndex(s, n) {
		out.WriteString(s[last:loc[0]])
		last = loc[1]
		if callable == nil {
			for _, part := range tmpl {
				if part.group < 0 {
					out.WriteString(part.lit)
				} else if a := loc[2*part.group]; a >= 0 {
					out.WriteString(s[a:loc[2*part.group+1]])
				}
			}
			continue
		}
		v, err := starlark.Call(t, callable, starlark.Tuple{&reMatchValue{p: p, s: s, loc: loc}}, nil)
		if err != nil {
			return nil, err
		}
		str, ok := starlark.AsString(v)
		if !ok {
			return nil, fmt.Errorf("%s: repl function must return a string, got %s", fn, v.Type())
		}
		out.WriteString(str)
	}
	out.WriteString(s[last:])
	return starlark.String(out.String()), nil
}

// replPart is a piece of a sub() replacement: literal text, or a group
// (group >= 0).
type replPart struct {
	lit   string
	group int
}

// parseRepl reads Python's replacement syntax: \1 … \99, \g<n>,
// \g<name>, \\ and the usual character escapes.
func parseRepl(re *regexp.Regexp, repl string) ([]replPart, error) {
	var parts []replPart
	var lit strings.Builder
	group := func(g int) {
		if lit.Len() > 0 {
			parts = append(parts, replPart{lit: lit.String(), group: -1})
			lit.Reset()
		}
		parts = append(parts, replPart{group: g})
	}
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c != '\\' {
			lit.WriteByte(c)
			continue
		}
		if i+1 == len(repl) {
			return nil, fmt.Errorf("bad escape (end of replacement)")
		}
		i++
		switch c = repl[i]; {
		case c >= '0' && c <= '9':
			j := i + 1
			if j < len(repl) && repl[j] >= '0' && repl[j] <= '9' {
				j++
			}
			g, _ := strconv.Atoi(repl[i:j])
			if g > re.NumSubexp() {
				return nil, fmt.Errorf("invalid group reference %d in replacement", g)
			}
			group(g)
			i = j - 1
		case c == 'g':
			end := strings.IndexByte(repl[i:], '>')
			if i+1 >= len(repl) || repl[i+1] != '<' || end < 0 {
				return nil, fmt.Errorf(`bad group reference in replacement: want \g<name> or \g<number>`)
			}
			name := repl[i+2 : i+end]
			g, err := strconv.Atoi(name)
			if err != nil {
				if g = re.SubexpIndex(name); g < 0 {
					return nil, fmt.Errorf("unknown group name %q in replacement", name)
				}
			} else if g < 0 || g > re.NumSubexp() {
				return nil, fmt.Errorf("invalid group reference %d in replacement", g)
			}
			group(g)
			i += end
		case c == '\\':
			lit.WriteByte('\\')
		case c == 'n':
			lit.WriteByte('\n')
		case c == 't':
			lit.WriteByte('\t')
		case c == 'r':
			lit.WriteByte('\r')
		case c == 'f':
			lit.WriteByte('\f')
		case c == 'v':
			lit.WriteByte('\v')
		case c == 'a':
			lit.WriteByte('\a')
		case c == 'b':
			lit.WriteByte('\b')
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			return nil, fmt.Errorf(`bad escape \%c in replacement`, c)
		default:
			lit.WriteByte('\\')
			lit.WriteByte(c)
		}
	}
	if lit.Len() > 0 || len(parts) == 0 {
		parts = append(parts, replPart{lit: lit.String(), group: -1})
	}
	return parts, nil
}

func reSplit(_ *starlark.Thread, fn string, p *rePattern, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		s        string
		maxsplit int
	)
	if err := starlark.UnpackArgs(fn, args, kwargs, "string", &s, "maxsplit?", &maxsplit); err != nil {
		return nil, err
	}
	n := -1
	if maxsplit > 0 {
		n = maxsplit
	} else if maxsplit < 0 { // Python: no split at all
		return starlark.NewList([]starlark.Value{starlark.String(s)}), nil
	}
	var out []starlark.Value
	last := 0
	for _, loc := range p.re.FindAllStringSubmatchIndex(s, n) {
		out = append(out, starlark.String(s[last:loc[0]]))
		m := &reMatchValue{p: p, s: s, loc: loc}
		for g := 1; g <= p.re.NumSubexp(); g++ {
			out = append(out, m.groupOr(g, starlark.None))
		}
		last = loc[1]
	}
	out = append(out, starlark.String(s[last:]))
	return starlark.NewList(out), nil
}
