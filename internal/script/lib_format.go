package script

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Python's printf-style formatting ("%05.2f" % x), which Starlark's
// string % lacks (no flags, width or precision). The loader rewrites every
// `x % y` into a call of the predeclared builtin named percentName (a name
// no script can spell), which formats when x is a string and otherwise is
// Starlark's own %, so integer modulo is unchanged.

const percentName = "%"

// percentOp is x % y after the rewrite.
func percentOp(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	if s, ok := args[0].(starlark.String); ok {
		return percentFormat(string(s), args[1])
	}
	return starlark.Binary(syntax.PERCENT, args[0], args[1])
}

// fmtSpec is one conversion: %[(key)][flags][width][.precision]verb.
type fmtSpec struct {
	minus, plus, space, zero, alt bool
	width, prec                   int // prec < 0: not given
	verb                          byte
}

// percentFormat is format % x with Python's semantics (and Starlark's
// error messages where Starlark already had the feature).
func percentFormat(format string, x starlark.Value) (starlark.Value, error) {
	var buf strings.Builder
	tuple, isTuple := x.(starlark.Tuple)
	nargs := 1
	if isTuple {
		nargs = len(tuple)
	}
	index := 0
	next := func() (starlark.Value, error) {
		if index >= nargs {
			return nil, fmt.Errorf("not enough arguments for format string")
		}
		index++
		if isTuple {
			return tuple[index-1], nil
		}
		return x, nil
	}
	// number reads a width or precision: digits, or * for the next argument.
	number := func(what string, keyed bool) (int, error) {
		if format == "" || format[0] != '*' {
			var n int
			n, format = leadingInt(format)
			return n, nil
		}
		format = format[1:]
		if keyed {
			return 0, fmt.Errorf("* %s cannot be used with a mapping", what)
		}
		v, err := next()
		if err != nil {
			return 0, err
		}
		var n int
		if err := starlark.AsInt(v, &n); err != nil {
			return 0, fmt.Errorf("* %s requires an int, got %s", what, v.Type())
		}
		return n, nil
	}
	for {
		i := strings.IndexByte(format, '%')
		if i < 0 {
			buf.WriteString(format)
			break
		}
		buf.WriteString(format[:i])
		format = format[i+1:]
		if format != "" && format[0] == '%' {
			buf.WriteByte('%')
			format = format[1:]
			continue
		}
		var arg starlark.Value
		if format != "" && format[0] == '(' {
			j := strings.IndexByte(format, ')')
			if j < 0 {
				return nil, fmt.Errorf("incomplete format key")
			}
			key := format[1:j]
			format = format[j+1:]
			m, ok := x.(starlark.Mapping)
			if !ok {
				return nil, fmt.Errorf("format requires a mapping")
			}
			v, found, err := m.Get(starlark.String(key))
			if err != nil {
				return nil, err
			}
			if !found {
				return nil, fmt.Errorf("key not found: %s", key)
			}
			arg = v
		}
		sp := fmtSpec{prec: -1}
	flags:
		for ; format != ""; format = format[1:] {
			switch format[0] {
			case '-':
				sp.minus = true
			case '+':
				sp.plus = true
			case ' ':
				sp.space = true
			case '0':
				sp.zero = true
			case '#':
				sp.alt = true
			default:
				break flags
			}
		}
		w, err := number("width", arg != nil)
		if err != nil {
			return nil, err
		}
		if w < 0 { // Python: a negative * width left-justifies
			sp.minus, w = true, -w
		}
		sp.width = w
		if format != "" && format[0] == '.' {
			format = format[1:]
			p, err := number("precision", arg != nil)
			if err != nil {
				return nil, err
			}
			sp.prec = max(p, 0)
		}
		if format != "" && strings.IndexByte("hlL", format[0]) >= 0 {
			format = format[1:] // length modifiers mean nothing in Python either
		}
		if format == "" {
			return nil, fmt.Errorf("incomplete format")
		}
		sp.verb, format = format[0], format[1:]
		if arg == nil {
			var err error
			if arg, err = next(); err != nil {
				return nil, err
			}
		}
		if err := sp.write(&buf, arg); err != nil {
			return nil, err
		}
	}
	if index < nargs && !is[starlark.Mapping](x) {
		return nil, fmt.Errorf("too many arguments for format string")
	}
	return starlark.String(buf.String()), nil
}

func is[T any](x any) bool {
	_, ok := x.(T)
	return ok
}

// leadingInt reads the decimal digits at the start of s (0 if none); a
// width or precision beyond maxFmtWidth is refused later.
func leadingInt(s string) (int, string) {
	n := 0
	i := 0
	for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		if n <= maxFmtWidth {
			n = n*10 + int(s[i]-'0')
		}
	}
	return n, s[i:]
}

// maxFmtWidth bounds width and precision so "%999999999d" cannot take the
// memory of the machine.
const maxFmtWidth = 10_000

func (sp *fmtSpec) write(buf *strings.Builder, arg starlark.Value) error {
	if sp.width > maxFmtWidth || sp.prec > maxFmtWidth {
		return fmt.Errorf("format width and precision must be at most %d", maxFmtWidth)
	}
	switch c := sp.verb; c {
	case 's', 'r':
		var s string
		if str, ok := starlark.AsString(arg); ok && c == 's' {
			s = str
		} else {
			s = arg.String()
		}
		if sp.prec >= 0 && utf8.RuneCountInString(s) > sp.prec {
			cut := 0
			for n := 0; n < sp.prec; n++ {
				_, size := utf8.DecodeRuneInString(s[cut:])
				cut += size
			}
			s = s[:cut]
		}
		sp.pad(buf, "", s, false)
	case 'c':
		var r rune
		switch a := arg.(type) {
		case starlark.Int:
			n, err := starlark.AsInt32(a)
			if err != nil || n < 0 || n > unicode.MaxRune {
				return fmt.Errorf("%%c format requires a valid Unicode code point, got %s", a)
			}
			r = rune(n)
		case starlark.String:
			var size int
			r, size = utf8.DecodeRuneInString(string(a))
			if size != len(a) || len(a) == 0 {
				return fmt.Errorf("%%c format requires a single-character string")
			}
		default:
			return fmt.Errorf("%%c format requires int or single-character string, not %s", arg.Type())
		}
		sp.pad(buf, "", string(r), false)
	case 'd', 'i', 'u', 'o', 'x', 'X':
		if b, ok := arg.(starlark.Bool); ok { // Python's bool is an int
			arg = starlark.MakeInt(0)
			if b {
				arg = starlark.MakeInt(1)
			}
		}
		n, err := starlark.NumberToInt(arg)
		if err != nil {
			return fmt.Errorf("%%%c format requires integer: %v", c, err)
		}
		sp.writeInt(buf, n.BigInt())
	case 'e', 'E', 'f', 'F', 'g', 'G':
		f, ok := starlark.AsFloat(arg)
		if !ok {
			return fmt.Errorf("%%%c format requires float, not %s", c, arg.Type())
		}
		sp.writeFloat(buf, f)
	default:
		return fmt.Errorf("unknown conversion %%%c", c)
	}
	return nil
}

func (sp *fmtSpec) sign(negative bool) string {
	switch {
	case negative:
		return "-"
	case sp.plus:
		return "+"
	case sp.space:
		return " "
	}
	return ""
}

func (sp *fmtSpec) writeInt(buf *strings.Builder, n *big.Int) {
	base, prefix := 10, ""
	switch sp.verb {
	case 'o':
		base, prefix = 8, "0o"
	case 'x':
		base, prefix = 16, "0x"
	case 'X':
		base, prefix = 16, "0X"
	}
	digits := new(big.Int).Abs(n).Text(base)
	if sp.verb == 'X' {
		digits = strings.ToUpper(digits)
	}
	if len(digits) < sp.prec {
		digits = strings.Repeat("0", sp.prec-len(digits)) + digits
	}
	if !sp.alt {
		prefix = ""
	}
	sp.pad(buf, sp.sign(n.Sign() < 0)+prefix, digits, true)
}

func (sp *fmtSpec) writeFloat(buf *strings.Builder, f float64) {
	var body string
	upper := sp.verb == 'E' || sp.verb == 'F' || sp.verb == 'G'
	switch {
	case math.IsInf(f, 0):
		body = "inf"
	case math.IsNaN(f):
		body = "nan"
	default:
		prec := sp.prec
		if prec < 0 {
			prec = 6
		}
		verb := sp.verb
		if verb == 'g' || verb == 'G' {
			prec = max(prec, 1)
		}
		if sp.alt {
			body = fmt.Sprintf("%#.*"+string(verb), prec, math.Abs(f))
		} else {
			body = strconv.FormatFloat(math.Abs(f), verb|0x20, prec, 64) // lower-case verb
		}
	}
	if upper {
		body = strings.ToUpper(body)
	}
	sp.pad(buf, sp.sign(math.Signbit(f) && !math.IsNaN(f)), body, true)
}

// pad writes sign+body padded to the width: spaces on the left, on the
// right with '-', or zeros between sign and body with '0' for numbers.
func (sp *fmtSpec) pad(buf *strings.Builder, sign, body string, numeric bool) {
	n := sp.width - utf8.RuneCountInString(sign) - utf8.RuneCountInString(body)
	switch {
	case n <= 0:
		buf.WriteString(sign)
		buf.WriteString(body)
	case sp.minus:
		buf.WriteString(sign)
		buf.WriteString(body)
		buf.WriteString(strings.Repeat(" ", n))
	case sp.zero && numeric:
		buf.WriteString(sign)
		buf.WriteString(strings.Repeat("0", n))
		buf.WriteString(body)
	default:
		buf.WriteString(strings.Repeat(" ", n))
		buf.WriteString(sign)
		buf.WriteString(body)
	}
}
