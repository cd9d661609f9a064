package script

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"go.starlark.net/starlark"
)

// User classes written in Go (the public package load builds them). A Go
// task or hook is wrapped as a Starlark builtin taking the user, so the
// VU runs it exactly like a script function: the same task picking,
// weights, tags, wait times, request recording with the task's verdicts,
// exceptions, interrupts, and the same runner, cluster and outputs.

// GoTask is a task of a Go user class.
type GoTask struct {
	Name   string
	Weight int
	Tags   []string
	Fn     func(*VU) error
}

// GoClass describes a user class written in Go.
type GoClass struct {
	Name       string
	Weight     int
	FixedCount int
	Host       string
	// Wait is the wait between tasks (nil: constant(0), Locust's default).
	Wait *WaitTime
	// Tags apply to every task of the class.
	Tags            []string
	Tasks           []GoTask
	OnStart, OnStop func(*VU) error
	// New makes the Go value of one virtual user (VU.Native).
	New func(*VU) any
}

// native is what a Go class adds to a UserClass.
type native struct {
	newUser     func(*VU) any
	fingerprint string
}

// maxGoName bounds a Go class's or task's name (they become labels in
// every output and travel in a worker's hello).
const maxGoName = 128

// NewGoClass checks g and makes it a user class the runner can run.
func NewGoClass(g GoClass) (*UserClass, error) {
	if err := checkGoName("class name", g.Name); err != nil {
		return nil, err
	}
	what := "Go user class " + g.Name
	switch {
	case g.Weight < 0:
		return nil, fmt.Errorf("%s: Weight must be >= 0, got %d", what, g.Weight)
	case g.FixedCount < 0:
		return nil, fmt.Errorf("%s: FixedCount must be >= 0, got %d", what, g.FixedCount)
	case len(g.Tasks) == 0:
		return nil, fmt.Errorf("%s: needs at least one task", what)
	}
	c := &UserClass{Name: g.Name, Weight: g.Weight, FixedCount: g.FixedCount, Host: g.Host,
		native: &native{newUser: g.New}}
	c.Wait = g.Wait
	if c.Wait == nil {
		c.Wait = &WaitTime{Kind: WaitConstant}
	}
	if w := c.Wait; w.Kind == WaitFunc || w.Min < 0 || w.Kind == WaitBetween && w.Max < w.Min {
		return nil, fmt.Errorf("%s: Wait %s is not a valid wait time", what, c.Wait)
	}
	for _, t := range g.Tasks {
		if err := checkGoName(what+": task name", t.Name); err != nil {
			return nil, err
		}
		if t.Fn == nil {
			return nil, fmt.Errorf("%s: task %s has no function", what, t.Name)
		}
		if t.Weight < 0 || t.Weight > maxTaskWeight {
			return nil, fmt.Errorf("%s: weight of task %s must be between 0 and %d, got %d", what, t.Name, maxTaskWeight, t.Weight)
		}
		for _, tag := range t.Tags {
			if err := checkGoName(what+": a tag of task "+t.Name, tag); err != nil {
				return nil, err
			}
		}
		c.Tasks = append(c.Tasks, Task{Name: t.Name, Fn: goBuiltin(t.Name, t.Fn), Weight: t.Weight,
			Tags: appendTags(appendTags(nil, g.Tags...), t.Tags...)})
	}
	if err := c.finish(what); err != nil {
		return nil, err
	}
	c.markTimed()
	if g.OnStart != nil {
		c.OnStart = goBuiltin("on_start", g.OnStart)
	}
	if g.OnStop != nil {
		c.OnStop = goBuiltin("on_stop", g.OnStop)
	}
	c.name = g.Name
	c.native.fingerprint = fingerprint(c)
	return c, nil
}

func checkGoName(what, n string) error {
	if n == "" || len(n) > maxGoName || !utf8.ValidString(n) || strings.ContainsAny(n, "\x00\r\n,") {
		return fmt.Errorf("%s %q must be 1 to %d bytes of text without commas or line breaks", what, n, maxGoName)
	}
	return nil
}

// goBuiltin wraps a Go task or hook as a builtin of the user value.
func goBuiltin(name string, fn func(*VU) error) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		u, ok := args[0].(*userValue)
		if !ok || len(args) != 1 {
			return nil, errors.New("a Go task is called with its user only")
		}
		if err := fn(u.vu); err != nil {
			return nil, err
		}
		return starlark.None, nil
	})
}

// fingerprint identifies what a class declares: a worker built from
// another version of the Go program usually differs here.
func fingerprint(c *UserClass) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%q %d %d %q %d %d %d\n", c.Name, c.Weight, c.FixedCount, c.Host, c.Wait.Kind, c.Wait.Min, c.Wait.Max)
	for _, t := range c.Tasks {
		fmt.Fprintf(&b, "%q %d %q\n", t.Name, t.Weight, t.Tags)
	}
	fmt.Fprintf(&b, "%t %t\n", c.OnStart != nil, c.OnStop != nil)
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// IsGo reports whether the class is written in Go.
func (c *UserClass) IsGo() bool { return c.native != nil }

// GoSignature names Go classes (sorted) and hashes their fingerprints,
// so a master can tell whether a worker carries the same ones.
func GoSignature(classes []*UserClass) (names []string, hash string) {
	byName := map[string]string{}
	for _, c := range classes {
		if c.native != nil {
			names = append(names, c.Name)
			byName[c.Name] = c.native.fingerprint
		}
	}
	if len(names) == 0 {
		return nil, ""
	}
	slices.Sort(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\n", byName[n])
	}
	return names, hex.EncodeToString(h.Sum(nil))
}

// Native is the Go value of a user of a Go class (nil for others).
func (v *VU) Native() any { return v.native }

// LoadGo makes the script of a test with Go user classes (o.Go) and no
// Starlark file. Its Main is empty and it has no files.
func LoadGo(o Options) (*Script, error) {
	if len(o.Go) == 0 {
		return nil, &LoadError{Msg: "no test script and no Go user classes"}
	}
	o.MaxSteps = cmp.Or(o.MaxSteps, DefaultMaxSteps)
	if o.MaxCallDepth <= 0 {
		o.MaxCallDepth = DefaultMaxCallDepth
	}
	s := newScript("", map[string][]byte{}, starlark.StringDict{}, o, nil)
	if err := s.collect(); err != nil {
		return nil, &LoadError{Msg: err.Error()}
	}
	return s, nil
}
