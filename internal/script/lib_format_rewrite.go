package script

import "go.starlark.net/syntax"

// rewritePercent replaces every `x % y` in a parsed file with a call of
// percentName, at the position of the operator so errors still point
// there. `x %= y` becomes `x = x % y` when evaluating x twice is harmless
// (names, attributes and indexes without calls); otherwise it is left to
// Starlark's own %.
func rewritePercent(f *syntax.File) {
	rwStmts(f.Stmts)
}

func percentCall(pos syntax.Position, x, y syntax.Expr) *syntax.CallExpr {
	return &syntax.CallExpr{
		Fn:     &syntax.Ident{NamePos: pos, Name: percentName},
		Lparen: pos, Rparen: pos,
		Args: []syntax.Expr{x, y},
	}
}

func rwStmts(stmts []syntax.Stmt) {
	for _, s := range stmts {
		switch s := s.(type) {
		case *syntax.AssignStmt:
			s.LHS, s.RHS = rw(s.LHS), rw(s.RHS)
			if s.Op == syntax.PERCENT_EQ {
				if lhs, ok := copyPure(s.LHS); ok {
					s.Op, s.RHS = syntax.EQ, percentCall(s.OpPos, lhs, s.RHS)
				}
			}
		case *syntax.ExprStmt:
			s.X = rw(s.X)
		case *syntax.IfStmt:
			s.Cond = rw(s.Cond)
			rwStmts(s.True)
			rwStmts(s.False)
		case *syntax.ForStmt:
			s.Vars, s.X = rw(s.Vars), rw(s.X)
			rwStmts(s.Body)
		case *syntax.WhileStmt:
			s.Cond = rw(s.Cond)
			rwStmts(s.Body)
		case *syntax.DefStmt:
			rwList(s.Params)
			rwStmts(s.Body)
		case *syntax.ReturnStmt:
			s.Result = rw(s.Result)
		}
	}
}

func rwList(l []syntax.Expr) {
	for i := range l {
		l[i] = rw(l[i])
	}
}

func rw(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.BinaryExpr:
		e.X, e.Y = rw(e.X), rw(e.Y)
		if e.Op == syntax.PERCENT {
			if lit, ok := e.X.(*syntax.Literal); ok && lit.Token != syntax.STRING {
				return e // 10 % n is never a format
			}
			return percentCall(e.OpPos, e.X, e.Y)
		}
	case *syntax.CallExpr:
		e.Fn = rw(e.Fn)
		rwList(e.Args)
	case *syntax.Comprehension:
		e.Body = rw(e.Body)
		for _, c := range e.Clauses {
			switch c := c.(type) {
			case *syntax.ForClause:
				c.Vars, c.X = rw(c.Vars), rw(c.X)
			case *syntax.IfClause:
				c.Cond = rw(c.Cond)
			}
		}
	case *syntax.CondExpr:
		e.Cond, e.True, e.False = rw(e.Cond), rw(e.True), rw(e.False)
	case *syntax.DictEntry:
		e.Key, e.Value = rw(e.Key), rw(e.Value)
	case *syntax.DictExpr:
		rwList(e.List)
	case *syntax.DotExpr:
		e.X = rw(e.X)
	case *syntax.IndexExpr:
		e.X, e.Y = rw(e.X), rw(e.Y)
	case *syntax.LambdaExpr:
		rwList(e.Params)
		e.Body = rw(e.Body)
	case *syntax.ListExpr:
		rwList(e.List)
	case *syntax.ParenExpr:
		e.X = rw(e.X)
	case *syntax.SliceExpr:
		e.X, e.Lo, e.Hi, e.Step = rw(e.X), rw(e.Lo), rw(e.Hi), rw(e.Step)
	case *syntax.TupleExpr:
		rwList(e.List)
	case *syntax.UnaryExpr:
		e.X = rw(e.X)
	}
	return e
}

// copyPure copies an assignment target for reading it again, if reading
// it twice has no effect beyond the first read.
func copyPure(e syntax.Expr) (syntax.Expr, bool) {
	switch e := e.(type) {
	case *syntax.Ident:
		return &syntax.Ident{NamePos: e.NamePos, Name: e.Name}, true
	case *syntax.Literal:
		c := *e
		return &c, true
	case *syntax.DotExpr:
		x, ok := copyPure(e.X)
		if !ok {
			return nil, false
		}
		return &syntax.DotExpr{X: x, Dot: e.Dot, NamePos: e.NamePos, Name: &syntax.Ident{NamePos: e.Name.NamePos, Name: e.Name.Name}}, true
	case *syntax.IndexExpr:
		x, ok1 := copyPure(e.X)
		y, ok2 := copyPure(e.Y)
		if !ok1 || !ok2 {
			return nil, false
		}
		return &syntax.IndexExpr{X: x, Lbrack: e.Lbrack, Y: y, Rbrack: e.Rbrack}, true
	case *syntax.ParenExpr:
		return copyPure(e.X)
	}
	return nil, false
}
