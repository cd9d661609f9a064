package script

import (
	"strings"
	"testing"

	"go.starlark.net/starlark"
)

// The expected strings are what CPython 3 prints for the same expression.
func TestPercentFormat(t *testing.T) {
	runExprCases(t, []exprCase{
		{`"%5.1f%%|%05d|%-10s|%+d|%x|%#x|%08.3f|%.3s|%5s|%-5d|%#o|% d|%e|%g|%G|%.2e|%c|%r" % (3.14159, 42, "ab", 5, 255, 255, -3.14159, "abcdef", "x", 7, 8, 3, 12345.678, 1234567.0, 1e-10, 0.000123, 65, "q")`,
			`"  3.1%|00042|ab        |+5|ff|0xff|-003.142|abc|    x|7    |0o10| 3|1.234568e+04|1.23457e+06|1E-10|1.23e-04|A|\"q\""`},
		{`"%(a)s-%(b)05.1f" % {"a": "x", "b": 2.25}`, `"x-002.2"`},
		{`"%*d|%-*s|%.*f" % (5, 42, 4, "a", 2, 3.14159)`, `"   42|a   |3.14"`},
		{`"%f|%5f|%+F|%05f" % (float("inf"), float("nan"), float("inf"), float("-inf"))`, `"inf|  nan|+INF|-0inf"`},
		{`"%05s|%#08o|%#08x|%+.2d|%x" % ("ab", 8, 255, 7, -255)`, `"   ab|0o000010|0x0000ff|+07|-ff"`},
		{`"%10.4g|%-8.2e|%i|%u" % (3.14159265, 1234.5, 3.9, 4)`, `"     3.142|1.23e+03|3|4"`},
		{`"%05.3d|%-05d|%+05d|%#5x|%#05x|%.0f|%#.0f|%.0e|%#g|%.0g|% 05d|%5.1s|%c" % (7, 3, -3, 255, 255, 2.5, 3.0, 12345.0, 1.5, 12345.0, 42, "abc", "é")`,
			`"00007|3    |-0003| 0xff|0x0ff|2|3.|1e+04|1.50000|1e+04| 0042|    a|é"`},
		{`"%s %s" % ("a", [1, 2])`, `"a [1, 2]"`},
		{`"%d%%" % 50`, `"50%"`},
		{`"%d" % True`, `"1"`},
		{`"%X" % 123456789012345678901234567890`, `"18EE90FF6C373E0EE4E3F0AD2"`},
		{`"%-6.2f|" % -0.0`, `"-0.00 |"`},
		{`"user%d" % 7`, `"user7"`}, // what Starlark already did
		{`"%s" % ((1, 2),)`, `"(1, 2)"`},
		{`"%s" % {"a": 1}`, `"{\"a\": 1}"`},
		{`"%.2f" % 2.675`, `"2.67"`},
		// % on numbers is untouched
		{`[7 % 3, -7 % 3, 7.5 % 2, 10 % 4]`, `[1, 2, 1.5, 2]`},
		{"x = 17\nx %= 5\nout = x", `2`},
		{"x = \"%03d\"\nx %= 5\nout = x", `"005"`},
		{"d = {\"k\": \"%.1f\"}\nd[\"k\"] %= 1.25\nout = d", `{"k": "1.2"}`},
		{"def f(n=\"%02d\" % 3):\n    return n\nout = f()", `"03"`},
		{"f = lambda v: \"%4s\" % v\nout = [f(x) for x in [1, 22] if \"%d\" % x]", `["   1", "  22"]`},
		{"fmt = \"%06.2f\"\nout = fmt % 3.14159", `"003.14"`},
		// errors keep Starlark's words
		{`"%s %s" % (1,)`, "error: not enough arguments for format string"},
		{`"%s" % (1, 2)`, "error: too many arguments for format string"},
		{`"%d" % "x"`, "error: %d format requires integer"},
		{`"%f" % "x"`, "error: %f format requires float, not string"},
		{`"%q" % 1`, "error: unknown conversion %q"},
		{`"%(a)s" % {}`, "error: key not found: a"},
		{`"%(a" % {}`, "error: incomplete format key"},
		{`"%5" % 1`, "error: incomplete format"},
		{`"%99999999d" % 1`, "error: format width and precision must be at most 10000"},
		{`"%*d|%.*s" % (-5, 3, -1, "ab")`, `"3    |"`},
		{`"%(a)*d" % {"a": 1}`, "error: * width cannot be used with a mapping"},
		{`"%*d" % ("a", 1)`, "error: * width requires an int, got string"},
		{`1 % "a"`, "error: unknown binary op: int % string"},
		{`7 % 0`, "error: integer modulo by zero"},
	})
}

// An error in a format points at the % operator, as Starlark's own did.
func TestPercentFormatErrorPosition(t *testing.T) {
	_, err := evalOut(t, "x = 1\nout = [\n  \"%d\" % \"no\"]")
	if err == nil || !strings.HasPrefix(err.Error(), "test.star:3:8: %d format requires integer") {
		t.Fatalf("error = %v, want it at test.star:3:8", err)
	}
	_, err = evalOut(t, "out = 5 % 0")
	if err == nil || !strings.HasPrefix(err.Error(), "test.star:1:9: integer modulo by zero") {
		t.Fatalf("error = %v, want it at test.star:1:9", err)
	}
}

// benchModulo runs a Starlark loop of integer % with and without the
// formatting rewrite: the rewrite's cost is one builtin call per %.
func benchModulo(b *testing.B, rewrite bool) {
	src := []byte("def f():\n    s = 0\n    for i in range(100000):\n        s += i % 7\n    return s\n")
	f, err := fileOptions.Parse("b.star", src, 0)
	if err != nil {
		b.Fatal(err)
	}
	pre := starlark.StringDict{}
	if rewrite {
		rewritePercent(f)
		pre[percentName] = starlark.NewBuiltin(percentName, percentOp)
	}
	prog, err := starlark.FileProgram(f, pre.Has)
	if err != nil {
		b.Fatal(err)
	}
	th := &starlark.Thread{}
	g, err := prog.Init(th, pre)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := starlark.Call(th, g["f"], nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}
func BenchmarkModuloNative(b *testing.B)    { benchModulo(b, false) }
func BenchmarkModuloRewritten(b *testing.B) { benchModulo(b, true) }

// A format string may come from a response (r.text % x): no input may
// panic, and the output is bounded by the width limit.
func FuzzPercentFormat(f *testing.F) {
	for _, s := range []string{"%s", "%05.2f", "%(a)s", "%*.*d", "%#X%%", "%-+ 0#10.3e", "%(", "%.", "%c", "%999999d"} {
		f.Add(s)
	}
	args := []starlark.Value{
		starlark.Tuple{starlark.MakeInt(3), starlark.Float(-2.5), starlark.String("é"), starlark.MakeInt(65)},
		starlark.MakeInt(-7),
	}
	f.Fuzz(func(t *testing.T, format string) {
		for _, x := range args {
			v, err := percentFormat(format, x)
			if err == nil && len(v.(starlark.String)) > len(format)*(maxFmtWidth+20) {
				t.Fatalf("%q %% %s: %d bytes", format, x, len(v.(starlark.String)))
			}
		}
		d := starlark.NewDict(1)
		_ = d.SetKey(starlark.String("a"), starlark.Float(1.5))
		_, _ = percentFormat(format, d)
	})
}
