package script

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func loadSrc(t *testing.T, src string, o Options) (*Script, error) {
	t.Helper()
	return LoadFiles("test.star", map[string][]byte{"test.star": []byte(src)}, o)
}

func mustLoad(t *testing.T, src string, o Options) *Script {
	t.Helper()
	s, err := loadSrc(t, src, o)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return s
}

const task = "def t(u):\n    pass\n"

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		// want is a regexp the whole message must match.
		want      string
		backtrace string // substring of the backtrace, if one is expected
	}{
		{"syntax error", "def f(u)\n    pass\n", `^test\.star:2:1: got newline, want ':'$`, ""},
		{"undefined name", "x = nope\n", `^test\.star:1:5: undefined: nope$`, ""},
		{"runtime error at top level", "x = 1\ny = x + 'a'\n", `^test\.star:2:7: unknown binary op: int \+ string$`, "test.star:2:7: in <toplevel>"},
		{"runtime error in a function called at top level", "def f():\n    return 1 // 0\n\nf()\n", `^test\.star:2:14: floored division by zero$`, "test.star:2:14: in f"},
		{"fail() at top level", "fail('bad config')\n", `^test\.star:1:5: fail: bad config$`, "in <toplevel>"},
		{"runaway top level", "x = 0\nwhile True:\n    x += 1\n", `^test\.star:\d+:\d+: Starlark computation cancelled: too many steps$`, ""},
		{"no user classes", task, `^test\.star: no user classes: bind user\(tasks=\.\.\.\) to a global`, ""},
		{"weight < 0", task + "a = user(tasks=[t], weight=-1)\n", `^test\.star:3:9: user: weight must be >= 0, got -1$`, ""},
		{"fixed_count < 0", task + "a = user(tasks=[t], fixed_count=-2)\n", `^test\.star:3:9: user: fixed_count must be >= 0, got -2$`, ""},
		{"tasks missing", task + "a = user()\n", `^test\.star:3:9: user: missing argument for tasks$`, ""},
		{"tasks wrong type", task + "a = user(tasks='t')\n", `user: tasks must be a function, task\(...\), taskset\(...\), a list of those or a dict \{task: weight\}, got string$`, ""},
		{"task not a function", task + "a = user(tasks=[t, 3])\n", `user: a task must be a function, task\(...\) or taskset\(...\), got int$`, ""},
		{"dict key not a function", task + "a = user(tasks={'t': 1})\n", `user: a task must be a function, task\(...\) or taskset\(...\), got string \(as a key of the tasks dict\)$`, ""},
		{"negative task weight", task + "a = user(tasks={t: -1})\n", `user: weight of task t must be an int between 0 and 10000, got -1$`, ""},
		{"task weight too big", task + "a = user(tasks=[task(t, weight=10001)])\n", `task: weight of t must be between 0 and 10000, got 10001$`, ""},
		{"task tags not a list", task + "a = user(tasks=[task(t, tags='x')])\n", `task: tags must be a list of strings, got string$`, ""},
		{"task tag empty", task + "a = user(tasks=[task(t, tags=[''])])\n", `task: tags must be a list of non-empty strings, got ""$`, ""},
		{"task of a string", "a = user(tasks=[task('t')])\n", `task: a task must be a function, task\(...\) or taskset\(...\), got string$`, ""},
		{"empty taskset", task + "s = taskset(tasks=[])\na = user(tasks=[s])\n", `taskset: needs at least one task with a positive weight$`, ""},
		{"taskset wait_time", task + "s = taskset(tasks=[t], wait_time=1)\na = user(tasks=[s])\n", `taskset: wait_time must be .* got int$`, ""},
		{"taskset on_stop", task + "s = taskset(tasks=[t], on_stop=1)\na = user(tasks=[s])\n", `taskset: on_stop must be a function, got int$`, ""},
		{"all task weights zero", task + "a = user(tasks={t: 0})\n", `user: needs at least one task with a positive weight$`, ""},
		{"empty task list", task + "a = user(tasks=[])\n", `user: needs at least one task with a positive weight$`, ""},
		{"wait_time not a wait time", task + "a = user(tasks=[t], wait_time=1)\n", `user: wait_time must be between\(\), constant\(\), constant_pacing\(\), constant_throughput\(\) or a function def w\(u\): return seconds, got int$`, ""},
		{"on_start not a function", task + "a = user(tasks=[t], on_start='x')\n", `user: on_start must be a function, got string$`, ""},
		{"on_stop not a function", task + "a = user(tasks=[t], on_stop=1)\n", `user: on_stop must be a function, got int$`, ""},
		{"host not a string", task + "a = user(tasks=[t], host=1)\n", `user: host must be a string, got int$`, ""},
		{"empty name", task + "a = user(tasks=[t], name='')\n", `user: name must be a non-empty string$`, ""},
		{"unknown argument", task + "a = user(tasks=[t], wieght=2)\n", `user: unexpected keyword argument "wieght"`, ""},
		{"duplicate class names", task + "a = user(tasks=[t], name='x')\nb = user(tasks=[t], name='x')\n", `^test\.star: two user classes are named "x"$`, ""},
		{"between max < min", "w = between(2, 1)\n", `^test\.star:1:12: between: max \(1\) is less than min \(2\)$`, ""},
		{"between negative", "w = between(-1, 1)\n", `between: seconds must be a non-negative number, got -1$`, ""},
		{"constant not a number", "w = constant('1')\n", `constant: seconds must be a non-negative number, got "1"$`, ""},
		{"constant_throughput zero", "w = constant_throughput(0)\n", `constant_throughput: tasks per second must be a positive number, got 0$`, ""},
		{"top-level host not a string", task + "a = user(tasks=[t])\nhost = 80\n", `^test\.star: host must be a string, got int$`, ""},
		{"thresholds not a list", task + "a = user(tasks=[t])\nthresholds = 'p95<1s'\n", `^test\.star: thresholds must be a list of strings, got string$`, ""},
		{"threshold not a string", task + "a = user(tasks=[t])\nthresholds = ['p95<1s', 3]\n", `^test\.star: thresholds\[1\] must be a string, got int$`, ""},
		{"globals are frozen", task + "L = []\ndef t2(u):\n    L.append(1)\na = user(tasks=[t])\nb = L.append(1)\n", `^test\.star:7:13: `, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadSrc(t, tc.src, Options{MaxSteps: 100_000})
			if err == nil {
				if tc.name == "globals are frozen" {
					return // appending at top level is legal: freezing happens after
				}
				t.Fatal("loaded without error")
			}
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error is %T, not *LoadError: %v", err, err)
			}
			if !regexp.MustCompile(tc.want).MatchString(le.Msg) {
				t.Errorf("message:\n  %s\nwant match for:\n  %s", le.Msg, tc.want)
			}
			if tc.backtrace != "" && !strings.Contains(le.Backtrace, tc.backtrace) {
				t.Errorf("backtrace %q does not contain %q", le.Backtrace, tc.backtrace)
			}
		})
	}
}

func TestLoadScript(t *testing.T) {
	src := `
host = "http://example.test:8080"
thresholds = ["p95<500ms", "error_rate<1%"]
ENV = vars.get("env", "dev")
PAGES = int(vars["pages"])

def a(u):
    pass

def b(u):
    pass

zeta = user(tasks={a: 3, b: 1}, weight=2, wait_time=between(0.5, 1.5), host="http://other.test")
alpha = user(tasks=[a, b], fixed_count=4, sequential=True, name="Alpha")
alias = alpha  # the same class under a second global is listed once
single = user(tasks=a, wait_time=constant_throughput(2))
`
	s := mustLoad(t, src, Options{Vars: map[string]string{"env": "prod", "pages": "7"}})
	if s.Host != "http://example.test:8080" {
		t.Errorf("Host = %q", s.Host)
	}
	if !slices.Equal(s.Thresholds, []string{"p95<500ms", "error_rate<1%"}) {
		t.Errorf("Thresholds = %q", s.Thresholds)
	}
	if got := s.Globals["ENV"].String(); got != `"prod"` {
		t.Errorf("ENV = %s", got)
	}
	if got := s.Globals["PAGES"].String(); got != "7" {
		t.Errorf("PAGES = %s", got)
	}
	var names []string
	for _, c := range s.Classes {
		names = append(names, c.Name)
	}
	// sorted by global name: alias (Alpha), single, zeta
	if !slices.Equal(names, []string{"Alpha", "single", "zeta"}) {
		t.Fatalf("classes = %v", names)
	}
	alpha, single, zeta := s.Class("Alpha"), s.Class("single"), s.Class("zeta")
	if s.Class("nope") != nil {
		t.Error("Class(nope) != nil")
	}
	if alpha.FixedCount != 4 || !alpha.Sequential || alpha.Weight != 1 || len(alpha.Tasks) != 2 || alpha.TotalTaskWeight() != 2 {
		t.Errorf("Alpha = %+v", alpha)
	}
	if zeta.Weight != 2 || zeta.Host != "http://other.test" || zeta.TotalTaskWeight() != 4 || zeta.Tasks[0].Name != "a" || zeta.Tasks[0].Weight != 3 {
		t.Errorf("zeta = %+v", zeta)
	}
	if zeta.Wait.Kind != WaitBetween || zeta.Wait.Min != 500*time.Millisecond || zeta.Wait.Max != 1500*time.Millisecond {
		t.Errorf("zeta wait = %+v", zeta.Wait)
	}
	if len(single.Tasks) != 1 || single.Wait.Kind != WaitPacing || single.Wait.Min != 500*time.Millisecond {
		t.Errorf("single = %+v, wait %+v", single, single.Wait)
	}
	if alpha.Wait.Kind != WaitConstant || alpha.Wait.Min != 0 {
		t.Errorf("default wait = %+v, want constant(0)", alpha.Wait)
	}
	if s.Hash != HashFiles(map[string][]byte{"test.star": []byte(src)}) || len(s.Hash) != 64 {
		t.Errorf("Hash = %q", s.Hash)
	}
	if other := mustLoad(t, src+"\n", Options{Vars: map[string]string{"pages": "1"}}); other.Hash == s.Hash {
		t.Error("different sources have the same hash")
	}
	// vars is frozen
	if _, err := loadSrc(t, task+"a = user(tasks=[t])\nvars['x'] = '1'\n", Options{}); err == nil || !strings.Contains(err.Error(), "frozen") {
		t.Errorf("assigning to vars: %v", err)
	}
	// a missing var is a KeyError-like error with position
	if _, err := loadSrc(t, "x = vars['missing']\n", Options{}); err == nil || !strings.HasPrefix(err.Error(), "test.star:1:9: ") {
		t.Errorf("missing var: %v", err)
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadRelativeFiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.star":        "load('lib/common.star', 'BASE', 'hello')\nload('lib/common.star', 'BASE')\ndef t(u):\n    hello(u)\nv = user(tasks=[t], host=BASE)\n",
		"lib/common.star":  "load('helpers.star', 'suffix')\nBASE = 'http://h.test' + suffix\ndef hello(u):\n    pass\n",
		"lib/helpers.star": "suffix = ':81'\n",
		"secret.txt":       "not a script",
	})
	s, err := LoadFile(filepath.Join(dir, "main.star"), Options{})
	if err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	if s.Classes[0].Host != "http://h.test:81" {
		t.Errorf("host from loaded file = %q", s.Classes[0].Host)
	}
	var names []string
	for n := range s.Files {
		names = append(names, n)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"lib/common.star", "lib/helpers.star", "main.star"}) {
		t.Errorf("Files = %v", names)
	}
	if s.Main != filepath.Join(dir, "main.star") {
		t.Errorf("Main = %q", s.Main)
	}
	// A worker loads the same files from memory and gets the same hash.
	w, err := LoadFiles("main.star", s.Files, Options{})
	if err != nil {
		t.Fatalf("LoadFiles: %v", err)
	}
	if w.Hash != s.Hash {
		t.Errorf("hash from memory %s != from disk %s", w.Hash, s.Hash)
	}

	bad := []struct {
		name, src, want string
	}{
		{"outside the directory", "load('../x.star', 'a')\n", `main.star:1:1: cannot load ../x.star: the file is outside the script's directory`},
		{"outside via subdirectory", "load('lib/../../x.star', 'a')\n", `cannot load lib/../../x.star: the file is outside the script's directory`},
		{"absolute path", "load('/etc/passwd', 'a')\n", `main.star:1:1: cannot load /etc/passwd: only paths relative to the script are allowed`},
		{"missing file", "load('nope.star', 'a')\n", `main.star:1:1: cannot load nope.star: no such file`},
		{"missing symbol", "load('lib/helpers.star', 'nothing')\n", `main.star:1:1: load: name nothing not found in module lib/helpers.star`},
		{"not starlark", "load('secret.txt', 'x')\n", `secret.txt:1:13: got identifier, want newline`},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			d := writeFiles(t, map[string]string{"main.star": tc.src, "lib/helpers.star": "suffix = 1\n", "secret.txt": "not a script"})
			_, err := LoadFile(filepath.Join(d, "main.star"), Options{})
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %v (%T), want *LoadError", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}

	cyc := writeFiles(t, map[string]string{"a.star": "load('b.star', 'x')\n", "b.star": "load('a.star', 'y')\nx = 1\n"})
	if _, err := LoadFile(filepath.Join(cyc, "a.star"), Options{}); err == nil || !strings.Contains(err.Error(), "cycle in load graph") {
		t.Errorf("cycle: %v", err)
	}
	absent := filepath.Join(t.TempDir(), "absent.star")
	_, err = LoadFile(absent, Options{})
	var le *LoadError
	if !errors.As(err, &le) || le.Msg != "cannot load "+absent+": no such file" {
		t.Errorf("missing main file: %v", err)
	}
	emptyDir := t.TempDir()
	_, err = LoadFile(emptyDir, Options{})
	if !errors.As(err, &le) || le.Msg != "cannot load "+emptyDir+": is a directory, not a .star file" {
		t.Errorf("directory as main file: %v", err)
	}
}

// The sandbox: no file, environment or process access is predeclared.
func TestSandbox(t *testing.T) {
	for _, name := range []string{"open", "os", "exec", "getenv", "environ", "subprocess", "__import__", "read_file"} {
		_, err := loadSrc(t, "x = "+name+"\n", Options{})
		if err == nil || !strings.Contains(err.Error(), "undefined: "+name) {
			t.Errorf("%s is reachable from scripts: %v", name, err)
		}
	}
}
