// Package script loads Stampede test scripts (Starlark) and runs their
// tasks for virtual users.
//
// A script is executed once and frozen; every virtual user then calls the
// frozen functions on its own starlark.Thread, so users share the script
// without locks and cost about a kilobyte each. Scripts are sandboxed: they
// cannot read files, the environment or start processes, which is what lets
// a master ship them to remote workers.
package script

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Options configures loading.
type Options struct {
	// Vars are the --var KEY=VALUE pairs, visible to scripts as `vars`.
	Vars map[string]string
	// MaxSteps bounds the Starlark execution steps of one task call (and
	// of the module's top level), so a runaway loop becomes an error
	// instead of a hung user. Zero means DefaultMaxSteps.
	MaxSteps uint64
	// MaxCallDepth bounds nested calls (recursion) on one thread, so a
	// runaway recursion becomes an error instead of a process killed
	// for its stack. Zero means DefaultMaxCallDepth.
	MaxCallDepth int
	// Go are user classes written in Go (NewGoClass), run beside the
	// script's own: a program built on package load passes its classes
	// to every script it loads.
	Go []*UserClass
}

// DefaultMaxSteps is about a second of pure Starlark computation.
const DefaultMaxSteps = 50_000_000

// Script is a loaded, frozen test script.
type Script struct {
	// Main is the name of the main file, as given (it appears in error
	// messages and reports).
	Main string
	// Files holds the source of the main file and of every file it
	// load()s, keyed by name relative to the main file's directory (the
	// main file under its base name). A master ships these to workers.
	Files map[string][]byte
	// Hash is the SHA-256 of Files, so master and workers can check they
	// run the same test.
	Hash string
	// Host is the script's top-level `host`, if any.
	Host string
	// Classes are the user classes, in the order of their global names.
	Classes []*UserClass
	// Excluded names the classes a tag selection left without tasks
	// (see SelectTags).
	Excluded []string
	// Thresholds is the script's top-level `thresholds` list, if any.
	Thresholds []string
	// Globals are the frozen module globals.
	Globals starlark.StringDict
	// Workload is the script's top-level stages, shape, arrival_rate and
	// arrival_stages, if any (see workload.go).
	Workload Workload

	opts Options
	// shared are the script's shared.queue and shared.counter values.
	shared []resetter
	// part is this process's share, set by StartTest (VU.Partition).
	part Partition
	// setup and teardown are the test-level hooks (hooks.go).
	setup, teardown *starlark.Function
	// usesHTTP: some file mentions <x>.http (lint.go).
	usesHTTP bool
	tls      *tlsCache // shared with the copies SelectTags makes
	// syntax holds the parsed, resolved files, for the static checks and
	// to explain run-time errors (explain.go).
	syntax map[string]*syntax.File
	// explained caches explain's hints by error position and message.
	explained *hintCache
	// panicLogged: a recovered panic was logged (once per script, shared
	// by its SelectTags copies: the exceptions table counts them all)
	panicLogged *atomic.Bool
}

// fileSource returns a file's content by its name relative to the script
// directory.
type fileSource func(name string) ([]byte, error)

// LoadFile loads a script from disk. Files it load()s must be inside the
// script's directory tree.
//
// They are read through an os.Root, so a symlink in that tree that leads
// out of it is refused like "../x.star": otherwise a script could pull any
// file the master can read into what it ships to every worker. The main
// file is the one the user named and is read as given.
func LoadFile(file string, o Options) (*Script, error) {
	dir := filepath.Dir(file)
	main := filepath.Base(file)
	root, rootErr := os.OpenRoot(dir)
	if rootErr == nil {
		defer root.Close()
	}
	src := func(name string) ([]byte, error) {
		if name == main {
			return readLimited(os.Open(filepath.Join(dir, main)))
		}
		if rootErr != nil {
			return nil, rootErr
		}
		b, err := readLimited(root.Open(filepath.FromSlash(name)))
		if err != nil && !errors.Is(err, os.ErrNotExist) && leavesDir(dir, name) {
			return nil, errors.New("the file is outside the script's directory (through a symlink)")
		}
		return b, err
	}
	if strings.EqualFold(filepath.Ext(file), ".py") {
		return nil, &LoadError{Msg: file + ": " + msgPython}
	}
	// The main file is named as the user gave it (-f dir/test.star), not
	// by the base name that positions inside the script use.
	if fi, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		return nil, &LoadError{Msg: fmt.Sprintf("cannot load %s: no such file", file)}
	} else if err == nil && fi.IsDir() {
		return nil, &LoadError{Msg: fmt.Sprintf("cannot load %s: is a directory, not a .star file", file)}
	}
	s, err := load(main, src, o)
	if err != nil {
		return nil, err
	}
	s.Main = file
	return s, nil
}

// leavesDir reports whether name, relative to dir, resolves to a file
// outside dir once symlinks are followed (it names the error os.Root gives).
func leavesDir(dir, name string) bool {
	base, err1 := filepath.EvalSymlinks(dir)
	target, err2 := filepath.EvalSymlinks(filepath.Join(dir, filepath.FromSlash(name)))
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(base, target)
	return err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// LoadFiles loads a script from sources held in memory, as a worker does
// with the files its master sent. main names the main file in files.
func LoadFiles(main string, files map[string][]byte, o Options) (*Script, error) {
	if main == "" && len(files) == 0 {
		return LoadGo(o) // a test of Go classes alone
	}
	src := func(name string) ([]byte, error) {
		b, ok := files[name]
		if !ok {
			return nil, fmt.Errorf("%s: %w", name, os.ErrNotExist)
		}
		return b, nil
	}
	return load(main, src, o)
}

// LoadError is a script that did not load. Its message starts with
// file:line:col where the position is known.
type LoadError struct {
	Msg string
	// Backtrace is the Starlark call stack, for errors raised while the
	// top level runs.
	Backtrace string
}

func (e *LoadError) Error() string { return e.Msg }

func load(main string, src fileSource, o Options) (*Script, error) {
	if o.MaxSteps == 0 {
		o.MaxSteps = DefaultMaxSteps
	}
	if o.MaxCallDepth <= 0 {
		o.MaxCallDepth = DefaultMaxCallDepth
	}
	l := &loader{src: src, opts: o, files: map[string][]byte{}, cache: map[string]*loadEntry{}}
	globals, err := l.exec(main, "")
	if err != nil {
		return nil, err
	}
	s := newScript(main, l.files, globals, o, l.shared)
	if err := s.collect(); err != nil {
		return nil, &LoadError{Msg: main + ": " + err.Error()}
	}
	if err := s.collectHooks(); err != nil {
		return nil, &LoadError{Msg: err.Error()}
	}
	if err := s.lint(); err != nil {
		return nil, err
	}
	return s, nil
}

func newScript(main string, files map[string][]byte, globals starlark.StringDict, o Options, shared []resetter) *Script {
	s := &Script{Main: main, Files: files, Globals: globals, opts: o, shared: shared, tls: &tlsCache{}, explained: &hintCache{},
		panicLogged: new(atomic.Bool)}
	s.Hash = HashFiles(files)
	s.syntax = make(map[string]*syntax.File, len(files))
	for name, src := range files {
		if f, ok := parseResolved(name, src); ok {
			s.syntax[name] = f
		}
	}
	return s
}

// HashFiles is the content hash of a script's files.
func HashFiles(files map[string][]byte) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%d:%s\n%d:", len(n), n, len(files[n]))
		h.Write(files[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}

type loadEntry struct {
	globals starlark.StringDict
	err     error
}

type loader struct {
	src   fileSource
	opts  Options
	files map[string][]byte
	size  int // of files, bounded by MaxBundleBytes
	cache map[string]*loadEntry
	// shared are the queues and counters the script made (shared.go).
	shared []resetter
}

var fileOptions = &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}

// exec runs one file (name is relative to the script directory).
func (l *loader) exec(name, from string) (starlark.StringDict, error) {
	if e, ok := l.cache[name]; ok {
		if e == nil {
			return nil, fmt.Errorf("cycle in load graph involving %s", name)
		}
		return e.globals, e.err
	}
	l.cache[name] = nil
	src, err := l.src(name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			err = errors.New("no such file")
		}
		if from == "" {
			return nil, &LoadError{Msg: fmt.Sprintf("cannot load %s: %v", name, err)}
		}
		return nil, err // Starlark prefixes "cannot load <module>: "
	}
	if err := l.addFile(name, src); err != nil {
		return nil, &LoadError{Msg: err.Error()}
	}
	thread := &starlark.Thread{
		Name:  "load " + name,
		Print: func(*starlark.Thread, string) {}, // top-level prints are dropped: no user to attribute them to
		Load: func(t *starlark.Thread, module string) (starlark.StringDict, error) {
			target, err := resolveLoad(name, module)
			if err != nil {
				return nil, err
			}
			return l.exec(target, name)
		},
	}
	limitThread(thread, l.opts.MaxSteps, l.opts.MaxCallDepth)
	setRand(thread, newRand(0, -1))
	thread.SetLocal(loaderKey, &loading{l: l, file: name})
	globals, err := execFile(thread, name, src, fileEnv(l.opts.Vars))
	if err != nil {
		err = loadError(err)
		if looksLikePython(src) {
			err = &LoadError{Msg: fmt.Sprintf("%s: %s (%v)", name, msgPython, err)}
		}
	} else {
		globals.Freeze()
	}
	l.cache[name] = &loadEntry{globals, err}
	return globals, err
}

// execFile parses, compiles and runs one file, with `x % y` rewritten to
// Python's formatting (see rewritePercent).
func execFile(thread *starlark.Thread, name string, src []byte, pre starlark.StringDict) (starlark.StringDict, error) {
	f, err := fileOptions.Parse(name, src, 0)
	if err != nil {
		return nil, err
	}
	rewritePercent(f)
	pre[percentName] = starlark.NewBuiltin(percentName, percentOp)
	prog, err := starlark.FileProgram(f, pre.Has)
	if err != nil {
		return nil, err
	}
	return prog.Init(thread, pre)
}

// fileEnv is what every script file sees besides Starlark's builtins:
// the predeclared names and the data and shared modules.
func fileEnv(vars map[string]string) starlark.StringDict {
	env := predeclared(vars)
	env["data"], env["shared"] = dataModule(), sharedModule()
	return env
}

// resolveLoad turns a load() argument into a name relative to the script
// directory; it may not leave that directory.
func resolveLoad(from, module string) (string, error) {
	if path.IsAbs(module) || strings.Contains(module, "\\") {
		return "", errors.New("only paths relative to the script are allowed") // Starlark prefixes "cannot load <module>: "
	}
	target := path.Clean(path.Join(path.Dir(from), module))
	if target == ".." || strings.HasPrefix(target, "../") {
		return "", errors.New("the file is outside the script's directory")
	}
	return target, nil
}

// loadError formats a Starlark error as file:line:col: message.
func loadError(err error) error {
	var le *LoadError
	if errors.As(err, &le) {
		return le
	}
	var se syntax.Error
	if errors.As(err, &se) {
		return &LoadError{Msg: fmt.Sprintf("%s: %s", se.Pos, se.Msg)}
	}
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		pos := ""
		if len(ee.CallStack) > 0 {
			pos = ee.CallStack.At(0).Pos.String() + ": "
			// the innermost Starlark frame says where the script went wrong
			for i := len(ee.CallStack) - 1; i >= 0; i-- {
				if p := ee.CallStack[i].Pos; p.Line > 0 {
					pos = p.String() + ": "
					break
				}
			}
		}
		return &LoadError{Msg: pos + boundText(ee.Msg), Backtrace: boundedBacktrace(ee)}
	}
	// resolve errors come as a list of syntax.Errors
	if el, ok := err.(interface{ Unwrap() []error }); ok {
		var msgs []string
		for _, e := range el.Unwrap() {
			msgs = append(msgs, loadError(e).Error())
		}
		return &LoadError{Msg: strings.Join(msgs, "\n")}
	}
	return &LoadError{Msg: err.Error()}
}

// collect finds the user classes, host and thresholds among the globals.
func (s *Script) collect() error {
	names := make([]string, 0, len(s.Globals))
	for n := range s.Globals {
		names = append(names, n)
	}
	sort.Strings(names)
	seen := map[*UserClass]bool{}
	byName := map[string]bool{}
	for _, n := range names {
		uc, ok := s.Globals[n].(*UserClass)
		if !ok || seen[uc] {
			continue
		}
		seen[uc] = true
		if uc.Name == "" {
			uc.Name = n
		}
		if byName[uc.Name] {
			return fmt.Errorf("two user classes are named %q", uc.Name)
		}
		byName[uc.Name] = true
		if err := s.resolveTLS(uc); err != nil {
			return fmt.Errorf("user %s: %w", uc.Name, err)
		}
		s.Classes = append(s.Classes, uc)
	}
	for _, uc := range s.opts.Go {
		if byName[uc.Name] {
			return fmt.Errorf("two user classes are named %q (a Go class and a script class, or two Go classes)", uc.Name)
		}
		byName[uc.Name] = true
		s.Classes = append(s.Classes, uc)
	}
	if len(s.Classes) == 0 {
		return errors.New("no user classes: bind user(tasks=...) to a global, e.g. `visitor = user(tasks=[browse])`")
	}
	if v, ok := s.Globals["host"]; ok {
		h, ok := starlark.AsString(v)
		if !ok {
			return fmt.Errorf("host must be a string, got %s", v.Type())
		}
		s.Host = h
	}
	if v, ok := s.Globals["thresholds"]; ok {
		list, ok := v.(*starlark.List)
		if !ok {
			return fmt.Errorf("thresholds must be a list of strings, got %s", v.Type())
		}
		for i := 0; i < list.Len(); i++ {
			t, ok := starlark.AsString(list.Index(i))
			if !ok {
				return fmt.Errorf("thresholds[%d] must be a string, got %s", i, list.Index(i).Type())
			}
			s.Thresholds = append(s.Thresholds, t)
		}
	}
	return s.collectWorkload()
}

// Class returns the user class with the given name, or nil.
func (s *Script) Class(name string) *UserClass {
	for _, c := range s.Classes {
		if c.Name == name {
			return c
		}
	}
	return nil
}
