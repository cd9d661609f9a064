package script

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	sljson "go.starlark.net/lib/json"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// MaxBundleBytes bounds the script's files together: the main file, what
// it load()s and the data files it reads. A master ships all of them to
// every worker in one message, so the bound keeps that message well under
// the protocol's 64 MiB limit.
const MaxBundleBytes = 32 << 20

// loaderKey marks a thread that runs a file's top level: data.* and
// shared.* work only there (loaded once, before any user runs).
const loaderKey = "stampede.loader"

// loading is what a top-level thread knows about the file it runs.
type loading struct {
	l    *loader
	file string // relative to the script directory
}

// topLevel returns the loader running t's file, or an error naming fn
// when t is a user's, a hook's or a shape's thread.
func topLevel(t *starlark.Thread, fn string) (*loading, error) {
	if ld, ok := t.Local(loaderKey).(*loading); ok {
		return ld, nil
	}
	return nil, fmt.Errorf("%s can only be called at the top level of the script (it runs once, when the script is loaded): "+
		"call it outside any function and keep the result in a global", fn)
}

// addFile records a file of the bundle, enforcing MaxBundleBytes.
func (l *loader) addFile(name string, b []byte) error {
	if old, ok := l.files[name]; ok {
		l.size -= len(old)
	}
	if l.size+len(b) > MaxBundleBytes {
		return fmt.Errorf("%s: the script's files would take %.1f MiB in all, more than the %d MiB a master ships to its workers",
			name, float64(l.size+len(b))/(1<<20), MaxBundleBytes>>20)
	}
	l.size += len(b)
	l.files[name] = b
	return nil
}

// readLimited reads at most MaxBundleBytes (and a byte more, to tell an
// oversized file), so a huge file is refused without being read whole.
func readLimited(f *os.File, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxBundleBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxBundleBytes {
		return nil, fmt.Errorf("the file is larger than the %d MiB a master ships to its workers", MaxBundleBytes>>20)
	}
	return b, nil
}

// dataModule is `data`: files of the script's folder, read once at load
// time and shared read-only by every user. They become part of the
// script's files, so a master ships them to its workers.
func dataModule() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "data", Members: starlark.StringDict{
		"csv":   starlark.NewBuiltin("data.csv", dataCSV),
		"lines": starlark.NewBuiltin("data.lines", dataFile(decodeLines)),
		"json":  starlark.NewBuiltin("data.json", dataFile(decodeJSON)),
		"read":  starlark.NewBuiltin("data.read", dataFile(decodeRead)),
	}}
}

// readData reads path (relative to the calling file, as load() resolves
// it) into the bundle. The name it returns is relative to the script
// directory, for error messages.
func readData(t *starlark.Thread, fn, path string) (string, []byte, error) {
	ld, err := topLevel(t, fn)
	if err != nil {
		return "", nil, err
	}
	name, err := resolveLoad(ld.file, path)
	if err != nil {
		return "", nil, fmt.Errorf("%s(%q): %v", fn, path, err)
	}
	l := ld.l
	b, ok := l.files[name]
	if !ok {
		if b, err = l.src(name); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				err = errors.New("no such file")
			}
			return "", nil, fmt.Errorf("%s(%q): %v", fn, path, err)
		}
		if err := l.addFile(name, b); err != nil {
			return "", nil, fmt.Errorf("%s: %v", fn, err)
		}
	}
	return name, b, nil
}

var utf8BOM = []byte("\xef\xbb\xbf")

func pathArg(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, extra ...any) (string, error) {
	var path string
	pairs := append([]any{"path", &path}, extra...)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, pairs...); err != nil {
		return "", err
	}
	return path, nil
}

// dataCSV is data.csv(path, delimiter=",", fieldnames=None): a frozen
// list of dicts, one per row, keyed by the header row, or by fieldnames
// for a file without one (as Python's csv.DictReader).
func dataCSV(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	delim := ","
	var fields starlark.Sequence
	path, err := pathArg(b, args, kwargs, "delimiter?", &delim, "fieldnames?", &fields)
	if err != nil {
		return nil, err
	}
	var header []string
	if fields != nil {
		it := fields.Iterate()
		defer it.Done()
		for x := starlark.Value(nil); it.Next(&x); {
			f, ok := starlark.AsString(x)
			if !ok {
				return nil, fmt.Errorf("%s: fieldnames must be strings, got %s", b.Name(), x.Type())
			}
			header = append(header, f)
		}
		if len(header) == 0 {
			return nil, fmt.Errorf("%s: fieldnames is empty", b.Name())
		}
	}
	if len([]rune(delim)) != 1 || delim == "\"" || delim == "\n" || delim == "\r" {
		return nil, fmt.Errorf("%s: delimiter must be one character other than a quote or a line break, got %q", b.Name(), delim)
	}
	name, src, err := readData(t, b.Name(), path)
	if err != nil {
		return nil, err
	}
	rows, err := parseCSV(name, bytes.TrimPrefix(src, utf8BOM), []rune(delim)[0], header)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	rows.Freeze()
	return rows, nil
}

// parseCSV reads the rows of a CSV file, keyed by header, or by its first
// row when header is nil.
func parseCSV(name string, src []byte, delim rune, header []string) (*starlark.List, error) {
	r := csv.NewReader(bytes.NewReader(src))
	r.Comma = delim
	where := name + ":1: "
	if header == nil {
		var err error
		header, err = r.Read()
		if err == io.EOF {
			return nil, fmt.Errorf("%s is empty: its first row must be the header (the column names), or give fieldnames=[...]", name)
		}
		if err != nil {
			return nil, csvError(name, err)
		}
	} else {
		r.FieldsPerRecord = len(header)
		where = "fieldnames: "
	}
	keys := make([]starlark.Value, len(header))
	seen := make(map[string]int, len(header))
	for i, h := range header {
		if h == "" {
			return nil, fmt.Errorf("%scolumn %d of the header has no name", where, i+1)
		}
		if j, dup := seen[h]; dup {
			return nil, fmt.Errorf("%scolumns %d and %d of the header are both named %q", where, j+1, i+1, h)
		}
		seen[h] = i
		keys[i] = starlark.String(h)
	}
	var rows []starlark.Value
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(name, err)
		}
		d := starlark.NewDict(len(keys))
		for i, v := range rec {
			_ = d.SetKey(keys[i], starlark.String(v))
		}
		rows = append(rows, d)
	}
	return starlark.NewList(rows), nil
}

func csvError(name string, err error) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("%s: %v", name, err)
	}
	if errors.Is(pe.Err, csv.ErrFieldCount) {
		return fmt.Errorf("%s:%d: the row has a different number of fields than the header", name, pe.StartLine)
	}
	return fmt.Errorf("%s:%d:%d: %v", name, pe.Line, pe.Column, pe.Err)
}

// dataFile makes data.lines, data.json and data.read: they take a path,
// read the file and decode it.
func dataFile(decode func(t *starlark.Thread, src []byte) (starlark.Value, error)) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		path, err := pathArg(b, args, kwargs)
		if err != nil {
			return nil, err
		}
		name, src, err := readData(t, b.Name(), path)
		if err != nil {
			return nil, err
		}
		v, err := decode(t, src)
		if err != nil {
			return nil, fmt.Errorf("%s: %s%v", b.Name(), name, err)
		}
		v.Freeze()
		return v, nil
	}
}

// decodeLines is data.lines(path): the file's lines without their line
// endings; empty lines are skipped.
func decodeLines(_ *starlark.Thread, src []byte) (starlark.Value, error) {
	var lines []starlark.Value
	for line := range strings.SplitSeq(string(bytes.TrimPrefix(src, utf8BOM)), "\n") {
		if line = strings.TrimSuffix(line, "\r"); line != "" {
			lines = append(lines, starlark.String(line))
		}
	}
	return starlark.NewList(lines), nil
}

// decodeJSON is data.json(path): the decoded document. Its errors start
// with ":line:col: " or ": ", to follow the file's name.
func decodeJSON(t *starlark.Thread, src []byte) (starlark.Value, error) {
	src = bytes.TrimPrefix(src, utf8BOM)
	// Go's decoder says where a document is broken; Starlark's builds the
	// values.
	var probe any
	if err := json.Unmarshal(src, &probe); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := position(src, se.Offset-1) // Offset is just past the bad byte
			return nil, fmt.Errorf(":%d:%d: %v", line, col, se)
		}
		return nil, fmt.Errorf(": %v", err)
	}
	v, err := starlark.Call(t, sljson.Module.Members["decode"], starlark.Tuple{starlark.String(src)}, nil)
	if err != nil {
		return nil, fmt.Errorf(": %v", err)
	}
	return v, nil
}

// position turns a byte offset into a 1-based line and column.
func position(src []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(src)))
	before := src[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = len(before) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// decodeRead is data.read(path): the file's bytes unchanged, as a string
// (a Starlark string holds any bytes, e.g. a file to upload).
func decodeRead(_ *starlark.Thread, src []byte) (starlark.Value, error) {
	return starlark.String(src), nil
}
