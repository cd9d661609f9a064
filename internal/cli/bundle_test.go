package cli

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// A folder test (main file, a load()ed file, a data file) is packed by
// stampede bundle and run from the archive by a master whose worker has
// no files of its own: the target sees the paths the loaded file builds
// from the data file's rows.
func TestBundleRunsOnWorkers(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	tg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path]++
		mu.Unlock()
		fmt.Fprintln(w, "ok")
	}))
	defer tg.Close()

	dir := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(dir, "test", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("test.star", "load(\"lib/paths.star\", \"path_for\")\nrows = data.csv(\"data/items.csv\")\n\n"+
		"def visit(u):\n    for r in rows:\n        u.http.get(path_for(r))\n\nv = user(tasks=[visit], wait_time=constant(0.05))\n")
	write("lib/paths.star", "def path_for(row):\n    return \"/items/\" + row[\"sku\"]\n")
	write("data/items.csv", "sku\nA-1\nB-2\n")
	write("unused.txt", "not part of the test")
	archive := filepath.Join(dir, "test.tar.gz")

	r := runMain(t, "bundle", filepath.Join(dir, "test"), "-o", archive)
	if r.code != ExitOK || !strings.Contains(r.stdout, "3 files") {
		t.Fatalf("bundle: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// the folder itself is gone: everything comes from the archive
	if err := os.RemoveAll(filepath.Join(dir, "test")); err != nil {
		t.Fatal(err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	done := make(chan result, 1)
	go func() {
		done <- runMain(t, "master", "-f", archive, "--headless", "-u", "2", "-r", "20", "-t", "2s", "--host", tg.URL,
			"--master-bind-host", "127.0.0.1", "--master-bind-port", port, "--expect-workers", "1", "--expect-workers-max-wait", "20s")
	}()
	wdone := make(chan result, 1)
	go func() { wdone <- runMain(t, "worker", "--master-host", "127.0.0.1", "--master-port", port) }()
	m := <-done
	<-wdone
	if m.code != ExitOK {
		t.Fatalf("master: exit %d\n%s", m.code, m.stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen["/items/A-1"] == 0 || seen["/items/B-2"] == 0 || len(seen) != 2 {
		t.Errorf("the target saw %v, want /items/A-1 and /items/B-2 only", seen)
	}
}

// -f takes a folder (its test.star) and refuses an archive with a path
// out of its folder.
func TestBundleFolderAndHostileArchive(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "test.star"), []byte("def t(u):\n    pass\n\nv = user(tasks=[t])\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runMain(t, "check", "-f", dir); r.code != ExitOK || !strings.Contains(r.stdout, "test.star") {
		t.Errorf("check -f DIR: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if err := os.WriteFile(filepath.Join(dir, "other.star"), []byte("x = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "test.star")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "third.star"), []byte("x = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runMain(t, "check", "-f", dir); r.code != ExitConfig || !strings.Contains(r.stderr, "a folder needs a test.star") {
		t.Errorf("ambiguous folder: exit %d\n%s", r.code, r.stderr)
	}
	bad := filepath.Join(dir, "bad.tar.gz")
	f, err := os.Create(bad)
	if err != nil {
		t.Fatal(err)
	}
	writeTarGz(t, f, map[string]string{".stampede-bundle": "main: test.star\n", "test.star": "x = 1\n", "../escape.star": "x = 2\n"})
	f.Close()
	if r := runMain(t, "check", "-f", bad); r.code != ExitConfig || !strings.Contains(r.stderr, `"../escape.star": the name must stay inside`) {
		t.Errorf("hostile archive: exit %d\n%s", r.code, r.stderr)
	}
}

func writeTarGz(t *testing.T, w io.Writer, files map[string]string) {
	t.Helper()
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
}
