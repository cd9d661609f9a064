package script

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"testing"
)

// The expected values are what CPython's re gives for the same calls.
func TestReModule(t *testing.T) {
	const kv = `m = re.search(r"(?P<k>\w+)=(?P<v>\d+)?", "x key= y")` + "\n"
	runExprCases(t, []exprCase{
		{kv + "out = [m.group(), m.group(1), m.group('k'), m.group(2), m.group(1, 'v'), m[1], m['k']]", `["key=", "key", "key", None, ("key", None), "key", "key"]`},
		{kv + "out = [m.groups(), m.groups('-'), m.groupdict(), m.groupdict(default='')]", `[("key", None), ("key", "-"), {"k": "key", "v": None}, {"k": "key", "v": ""}]`},
		{kv + "out = [m.start(), m.end(), m.span(2), m.span('k'), m.start(1), m.end('k'), m.string, m.re.pattern]", `[2, 6, (-1, -1), (2, 5), 2, 5, "x key= y", "(?P<k>\\w+)=(?P<v>\\d+)?"]`},
		{kv + "out = str(m)", `"<re.Match span=(2, 6) match=\"key=\">"`},
		{`[re.match("b", "ab"), re.match("a", "ab").group(), re.fullmatch("a|ab", "ab").group(), re.fullmatch("a", "ab")]`, `[None, "a", "ab", None]`},
		{`[re.findall(r"\d+", "a1b22c333"), re.findall(r"(\w)=(\d)", "a=1 b=2"), re.findall(r"(\w)=\d", "a=1 b=2"), re.findall(r"(a)(b)?", "ab a")]`,
			`[["1", "22", "333"], [("a", "1"), ("b", "2")], ["a", "b"], [("a", "b"), ("a", "")]]`},
		{`re.sub(r"(?P<w>\w+)@(\w+)", r"\g<2>.\g<w>\\!\n", "x@y z@w")`, `"y.x\\!\n w.z\\!\n"`},
		{`re.sub(r"(\w+)@(\w+)", r"\2 at \1", "x@y z@w")`, `"y at x w at z"`},
		{`[re.sub(r"\d", "#", "a1b2c3", count=2), re.sub("a", "b", "ccc"), re.sub("a", "", "aba")]`, `["a#b#c3", "ccc", "b"]`},
		{`re.sub(r"\d", lambda m: str(int(m.group()) * 2), "a1b2")`, `"a2b4"`},
		{`[re.split(r"\s*,\s*", "a , b,c"), re.split(r"(-)|(\+)", "a-b+c"), re.split(",", "a,b,c", maxsplit=1), re.split(",", "a,b", 1)]`,
			`[["a", "b", "c"], ["a", "-", None, "b", None, "+", "c"], ["a", "b,c"], ["a", "b"]]`},
		{`[re.search("ABC", "xabcx", re.I).group(), re.findall("^a.", "a\nab\na", re.M | re.S), re.search("abc", "ABC", flags=re.IGNORECASE).span()]`, `["abc", ["a\n", "ab"], (0, 3)]`},
		{"p = re.compile(r\"(\\d+)-(\\d+)\")\nout = [p.pattern, p.groups, p.search(\"x 10-20\").groups(), p.sub(r\"\\2-\\1\", \"1-2 3-4\"), p.findall(\"1-2 3-4\"), p.match(\"1-2\") != None, p.fullmatch(\"1-2x\"), p.split(\"a1-2b\")]",
			`["(\\d+)-(\\d+)", 2, ("10", "20"), "2-1 4-3", [("1", "2"), ("3", "4")], True, None, ["a", "1", "2", "b"]]`},
		{"p = re.compile(\"(?P<x>a)\", re.I)\nout = [p.groupindex, p.flags, re.search(p, \"A\").group(\"x\"), str(p)]", `[{"x": 1}, 2, "A", "re.compile(\"(?P<x>a)\")"]`},
		{`[re.escape("a.b*c"), [m.group() for m in re.finditer(r"\d", "a1b2")]]`, `["a\\.b\\*c", ["1", "2"]]`},
		{`[re.search(r"(a)|(b)", "b").groupdict(), re.search(r"(a)|(b)", "b").span(1)]`, `[{}, (-1, -1)]`},
		{`re.search("é+", "caféé!").span()`, `(3, 7)`}, // byte offsets, as Starlark strings index
		{`re.search(pattern="b", string="abc").start()`, `1`},
		// errors name the function and the problem
		{`re.search("(", "x")`, "error: re.search: bad pattern: missing closing ): `(`"},
		{`re.match("a(", "x")`, "error: re.match: bad pattern: missing closing ): `a(`"},
		{`re.search(r"(a)\1", "aa")`, "error: re.search: bad pattern: invalid escape sequence: `\\1`"},
		{`re.search(r"(?=a)", "a")`, "error: re.search: bad pattern: invalid or unsupported Perl syntax: `(?=`"},
		{`re.search(1, "x")`, "error: re.search: pattern must be a string or a compiled pattern, got int"},
		{`re.search("a", 1)`, "error: re.search: for parameter string: got int, want string"},
		{`re.search("a", "a", 64)`, "error: re.search: unsupported flags 64: only re.I, re.M and re.S exist"},
		{`re.search("a", "a", 0, 1)`, "error: re.search: got 4 arguments, want at most 3"},
		{`re.search(re.compile("a"), "a", re.I)`, "error: re.search: cannot give flags with a compiled pattern"},
		{`re.sub("(a)", r"\2", "a")`, "error: re.sub: invalid group reference 2 in replacement"},
		{`re.sub("(a)", r"\g<n>", "a")`, `error: re.sub: unknown group name "n" in replacement`},
		{`re.sub("(a)", r"\q", "a")`, `error: re.sub: bad escape \q in replacement`},
		{`re.sub("a", 1, "a")`, "error: re.sub: repl must be a string or a function, got int"},
		{`re.sub("a", lambda m: 1, "a")`, "error: re.sub: repl function must return a string, got int"},
		{`re.search("(a)", "a").group(2)`, "error: Match.group: no such group 2 (the pattern has 1)"},
		{`re.search("(a)", "a").group("x")`, `error: Match.group: no group named "x"`},
		{`re.search("(a)", "a")[5]`, "error: re.Match: no such group 5"},
	})
}

func TestReCacheIsBounded(t *testing.T) {
	lib := &reLib{cache: newCompileCache[*regexp.Regexp](4)}
	for i := range 10 {
		if _, err := lib.compile("re.search", fmt.Sprintf("a%d", i), 0, reSearch); err != nil {
			t.Fatal(err)
		}
	}
	if n := lib.cache.len(); n != 4 {
		t.Fatalf("cache holds %d patterns, want 4", n)
	}
	// the most recent ones stay
	before := lib.cache.len()
	if _, err := lib.compile("re.search", "a9", 0, reSearch); err != nil || lib.cache.len() != before {
		t.Fatalf("a9 was not cached: %v", err)
	}
}

// Every user of a script shares its re cache: concurrent use is safe.
func TestReConcurrentUse(t *testing.T) {
	h := newHarness(t, `
def t(u):
    for i in range(20):
        p = "k%d=(\\d+)" % (i % 7)
        m = re.search(p, "k%d=%d" % (i % 7, i))
        if m.group(1) != str(i):
            fail("wrong match")
c = user(tasks=[t])
`, Options{})
	var wg sync.WaitGroup
	for id := range 8 {
		v := h.vu(id, "c", "http://x.test", 0)
		wg.Go(func() {
			for range 20 {
				v.RunTask(context.Background())
			}
		})
	}
	wg.Wait()
	if ex := h.flush().Exceptions; len(ex) > 0 {
		t.Fatalf("exceptions: %v", ex)
	}
}
