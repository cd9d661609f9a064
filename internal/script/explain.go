package script

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Run-time errors whose Starlark message does not tell a Python user what
// went wrong get a hint: writing to a global, which is frozen once the
// script has loaded because every user shares it.

const hintShared = "globals are read-only once the script has loaded, because every user shares them: " +
	"keep per-user values in u.state (u.state[\"k\"] = v) and values shared by all users in shared.* " +
	"(shared.counter(), shared.queue(...)) created at the top level"

// hintCache remembers the hint of each error site: the same task raises
// the same error thousands of times.
type hintCache struct {
	mu    sync.Mutex
	hints map[string]string
}

// maxHints bounds the cache; past it hints are computed again each time.
const maxHints = 1000

// explain returns msg with a hint appended when it is an error that
// deserves one, else msg unchanged.
func (s *Script) explain(msg string, stack starlark.CallStack) string {
	frozen := strings.Contains(msg, "frozen hash table") || strings.Contains(msg, "frozen list")
	local := strings.HasPrefix(msg, "local variable ") && strings.HasSuffix(msg, " referenced before assignment")
	if (!frozen && !local) || s.explained == nil {
		return msg
	}
	var pos syntax.Position
	for i := len(stack) - 1; i >= 0; i-- {
		if p := stack[i].Pos; p.Line > 0 {
			pos = p
			break
		}
	}
	key := pos.String() + "\x00" + msg
	c := s.explained
	c.mu.Lock()
	h, ok := c.hints[key]
	c.mu.Unlock()
	if ok {
		return h
	}
	h = msg
	if hint := s.hint(msg, pos, frozen); hint != "" {
		h = msg + ": " + hint
	}
	c.mu.Lock()
	if c.hints == nil {
		c.hints = map[string]string{}
	}
	if len(c.hints) < maxHints {
		c.hints[key] = h
	}
	c.mu.Unlock()
	return h
}

func (s *Script) hint(msg string, pos syntax.Position, frozen bool) string {
	f := s.syntax[pos.Filename()]
	if !frozen {
		name := strings.TrimSuffix(strings.TrimPrefix(msg, "local variable "), " referenced before assignment")
		if f == nil || !isGlobal(f, name) {
			return ""
		}
		return fmt.Sprintf("%s is a global, and a function that assigns to a name (%s = ..., %s += 1) makes it a new local variable; %s",
			name, name, name, hintShared)
	}
	if f != nil {
		if id := frozenRoot(f, pos); id != nil {
			if b, ok := id.Binding.(*resolve.Binding); ok && (b.Scope == resolve.Global || isLoaded(f, b)) {
				return fmt.Sprintf("%s is a global; %s", id.Name, hintShared)
			}
			return fmt.Sprintf("%s holds a value made when the script loaded (a global or part of one); %s", id.Name, hintShared)
		}
	}
	return "the value was made when the script loaded; " + hintShared
}

// isGlobal reports whether name is a global of file f.
func isGlobal(f *syntax.File, name string) bool {
	m, ok := f.Module.(*resolve.Module)
	if !ok {
		return false
	}
	for _, b := range m.Globals {
		if b.First != nil && b.First.Name == name {
			return true
		}
	}
	for _, b := range m.Locals {
		if b.First != nil && b.First.Name == name && isLoaded(f, b) {
			return true
		}
	}
	return false
}

// isLoaded reports whether binding b is a name bound by load(): a
// file-local, as frozen as a global.
func isLoaded(f *syntax.File, b *resolve.Binding) bool {
	for _, st := range f.Stmts {
		if ld, ok := st.(*syntax.LoadStmt); ok && slices.Contains(ld.To, b.First) {
			return true
		}
	}
	return false
}

// frozenRoot finds the expression a frozen-value error points at (the [
// of x[k] = v, the ( of x.append(v)) and returns the name it starts from.
func frozenRoot(f *syntax.File, pos syntax.Position) *syntax.Ident {
	var root *syntax.Ident
	syntax.Walk(f, func(n syntax.Node) bool {
		if root != nil {
			return false
		}
		var x syntax.Expr
		switch e := n.(type) {
		case *syntax.IndexExpr:
			if samePos(e.Lbrack, pos) {
				x = e.X
			}
		case *syntax.CallExpr:
			if samePos(e.Lparen, pos) {
				if d, ok := e.Fn.(*syntax.DotExpr); ok {
					x = d.X
				}
			}
		}
		if x != nil {
			root = rootIdent(x)
		}
		return true
	})
	return root
}

// samePos compares positions in one file (a Position's file name is a
// pointer, different in each parse).
func samePos(a, b syntax.Position) bool { return a.Line == b.Line && a.Col == b.Col }

// rootIdent is the name an expression such as a.b[c].d starts from.
func rootIdent(x syntax.Expr) *syntax.Ident {
	for {
		switch e := x.(type) {
		case *syntax.Ident:
			return e
		case *syntax.DotExpr:
			x = e.X
		case *syntax.IndexExpr:
			x = e.X
		case *syntax.ParenExpr:
			x = e.X
		default:
			return nil
		}
	}
}
