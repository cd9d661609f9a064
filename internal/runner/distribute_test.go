package runner

import (
	"maps"
	"math/rand/v2"
	"testing"
)

func TestDistribute(t *testing.T) {
	tests := []struct {
		name    string
		classes []Class
		n       int
		want    map[string]int
	}{
		{"one class", []Class{{Name: "a", Weight: 1}}, 10, map[string]int{"a": 10}},
		{"no users", []Class{{Name: "a", Weight: 1}, {Name: "f", FixedCount: 2}}, 0, map[string]int{"a": 0, "f": 0}},
		{"weights 3:1", []Class{{Name: "a", Weight: 3}, {Name: "b", Weight: 1}}, 100, map[string]int{"a": 75, "b": 25}},
		{"weights 3:1, remainder tie goes to the first", []Class{{Name: "a", Weight: 3}, {Name: "b", Weight: 1}}, 10, map[string]int{"a": 8, "b": 2}},
		{"largest remainder", []Class{{Name: "a", Weight: 1}, {Name: "b", Weight: 2}, {Name: "c", Weight: 7}}, 7, map[string]int{"a": 1, "b": 1, "c": 5}},
		{"equal weights", []Class{{Name: "a", Weight: 1}, {Name: "b", Weight: 1}, {Name: "c", Weight: 1}}, 10, map[string]int{"a": 4, "b": 3, "c": 3}},
		{"fewer users than classes", []Class{{Name: "a", Weight: 1}, {Name: "b", Weight: 5}, {Name: "c", Weight: 1}}, 1, map[string]int{"a": 0, "b": 1, "c": 0}},
		{"fixed counts first", []Class{{Name: "w", Weight: 1}, {Name: "f", FixedCount: 2}, {Name: "g", FixedCount: 3}}, 10, map[string]int{"w": 5, "f": 2, "g": 3}},
		{"fixed count ignores weight", []Class{{Name: "w", Weight: 1}, {Name: "f", Weight: 100, FixedCount: 1}}, 4, map[string]int{"w": 3, "f": 1}},
		{"fewer users than fixed counts: in order", []Class{{Name: "f", FixedCount: 3}, {Name: "w", Weight: 1}, {Name: "g", FixedCount: 3}}, 4, map[string]int{"f": 3, "w": 0, "g": 1}},
		{"only fixed counts: the rest is not spawned", []Class{{Name: "f", FixedCount: 2}}, 10, map[string]int{"f": 2}},
		{"zero weight", []Class{{Name: "a", Weight: 0}, {Name: "b", Weight: 2}}, 5, map[string]int{"a": 0, "b": 5}},
		{"all zero weights", []Class{{Name: "a"}, {Name: "b"}}, 5, map[string]int{"a": 0, "b": 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Distribute(tc.classes, tc.n); !maps.Equal(got, tc.want) {
				t.Errorf("Distribute(%d) = %v, want %v", tc.n, got, tc.want)
			}
		})
	}
}

// With any weights, the counts add up to n exactly and each class gets its
// share rounded down or up.
func TestDistributeSumsExactly(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for range 2000 {
		k := 1 + rng.IntN(6)
		classes := make([]Class, k)
		total := 0
		for i := range classes {
			classes[i] = Class{Name: string(rune('a' + i)), Weight: 1 + rng.IntN(20)}
			total += classes[i].Weight
		}
		n := rng.IntN(1000)
		got := Distribute(classes, n)
		sum := 0
		for _, c := range classes {
			g := got[c.Name]
			sum += g
			lo := n * c.Weight / total
			if g < lo || g > lo+1 {
				t.Fatalf("%v, n=%d: %s got %d, share is %d..%d", classes, n, c.Name, g, lo, lo+1)
			}
		}
		if sum != n {
			t.Fatalf("%v, n=%d: counts %v add up to %d", classes, n, got, sum)
		}
	}
}

func TestPickSpawnAndStop(t *testing.T) {
	order := []string{"a", "b"}
	target := map[string]int{"a": 3, "b": 1}
	if got := pickSpawn(order, target, map[string]int{"a": 0, "b": 0}); got != "a" {
		t.Errorf("first spawn = %q", got)
	}
	if got := pickSpawn(order, target, map[string]int{"a": 1, "b": 0}); got != "b" {
		t.Errorf("second spawn = %q (b is further below its target)", got)
	}
	if got := pickSpawn(order, target, map[string]int{"a": 3, "b": 1}); got != "" {
		t.Errorf("at target: spawn %q", got)
	}
	if got := pickStop(order, map[string]int{"a": 1, "b": 0}, map[string]int{"a": 3, "b": 1}); got != "b" {
		t.Errorf("stop = %q (b is 100%% over, a 67%%)", got)
	}
	if got := pickStop(order, target, map[string]int{"a": 3, "b": 1}); got != "" {
		t.Errorf("at target: stop %q", got)
	}
}
