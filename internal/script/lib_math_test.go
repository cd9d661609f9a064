package script

import "testing"

// The expected values are what CPython 3 gives.
func TestSumRoundPow(t *testing.T) {
	runExprCases(t, []exprCase{
		{`[sum([1, 2, 3]), sum([0.5, 1], 10), sum([[1], [2]], []), sum(range(101)), sum([])]`, `[6, 11.5, [1, 2], 5050, 0]`},
		{`[round(2.5), round(3.5), round(-2.5), round(2.675, 2), round(0.125, 2), round(1250, -2), round(1350, -2), round(1250.0, -2), round(7, 1), round(-1351, -2)]`,
			`[2, 4, -2, 2.67, 0.12, 1200, 1400, 1200.0, 7, -1400]`},
		{`[type(round(2.4)), type(round(2.4, 0)), round(1e300), round(0.5), round(-0.5), round(2.5, None)]`, `["int", "float", 1000000000000000052504760255204420248704468581108159154915854115511802457988908195786371375080447864043704443832883878176942523235360430575644792184786706982848387200926575803737830233794788090059368953234970799945081119038967640880074652742780142494579258788820056842838115669472196386865459400540160, 0, 0, 2]`},
		{`[pow(2, 10), pow(2, -1), pow(3, 4, 5), pow(3, -1, 7), pow(2.0, 3), pow(4, 0.5), pow(10, 30), pow(-2, 3), pow(5, 3, -7)]`,
			`[1024, 0.5, 1, 5, 8.0, 2.0, 1000000000000000000000000000000, -8, -1]`},
		{`sum(["a", "b"], "")`, `error: sum: cannot sum strings: use "".join(seq)`},
		{`sum([1, "a"])`, "error: sum: element 1: unknown binary op: int + string"},
		{`sum(5)`, "error: sum: for parameter iterable: got int, want iterable"},
		{`round("1")`, "error: round: want an int or a float, got string"},
		{`round(float("inf"))`, "error: round: cannot convert +inf to an int"},
		{`round(1.5, "x")`, "error: round: ndigits must be an int, got string"},
		{`pow(2, 10000000)`, "error: pow: the result would have more than 1048576 bits"},
		{`pow(2, 3, 0)`, "error: pow: mod must not be zero"},
		{`pow(2.0, 3, 5)`, "error: pow: with mod, all three arguments must be ints"},
		{`pow(2, -1, 4)`, "error: pow: base is not invertible for the given mod"},
		{`pow(-8, 0.5)`, "error: pow: a negative number to a fractional power is complex"},
		{`pow(0, -1)`, "error: pow: 0 cannot be raised to a negative power"},
		{`pow("a", 2)`, "error: pow: want numbers, got string and int"},
	})
}
