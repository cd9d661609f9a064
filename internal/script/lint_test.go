package script

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestStaticChecks(t *testing.T) {
	const cls = "c = user(tasks=[t])\n"
	tests := []struct {
		name string
		src  string
		want string // regexp the whole message must match; "" for a script that loads
	}{
		{"unknown http keyword", "def t(u):\n    u.http.get('/x', parms={'a': 1})\n" + cls,
			`^test\.star:2:22: u\.http\.get: unexpected keyword argument "parms" \(accepted: path, params, data, .*\)$`},
		{"Locust's catch_response", "def t(u):\n    u.http.get('/x', catch_response=True)\n" + cls,
			`^test\.star:2:22: u\.http\.get: unexpected keyword argument "catch_response": not needed, r\.failure\(\) and r\.success\(\) work on every response \(accepted: .*\)$`},
		{"too many positional", "def t(u):\n    u.http.get('/x', {}, {'h': 'v'})\n" + cls,
			`^test\.star:2:15: u\.http\.get takes at most 2 positional arguments \(path, params\), got 3: pass the others by name$`},
		{"request's method is positional", "def t(u):\n    u.http.request('GET', '/x')\n" + cls, ""},
		{"several, in any receiver", "def t(u):\n    s = u\n    s.http.post('/x', jsn={}, bdy='')\n    u.http.request('GET', '/y', verfy=1)\n" + cls,
			`(?s)^test\.star:3:23: s\.http\.post: unexpected keyword argument "jsn".*\ntest\.star:3:31: s\.http\.post: unexpected keyword argument "bdy".*\ntest\.star:4:33: u\.http\.request: unexpected keyword argument "verfy"`},
		{"accepted keywords load", "def t(u):\n    u.http.get('/x', params={}, headers={}, name='x', timeout=1, allow_redirects=False)\n    u.http.post('/x', json={}, data='')\n" + cls, ""},
		{"**kwargs not checked", "def t(u):\n    kw = {'name': 'x'}\n    u.http.get('/x', **kw)\n" + cls, ""},
		{"not the http client", "def t(u):\n    u.state.get('x', dflt=1)\n" + cls, ""},
		{"time.sleep in a task", "def t(u):\n    time.sleep(1)\n" + cls,
			`^test\.star:2:15: scripts have no time\.sleep: use u\.sleep\(seconds\)$`},
		{"time.sleep beside shared and data", "n = shared.counter()\ndef t(u):\n    time.sleep(1)\n" + cls,
			`^test\.star:3:15: scripts have no time\.sleep`},
		{"a time of one's own", "time = struct(sleep=len)\ndef t(u):\n    time.sleep('x')\n" + cls, ""},
		{"time.sleep at top level", "time.sleep(1)\n" + task + cls,
			`^test\.star:1:11: .*scripts have no time\.sleep: use u\.sleep\(seconds\)$`},
		{"a locustfile", "from locust import HttpUser, task\n\nclass U(HttpUser):\n    pass\n",
			`^test\.star: this looks like a Python locustfile: Stampede scripts are Starlark \(\.star\); see docs/scripting\.md#coming-from-locust \(test\.star:1:1: .*\)$`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadSrc(t, tc.src, Options{MaxSteps: 100_000})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("load: %v", err)
				}
				return
			}
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %v (%T), want a *LoadError", err, err)
			}
			if !regexp.MustCompile(tc.want).MatchString(le.Msg) {
				t.Errorf("message:\n  %s\nwant match for:\n  %s", le.Msg, tc.want)
			}
		})
	}
}

func TestPythonFileRefused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "locustfile.py")
	if err := os.WriteFile(p, []byte("from locust import HttpUser\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(p, Options{})
	if err == nil || !strings.HasSuffix(err.Error(), "locustfile.py: this looks like a Python locustfile: Stampede scripts are Starlark (.star); see docs/scripting.md#coming-from-locust") {
		t.Errorf("error = %v", err)
	}
}

func TestRunTimeHints(t *testing.T) {
	srv := newTarget(t)
	tests := []struct {
		name, src, want string
	}{
		{"time.sleep called indirectly", "f = time.sleep\ndef t(u):\n    f(1)\n",
			"scripts have no time.sleep: use u.sleep(seconds)"},
		{"insert into a global dict", "cache = {}\ndef t(u):\n    cache['k'] = 1\n",
			`cannot insert into frozen hash table: cache is a global; globals are read-only once the script has loaded, because every user shares them: keep per-user values in u.state (u.state["k"] = v) and values shared by all users in shared.*`},
		{"append to a global list", "seen = []\ndef t(u):\n    seen.append(u.id)\n",
			"append: cannot append to frozen list: seen is a global; globals are read-only"},
		{"through a nested value", "cfg = {'a': {}}\ndef t(u):\n    cfg['a']['b'] = 1\n",
			"cannot insert into frozen hash table: cfg is a global; "},
		{"through a local alias", "cache = {}\ndef t(u):\n    c = cache\n    c.update(a=1)\n",
			"update: cannot insert into frozen hash table: c holds a value made when the script loaded (a global or part of one); globals are read-only"},
		{"counter += 1", "counter = 0\ndef t(u):\n    counter += 1\n",
			"local variable counter referenced before assignment: counter is a global, and a function that assigns to a name (counter = ..., counter += 1) makes it a new local variable; globals are read-only once the script has loaded, because every user shares them: keep per-user values in u.state"},
		{"a plain local before assignment", "def t(u):\n    if False:\n        x = 1\n    print(x)\n",
			"local variable x referenced before assignment"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.src+"c = user(tasks=[t])\n", Options{})
			v := h.vu(1, "c", srv.URL, 0)
			v.RunTask(context.Background())
			v.RunTask(context.Background()) // the second one comes from the cache
			k, n := onlyException(t, h.flush())
			if n != 2 || !strings.HasPrefix(k.Message, tc.want) {
				t.Errorf("exception (%d) %q\nwant prefix %q", n, k.Message, tc.want)
			}
			if tc.name == "a plain local before assignment" && k.Message != tc.want {
				t.Errorf("a local that is no global got a hint: %q", k.Message)
			}
		})
	}
}

func TestHintForLoadedGlobal(t *testing.T) {
	srv := newTarget(t)
	s, err := LoadFiles("test.star", map[string][]byte{
		"test.star": []byte("load('lib.star', 'DATA')\ndef t(u):\n    DATA['x'] = 1\nc = user(tasks=[t])\n"),
		"lib.star":  []byte("DATA = {}\n"),
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, s: s, rec: newHarness(t, "def t(u):\n    pass\nc = user(tasks=[t])\n", Options{}).rec}
	h.vu(1, "c", srv.URL, 0).RunTask(context.Background())
	k, _ := onlyException(t, h.flush())
	if !strings.HasPrefix(k.Message, "cannot insert into frozen hash table: DATA is a global; ") {
		t.Errorf("exception %q", k.Message)
	}
}

// A script that never mentions .http (a Locust User timing other work
// with u.record) can make no request, so it needs no host; one that does,
// in any of its files, can.
func TestUsesHTTP(t *testing.T) {
	for _, tc := range []struct {
		files map[string]string
		want  bool
	}{
		{map[string]string{"test.star": "def t(u):\n    u.record('x', 1)\nv = user(tasks=[t])\n"}, false},
		{map[string]string{"test.star": "def t(u):\n    u.http.get('/')\nv = user(tasks=[t])\n"}, true},
		{map[string]string{"test.star": "def t(u):\n    c = u.http\n    c.get('/')\nv = user(tasks=[t])\n"}, true},
		{map[string]string{"test.star": "def t(u):\n    pass\nv = user(tasks=[t])\ndef setup(ctx):\n    ctx.http.get('/')\n"}, true},
		{map[string]string{"test.star": "load('lib.star', 'f')\nv = user(tasks=[f])\n", "lib.star": "def f(u):\n    u.http.post('/x')\n"}, true},
	} {
		files := map[string][]byte{}
		for k, v := range tc.files {
			files[k] = []byte(v)
		}
		s, err := LoadFiles("test.star", files, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if s.UsesHTTP() != tc.want {
			t.Errorf("%v: UsesHTTP() = %v", tc.files, !tc.want)
		}
	}
}
