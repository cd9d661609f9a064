package script

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Static checks of a loaded script: mistakes that would otherwise show up
// only when a task runs (maybe a rare one, minutes into a test) are load
// errors with file:line:col, for `stampede check`, `run`, the master and
// every worker alike.

// maxLintErrors bounds how many problems one load reports.
const maxLintErrors = 10

// Messages that teach: what a Python or Locust habit becomes here.
const (
	msgSleep  = "scripts have no time.sleep: use u.sleep(seconds)"
	msgPython = "this looks like a Python locustfile: Stampede scripts are Starlark (.star); see docs/scripting.md#coming-from-locust"
)

// looksLikePython reports whether a file that failed to load imports
// Locust, as a locustfile does.
func looksLikePython(src []byte) bool {
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "from locust") || strings.HasPrefix(line, "import locust") {
			return true
		}
	}
	return false
}

// parseResolved parses and resolves one file of a script that already
// executed, so it has no syntax or resolve errors; ok is false if it does
// not parse anyway. A resolve error (a predeclared name fileEnv does not
// know) leaves that name unresolved and the rest resolved.
func parseResolved(name string, src []byte) (*syntax.File, bool) {
	f, err := fileOptions.Parse(name, src, 0)
	if err != nil {
		return nil, false
	}
	_ = resolve.File(f, fileEnv(nil).Has, starlark.Universe.Has)
	return f, true
}

// lint checks every file of the script statically: the arguments of
// u.http calls and time.sleep calls. (setup and teardown's signatures are
// checked by collectHooks.)
func (s *Script) lint() error {
	var msgs []string
	for _, name := range slices.Sorted(maps.Keys(s.Files)) {
		f := s.syntax[name]
		if f == nil {
			continue
		}
		syntax.Walk(f, func(n syntax.Node) bool {
			switch n := n.(type) {
			case *syntax.CallExpr:
				if len(msgs) < maxLintErrors {
					msgs = append(msgs, lintCall(n)...)
				}
			case *syntax.DotExpr:
				s.usesHTTP = s.usesHTTP || n.Name.Name == "http"
			}
			return true
		})
	}
	if len(msgs) == 0 {
		return nil
	}
	if len(msgs) > maxLintErrors {
		msgs = append(msgs[:maxLintErrors], "(more problems not shown)")
	}
	return &LoadError{Msg: strings.Join(msgs, "\n")}
}

// UsesHTTP reports whether the script can make HTTP requests: whether any
// of its files mentions u.http (or ctx.http). A script that cannot (a
// Locust User that only times other work with u.record) needs no host.
// Go classes are not asked (nothing can be read from their code): one
// that requests a path without a host records an exception saying so.
func (s *Script) UsesHTTP() bool { return s.usesHTTP }

// lintCall checks one call: <expr>.http.<method>(...) against
// HTTPParams (too many positional arguments, unknown keywords), and
// time.sleep(...).
func lintCall(call *syntax.CallExpr) []string {
	dot, ok := call.Fn.(*syntax.DotExpr)
	if !ok {
		return nil
	}
	if id, ok := dot.X.(*syntax.Ident); ok && id.Name == "time" && dot.Name.Name == "sleep" {
		if b, ok := id.Binding.(*resolve.Binding); ok && b.Scope == resolve.Predeclared {
			return []string{fmt.Sprintf("%s: %s", call.Lparen, msgSleep)}
		}
		return nil
	}
	recv, ok := dot.X.(*syntax.DotExpr)
	if !ok || recv.Name.Name != "http" {
		return nil
	}
	positional, keywords, ok := HTTPParams(dot.Name.Name)
	if !ok {
		return nil
	}
	callee := "http." + dot.Name.Name
	if id, ok := recv.X.(*syntax.Ident); ok {
		callee = id.Name + "." + callee
	}
	var msgs []string
	npos, star := 0, false
	for _, arg := range call.Args {
		switch a := arg.(type) {
		case *syntax.UnaryExpr:
			star = star || a.Op == syntax.STAR || a.Op == syntax.STARSTAR
			continue
		case *syntax.BinaryExpr:
			if kw, ok := a.X.(*syntax.Ident); ok && a.Op == syntax.EQ {
				if !slices.Contains(keywords, kw.Name) {
					msgs = append(msgs, fmt.Sprintf("%s: %s: unexpected keyword argument %q%s (accepted: %s)",
						kw.NamePos, callee, kw.Name, keywordHint(kw.Name), strings.Join(keywords, ", ")))
				}
				continue
			}
		}
		npos++
	}
	if npos > len(positional) && !star {
		msgs = append(msgs, fmt.Sprintf("%s: %s takes at most %d positional arguments (%s), got %d: pass the others by name",
			call.Lparen, callee, len(positional), strings.Join(positional, ", "), npos))
	}
	return msgs
}
