package web

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/stampede-load/stampede/internal/engine"
)

// The start form's custom parameters are the script's --var values. As
// Locust accepts only the custom arguments a locustfile declares, only
// the keys given with --var on the command line can be set: the script
// reads exactly those, and a typo must not start a test that silently
// ignores it.
const (
	varField    = "var." // form field of var KEY: var.KEY
	maxVarValue = 8 << 10
)

// isSecretVar says whether a var's name looks like it holds a secret: its
// value is then never sent to the page (nor echoed in any answer or log),
// and an empty field keeps the command line's value.
func isSecretVar(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"pass", "pwd", "secret", "token", "key", "auth", "credential", "cookie", "session", "private"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// varInfo is one custom parameter as /api/info lists it.
type varInfo struct {
	Name   string `json:"name"`
	Value  string `json:"value"` // empty for a secret
	Secret bool   `json:"secret"`
}

// varInfos lists the command line's vars for the start form, secrets
// without their values.
func (s *Server) varInfos() []varInfo {
	out := []varInfo{}
	for _, k := range slices.Sorted(maps.Keys(s.cfg.Vars)) {
		v := varInfo{Name: k, Secret: isSecretVar(k)}
		if !v.Secret {
			v.Value = s.cfg.Vars[k]
		}
		out = append(out, v)
	}
	return out
}

// swarmVars reads the var.KEY fields. Changed values load the script
// again with them (vars are read when the script loads), and the test
// runs that script: p.Script, p.Vars. Like the user classes, they are
// chosen when a test starts.
func (s *Server) swarmVars(f fieldValues, running bool, p *engine.Params) error {
	given := map[string]string{}
	for k := range f {
		if name, ok := strings.CutPrefix(k, varField); ok {
			given[name], _ = f.get(k)
		}
	}
	if len(given) == 0 {
		return nil
	}
	base := s.cfg.Vars
	if running && p.Vars != nil {
		base = p.Vars
	}
	vars := maps.Clone(base)
	if vars == nil {
		vars = map[string]string{}
	}
	for _, name := range slices.Sorted(maps.Keys(given)) {
		v, field := given[name], varField+name
		if _, ok := s.cfg.Vars[name]; !ok {
			if len(name) > 100 {
				name = name[:100] + "…"
			}
			have := "none: give them with --var KEY=VALUE"
			if len(s.cfg.Vars) > 0 {
				have = strings.Join(slices.Sorted(maps.Keys(s.cfg.Vars)), ", ")
			}
			return &engine.FieldError{Field: varField + name, Msg: fmt.Sprintf("%q is not a custom parameter of this test (only the --var keys of the command line can be set; have %s)", name, have)}
		}
		if len(v) > maxVarValue {
			return &engine.FieldError{Field: field, Msg: fmt.Sprintf("at most %d bytes", maxVarValue)}
		}
		if v == "" && isSecretVar(name) {
			continue // the form never shows a secret: empty keeps it
		}
		vars[name] = v
	}
	switch {
	case running && !maps.Equal(vars, base):
		return &engine.FieldError{Field: varField + firstChanged(vars, base), Msg: "cannot change the custom parameters of a running test; stop it first"}
	case running:
		return nil
	case maps.Equal(vars, s.cfg.Vars):
		p.Script, p.Vars = nil, nil
		return nil
	case s.cfg.LoadScript == nil:
		return &engine.FieldError{Field: varField + firstChanged(vars, s.cfg.Vars), Msg: "the custom parameters cannot be changed here"}
	}
	sc, err := s.cfg.LoadScript(vars)
	if err != nil {
		return &engine.FieldError{Field: varField + firstChanged(vars, s.cfg.Vars), Msg: "the script does not load with these custom parameters: " + hideSecrets(err.Error(), vars)}
	}
	p.Script, p.Vars = sc, vars
	return nil
}

// firstChanged is the first key (by name) whose value differs.
func firstChanged(a, b map[string]string) string {
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if a[k] != b[k] {
			return k
		}
	}
	return ""
}

// hideSecrets replaces the values of secret vars in a message (a load
// error may quote one: int("hunter2")).
func hideSecrets(msg string, vars map[string]string) string {
	for k, v := range vars {
		if v != "" && isSecretVar(k) {
			msg = strings.ReplaceAll(msg, v, "***")
		}
	}
	return msg
}
