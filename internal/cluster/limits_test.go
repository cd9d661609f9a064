package cluster

import (
	"math"
	"testing"
)

// TestFold: rows beyond the first limit keys of a test go to the other
// row, counts kept and saturating; keys seen before stay apart.
func TestFold(t *testing.T) {
	seen := map[string]bool{}
	first := map[string]int64{"a": 1, "b": 2}
	fold(first, seen, 2, "other")
	if len(first) != 2 || len(seen) != 2 {
		t.Fatalf("under the limit: rows %v, seen %v", first, seen)
	}
	rows := map[string]int64{"a": 5, "c": 1, "d": math.MaxInt64, "e": 7}
	fold(rows, seen, 2, "other")
	if len(rows) != 2 || rows["a"] != 5 || rows["other"] != math.MaxInt64 || !seen["other"] {
		t.Fatalf("over the limit: rows %v, seen %v", rows, seen)
	}
}
