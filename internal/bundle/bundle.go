// Package bundle packs a test (its main script, the files it load()s and
// its data files) into one .tar.gz, and reads such an archive back, so a
// multi-file test is deployed as one artifact (a secret volume, a
// ConfigMap) and loaded with -f test.tar.gz.
//
// An archive comes from outside: it is read with bounds (file count, each
// file's size, the total, the compressed size) and only regular files with
// clean relative names are accepted: no absolute paths, no "..", no
// symlinks or other special entries.
package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/script"
)

// ManifestName is the archive entry naming the main file: its content is
// "main: NAME\n".
const ManifestName = ".stampede-bundle"

// Limits of an archive. MaxBytes is what a master ships to its workers,
// so any test that loads can be bundled and read back.
const (
	MaxFiles = 1000
	MaxBytes = script.MaxBundleBytes
)

// Write writes the files as a gzipped tar, main named in the manifest.
// Entries are sorted and carry no owner or time, so the same files give
// the same archive.
func Write(w io.Writer, main string, files map[string][]byte) error {
	if _, ok := files[main]; !ok {
		return fmt.Errorf("bundle: the main file %s is not among the files", main)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		if err := checkName(n); err != nil {
			return err
		}
		names = append(names, n)
	}
	sort.Strings(names)
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	put := func(name string, b []byte) error {
		h := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	if err := put(ManifestName, []byte("main: "+main+"\n")); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	for _, n := range names {
		if err := put(n, files[n]); err != nil {
			return fmt.Errorf("bundle: %s: %w", n, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	return gz.Close()
}

// Read reads an archive written by Write: the main file's name and every
// file by its relative name.
func Read(r io.Reader) (main string, files map[string][]byte, err error) {
	// the compressed stream is bounded too: a gzip bomb stops at MaxBytes
	// of output below, and the input at MaxBytes of its own
	gz, err := gzip.NewReader(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return "", nil, fmt.Errorf("not a .tar.gz bundle: %w", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	files = map[string][]byte{}
	total := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", nil, fmt.Errorf("reading the bundle: %w", err)
		}
		switch h.Typeflag {
		case tar.TypeReg:
		case tar.TypeDir:
			continue
		default:
			return "", nil, fmt.Errorf("bundle entry %q: only regular files are allowed (no symlinks, links or devices)", h.Name)
		}
		name := strings.TrimPrefix(h.Name, "./")
		if err := checkName(name); err != nil && name != ManifestName {
			return "", nil, err
		}
		if _, dup := files[name]; dup {
			return "", nil, fmt.Errorf("bundle entry %q: appears twice", name)
		}
		if len(files) >= MaxFiles {
			return "", nil, fmt.Errorf("the bundle has more than %d files", MaxFiles)
		}
		if h.Size < 0 || int64(total)+h.Size > MaxBytes {
			return "", nil, fmt.Errorf("the bundle's files are larger than %d MiB together (at %q)", MaxBytes>>20, name)
		}
		b, err := io.ReadAll(io.LimitReader(tr, h.Size))
		if err != nil {
			return "", nil, fmt.Errorf("bundle entry %q: %w", name, err)
		}
		total += len(b)
		files[name] = b
	}
	m, ok := files[ManifestName]
	if !ok {
		return "", nil, fmt.Errorf("the archive has no %s entry naming its main file (make bundles with stampede bundle)", ManifestName)
	}
	delete(files, ManifestName)
	main, found := strings.CutPrefix(strings.TrimSpace(string(bytes.SplitN(m, []byte("\n"), 2)[0])), "main: ")
	if !found || main == "" {
		return "", nil, fmt.Errorf("%s: want \"main: NAME\"", ManifestName)
	}
	if _, ok := files[main]; !ok {
		return "", nil, fmt.Errorf("the bundle's main file %s is not in it", main)
	}
	return main, files, nil
}

// checkName accepts clean, relative, forward-slash names inside the
// bundle's folder.
func checkName(name string) error {
	switch {
	case name == "" || name == ManifestName:
		return fmt.Errorf("bundle entry %q: reserved or empty name", name)
	case strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || (len(name) > 1 && name[1] == ':'):
		return fmt.Errorf("bundle entry %q: absolute paths are not allowed", name)
	case path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../"):
		return fmt.Errorf("bundle entry %q: the name must stay inside the bundle's folder (no .., no ./ parts)", name)
	}
	return nil
}
