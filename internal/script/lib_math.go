package script

import (
	"fmt"
	"math"
	"math/big"
	"strconv"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Python's sum, round and pow, which Starlark lacks.

func builtinSum(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		iterable starlark.Iterable
		acc      starlark.Value = starlark.MakeInt(0)
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "iterable", &iterable, "start?", &acc); err != nil {
		return nil, err
	}
	if _, ok := acc.(starlark.String); ok {
		return nil, fmt.Errorf(`sum: cannot sum strings: use "".join(seq)`)
	}
	it := iterable.Iterate()
	defer it.Done()
	var x starlark.Value
	for i := 0; it.Next(&x); i++ {
		var err error
		if acc, err = starlark.Binary(syntax.PLUS, acc, x); err != nil {
			return nil, fmt.Errorf("sum: element %d: %v", i, err)
		}
	}
	return acc, nil
}

// builtinRound is Python 3's round: halves go to the even neighbour;
// without ndigits the result is an int.
func builtinRound(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, nd starlark.Value = nil, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "number", &x, "ndigits?", &nd); err != nil {
		return nil, err
	}
	var ndigits int
	if nd != starlark.None {
		if err := starlark.AsInt(nd, &ndigits); err != nil {
			return nil, fmt.Errorf("round: ndigits must be an int, got %s", nd.Type())
		}
	}
	switch x := x.(type) {
	case starlark.Int:
		if ndigits >= 0 {
			return x, nil
		}
		return roundInt(x, -ndigits), nil
	case starlark.Float:
		f := float64(x)
		if nd == starlark.None {
			if math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, fmt.Errorf("round: cannot convert %s to an int", x)
			}
			return starlark.NumberToInt(starlark.Float(math.RoundToEven(f)))
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return x, nil
		}
		if ndigits >= 0 {
			if ndigits > 330 { // beyond any float's precision
				return x, nil
			}
			// the decimal conversion rounds the exact binary value, halves
			// to even, as Python does
			r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', ndigits, 64), 64)
			return starlark.Float(r), nil
		}
		if ndigits < -330 {
			return starlark.Float(math.Copysign(0, f)), nil
		}
		p := math.Pow10(-ndigits)
		return starlark.Float(math.RoundToEven(f/p) * p), nil
	}
	return nil, fmt.Errorf("round: want an int or a float, got %s", x.Type())
}

// roundInt rounds x to a multiple of 10**digits, halves to even.
func roundInt(x starlark.Int, digits int) starlark.Value {
	if digits > 4000 {
		return starlark.MakeInt(0)
	}
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil)
	q, r := new(big.Int).DivMod(x.BigInt(), p, new(big.Int)) // r >= 0
	switch c := new(big.Int).Lsh(r, 1).Cmp(p); {
	case c > 0, c == 0 && q.Bit(0) == 1:
		q.Add(q, big.NewInt(1))
	}
	return starlark.MakeBigInt(q.Mul(q, p))
}

// maxPowBits bounds the size of pow's integer results: 2**10**9 would
// take the whole machine.
const maxPowBits = 1 << 20

func builtinPow(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var base, exp, mod starlark.Value = nil, nil, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "base", &base, "exp", &exp, "mod?", &mod); err != nil {
		return nil, err
	}
	bi, bInt := base.(starlark.Int)
	ei, eInt := exp.(starlark.Int)
	if mod != starlark.None {
		mi, mInt := mod.(starlark.Int)
		if !bInt || !eInt || !mInt {
			return nil, fmt.Errorf("pow: with mod, all three arguments must be ints")
		}
		m := mi.BigInt()
		if m.Sign() == 0 {
			return nil, fmt.Errorf("pow: mod must not be zero")
		}
		x, e := bi.BigInt(), ei.BigInt()
		if e.Sign() < 0 { // Python 3.8: the inverse of base, to the power -exp
			if x = new(big.Int).ModInverse(x, new(big.Int).Abs(m)); x == nil {
				return nil, fmt.Errorf("pow: base is not invertible for the given mod")
			}
			e = new(big.Int).Neg(e)
		}
		r := new(big.Int).Exp(x, e, new(big.Int).Abs(m))
		if m.Sign() < 0 && r.Sign() != 0 { // the result takes the sign of mod
			r.Add(r, m)
		}
		return starlark.MakeBigInt(r), nil
	}
	if bInt && eInt && ei.Sign() >= 0 {
		x, e := bi.BigInt(), ei.BigInt()
		if x.CmpAbs(big.NewInt(1)) > 0 && (!e.IsInt64() || e.Int64() > maxPowBits/int64(x.BitLen()-1)) {
			return nil, fmt.Errorf("pow: the result would have more than %d bits", maxPowBits)
		}
		return starlark.MakeBigInt(new(big.Int).Exp(x, e, nil)), nil
	}
	fb, ok1 := starlark.AsFloat(base)
	fe, ok2 := starlark.AsFloat(exp)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("pow: want numbers, got %s and %s", base.Type(), exp.Type())
	}
	if fb == 0 && fe < 0 {
		return nil, fmt.Errorf("pow: 0 cannot be raised to a negative power")
	}
	if fb < 0 && fe != math.Trunc(fe) {
		return nil, fmt.Errorf("pow: a negative number to a fractional power is complex")
	}
	return starlark.Float(math.Pow(fb, fe)), nil
}
