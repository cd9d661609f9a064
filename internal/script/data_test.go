package script

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.starlark.net/starlark"
)

func TestDataFiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.star": `
users = data.csv("data/users.csv")
semi = data.csv("data/semi.csv", delimiter=";")
plain = data.csv("data/plain.csv", fieldnames=("username", "password"))
urls = data.lines("urls.txt")
cfg = data.json("cfg.json")
blob = data.read("data/blob.bin")
nested = NESTED
def t(u):
    pass
v = user(tasks=[t], host="http://h.test")
`,
		"lib.star":       "",
		"data/users.csv": "\xef\xbb\xbfusername,password,note\r\nalice,a1,\"hello, \"\"world\"\"\"\r\nbob,b2,\"two\nlines\"\r\n",
		"data/semi.csv":  "a;b\n1;2\n",
		"data/plain.csv": "alice,a1\nbob,\"b,2\"\n",
		"data/blob.bin":  "\xef\xbb\xbf\x00\x01binary",
		"urls.txt":       "/a\r\n\r\n/b\n/c",
		"cfg.json":       `{"rate": 5, "names": ["x", "y"]}`,
		"sub/inner.star": `rows = data.csv("../data/semi.csv", delimiter=";")` + "\n",
	})
	main := filepath.Join(dir, "main.star")
	src, _ := os.ReadFile(main)
	os.WriteFile(main, []byte(strings.Replace(string(src), "nested = NESTED", "load('sub/inner.star', 'rows')\nnested = rows", 1)), 0o644)
	s, err := LoadFile(main, Options{})
	if err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	g := s.Globals
	for name, want := range map[string]string{
		"users":  `[{"username": "alice", "password": "a1", "note": "hello, \"world\""}, {"username": "bob", "password": "b2", "note": "two\nlines"}]`,
		"semi":   `[{"a": "1", "b": "2"}]`,
		"plain":  `[{"username": "alice", "password": "a1"}, {"username": "bob", "password": "b,2"}]`,
		"nested": `[{"a": "1", "b": "2"}]`,
		"urls":   `["/a", "/b", "/c"]`,
		"cfg":    `{"rate": 5, "names": ["x", "y"]}`,
	} {
		if got := g[name].String(); got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
	if got := string(g["blob"].(starlark.String)); got != "\xef\xbb\xbf\x00\x01binary" {
		t.Errorf("data.read changed the bytes: %q", got)
	}
	// Frozen: a user cannot change shared data.
	row := g["users"].(*starlark.List).Index(0).(*starlark.Dict)
	if err := row.SetKey(starlark.String("x"), starlark.None); err == nil {
		t.Error("a CSV row is mutable")
	}
	// The data files are part of the bundle a master ships, and a worker
	// that has only the bundle loads the same data.
	for _, f := range []string{"data/users.csv", "data/semi.csv", "urls.txt", "cfg.json", "data/blob.bin", "sub/inner.star"} {
		if _, ok := s.Files[f]; !ok {
			t.Errorf("Files lacks %s: %v", f, keys(s.Files))
		}
	}
	if _, ok := s.Files["lib.star"]; ok {
		t.Error("a file the script does not read was shipped")
	}
	w, err := LoadFiles("main.star", s.Files, Options{})
	if err != nil {
		t.Fatalf("LoadFiles: %v", err)
	}
	if w.Hash != s.Hash || w.Globals["users"].String() != g["users"].String() {
		t.Error("a worker loads other data from the shipped files")
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestDataErrors(t *testing.T) {
	files := map[string]string{
		"ragged.csv":   "a,b\n1,2\n3\n",
		"quote.csv":    "a,b\n1,\"x\"y\n",
		"empty.csv":    "",
		"noname.csv":   "a,,c\n",
		"dup.csv":      "a,b,a\n",
		"broken.json":  "{\n  \"a\": 1,\n  oops\n}",
		"ok.csv":       "a\n1\n",
		"../outer.csv": "a\n1\n",
	}
	tests := []struct{ src, want string }{
		{`x = data.csv("ragged.csv")`, `main.star:1:13: data.csv: ragged.csv:3: the row has a different number of fields than the header`},
		{`x = data.csv("quote.csv")`, `main.star:1:13: data.csv: quote.csv:2:5: extraneous or missing " in quoted-field`},
		{`x = data.csv("empty.csv")`, `data.csv: empty.csv is empty: its first row must be the header`},
		{`x = data.csv("noname.csv")`, `data.csv: noname.csv:1: column 2 of the header has no name`},
		{`x = data.csv("dup.csv")`, `data.csv: dup.csv:1: columns 1 and 3 of the header are both named "a"`},
		{`x = data.json("broken.json")`, `main.star:1:14: data.json: broken.json:3:3: invalid character 'o'`},
		{`x = data.csv("missing.csv")`, `main.star:1:13: data.csv("missing.csv"): no such file`},
		{`x = data.csv("../outer.csv")`, `data.csv("../outer.csv"): the file is outside the script's directory`},
		{`x = data.lines("/etc/passwd")`, `data.lines("/etc/passwd"): only paths relative to the script are allowed`},
		{`x = data.csv("ok.csv", delimiter="ab")`, `data.csv: delimiter must be one character`},
		{`x = data.csv("ok.csv", fieldnames=[])`, `data.csv: fieldnames is empty`},
		{`x = data.csv("ok.csv", fieldnames=["a", 1])`, `data.csv: fieldnames must be strings, got int`},
		{`x = data.csv("ok.csv", fieldnames=["a", "a"])`, `data.csv: fieldnames: columns 1 and 2 of the header are both named "a"`},
		{`x = data.csv("ragged.csv", fieldnames=["a", "b"])`, `data.csv: ragged.csv:3: the row has a different number of fields than the header`},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "s")
			fs := map[string]string{"main.star": tc.src + "\n"}
			for k, v := range files {
				fs[k] = v
			}
			for name, content := range fs {
				p := filepath.Join(dir, name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				os.WriteFile(p, []byte(content), 0o644)
			}
			_, err := LoadFile(filepath.Join(dir, "main.star"), Options{})
			var le *LoadError
			if !errors.As(err, &le) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// data.* inside a task fails with a message that says where it may be used.
func TestDataInTaskFails(t *testing.T) {
	for _, call := range []string{"data.read('x')", "shared.counter()", "shared.queue([1])"} {
		h := newHarness(t, "def t(u):\n    "+call+"\nv = user(tasks=[t], host='http://h.test')\n", Options{})
		h.vu(1, "v", "", 0).RunTask(context.Background())
		k, _ := onlyException(t, h.flush())
		fn, _, _ := strings.Cut(call, "(")
		if !strings.Contains(k.Message, fn+" can only be called at the top level") {
			t.Errorf("exception %q", k.Message)
		}
	}
}

func TestBundleLimit(t *testing.T) {
	dir := t.TempDir()
	big := make([]byte, MaxBundleBytes/2+1)
	os.WriteFile(filepath.Join(dir, "a.bin"), big, 0o644)
	os.WriteFile(filepath.Join(dir, "b.bin"), big, 0o644)
	os.WriteFile(filepath.Join(dir, "main.star"), []byte("a = data.read('a.bin')\nb = data.read('b.bin')\n"), 0o644)
	_, err := LoadFile(filepath.Join(dir, "main.star"), Options{})
	if err == nil || !strings.Contains(err.Error(), "main.star:2:14: data.read: b.bin: the script's files would take 32.0 MiB in all, more than the 32 MiB a master ships to its workers") {
		t.Errorf("error %v", err)
	}
	huge := make([]byte, MaxBundleBytes+1)
	os.WriteFile(filepath.Join(dir, "huge.bin"), huge, 0o644)
	os.WriteFile(filepath.Join(dir, "main.star"), []byte("a = data.read('huge.bin')\n"), 0o644)
	if _, err := LoadFile(filepath.Join(dir, "main.star"), Options{}); err == nil || !strings.Contains(err.Error(), "larger than the 32 MiB") {
		t.Errorf("error %v", err)
	}
}

func TestSharedQueue(t *testing.T) {
	src := `
items = [{"n": i} for i in range(10)]
cyc = shared.queue(items)
once = shared.queue(items, cycle=False)
c = shared.counter(start=5)
def t(u):
    pass
v = user(tasks=[t], host="http://h.test")
`
	s := mustLoad(t, src, Options{})
	call := func(v starlark.Value, method string, args ...starlark.Value) starlark.Value {
		t.Helper()
		fn, _ := v.(starlark.HasAttrs).Attr(method)
		r, err := starlark.Call(&starlark.Thread{}, fn, args, nil)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		return r
	}
	// Many goroutines take from the queue at once: each item goes to
	// exactly one of them.
	s.StartTest(Partition{})
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				v := call(s.Globals["once"], "next")
				if v == starlark.None {
					return
				}
				call(s.Globals["c"], "add")
				mu.Lock()
				seen[v.String()]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 10 {
		t.Errorf("items handed out: %v", seen)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s handed out %d times", k, n)
		}
	}
	if got := call(s.Globals["c"], "value"); got.String() != "15" {
		t.Errorf("counter = %s, want 15", got)
	}
	if got := call(s.Globals["c"], "add", starlark.MakeInt(-3)); got.String() != "12" {
		t.Errorf("add(-3) = %s", got)
	}
	var order []string
	for range 12 {
		order = append(order, call(s.Globals["cyc"], "next").String())
	}
	if order[0] != `{"n": 0}` || order[9] != `{"n": 9}` || order[10] != `{"n": 0}` {
		t.Errorf("cycling queue order %v", order)
	}

	// A new test starts from the first item and the counter's start; a
	// worker's partition holds every third item.
	s.StartTest(Partition{Index: 1, Count: 3})
	var part []string
	for {
		v := call(s.Globals["once"], "next")
		if v == starlark.None {
			break
		}
		part = append(part, v.String())
	}
	if fmt.Sprint(part) != `[{"n": 1} {"n": 4} {"n": 7}]` {
		t.Errorf("partition 1/3 = %v", part)
	}
	if call(s.Globals["c"], "value").String() != "5" {
		t.Error("counter not reset for the new test")
	}
	// A worker without a partition: None, or an error for a cycling queue.
	s.StartTest(Partition{Index: -1, Count: 3})
	if call(s.Globals["once"], "next") != starlark.None {
		t.Error("a worker without a partition got an item")
	}
	fn, _ := s.Globals["cyc"].(starlark.HasAttrs).Attr("next")
	if _, err := starlark.Call(&starlark.Thread{}, fn, nil, nil); err == nil || !strings.Contains(err.Error(), "this worker has no items of the queue") {
		t.Errorf("cycling queue without items: %v", err)
	}

	for _, bad := range []struct{ src, want string }{
		{"q = shared.queue([])", "shared.queue: no items"},
		{"q = shared.queue(3)", "shared.queue: for parameter items: got int, want iterable"},
	} {
		if _, err := loadSrc(t, bad.src+"\n", Options{}); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: error %v, want %q", bad.src, err, bad.want)
		}
	}
}
