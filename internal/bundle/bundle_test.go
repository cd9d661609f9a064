package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	files := map[string][]byte{"test.star": []byte("load(\"lib/x.star\", \"f\")\n"), "lib/x.star": []byte("f = 1\n"), "data/u.csv": []byte("a\n1\n")}
	var a, b bytes.Buffer
	if err := Write(&a, "test.star", files); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, "test.star", files); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the same files gave two different archives")
	}
	main, got, err := Read(&a)
	if err != nil {
		t.Fatal(err)
	}
	if main != "test.star" || len(got) != 3 || string(got["lib/x.star"]) != "f = 1\n" || string(got["data/u.csv"]) != "a\n1\n" {
		t.Errorf("main %q, files %q", main, got)
	}
}

type entry struct {
	name string
	typ  byte
	body string
	size int64 // declared size, when not len(body)
}

func archive(t *testing.T, entries ...entry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body))}
		if e.typ == 0 {
			h.Typeflag = tar.TypeReg
		}
		if e.typ == tar.TypeSymlink {
			h.Linkname, h.Size = "/etc/passwd", 0
		}
		if e.size != 0 {
			h.Size = e.size
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 && e.body != "" {
			_, _ = tw.Write([]byte(e.body))
		}
	}
	_ = tw.Close()
	_ = gz.Close()
	return &buf
}

// Hostile archives are refused with the entry named.
func TestReadRefuses(t *testing.T) {
	manifest := entry{name: ManifestName, body: "main: test.star\n"}
	main := entry{name: "test.star", body: "x = 1\n"}
	many := []entry{manifest, main}
	for i := 0; i < MaxFiles; i++ {
		many = append(many, entry{name: fmt.Sprintf("f%d.txt", i), body: "x"})
	}
	tests := []struct {
		name    string
		entries []entry
		want    string
	}{
		{"absolute path", []entry{manifest, main, {name: "/etc/cron.d/x", body: "x"}}, `"/etc/cron.d/x": absolute paths are not allowed`},
		{"dot dot", []entry{manifest, main, {name: "../outside.star", body: "x"}}, `"../outside.star": the name must stay inside`},
		{"dot dot inside", []entry{manifest, main, {name: "a/../../b", body: "x"}}, "must stay inside"},
		{"symlink", []entry{manifest, main, {name: "link.star", typ: tar.TypeSymlink}}, `"link.star": only regular files`},
		{"hard link", []entry{manifest, main, {name: "h", typ: tar.TypeLink}}, "only regular files"},
		{"no manifest", []entry{main}, "no .stampede-bundle entry"},
		{"main missing", []entry{manifest, {name: "other.star", body: "x"}}, "main file test.star is not in it"},
		{"duplicate", []entry{manifest, main, main}, "appears twice"},
		{"too big", []entry{manifest, main, {name: "big", size: MaxBytes + 1}}, "larger than 32 MiB"},
		{"too many", many, "more than 1000 files"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Read(archive(t, tc.entries...))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if _, _, err := Read(strings.NewReader("not gzip")); err == nil || !strings.Contains(err.Error(), "not a .tar.gz bundle") {
		t.Errorf("plain text: %v", err)
	}
}
