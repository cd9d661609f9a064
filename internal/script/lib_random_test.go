package script

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"go.starlark.net/starlark"
)

func TestRandomExtrasSeeded(t *testing.T) {
	h := newHarness(t, `
def t(u):
    l = list(range(10))
    random.shuffle(l)
    u.state["r"] = [l, random.sample(["a", "b", "c", "d", "e"], 3), random.choices("xyz", k=4),
                    random.choices([1, 2, 3], weights=[0, 0, 5], k=3), random.choices([1, 2], cum_weights=[0, 1]),
                    random.gauss(10, 2), random.gauss(mu=0.5), random.expovariate(4)]
c = user(tasks=[t])
`, Options{})
	draw := func(id int, seed int64) []*starlark.List {
		v := h.vu(id, "c", "http://x.test", seed)
		var out []*starlark.List
		for range 200 {
			v.RunTask(context.Background())
			r, _, _ := stateOf(t, v).Get(starlark.String("r"))
			l, ok := r.(*starlark.List)
			if !ok {
				t.Fatalf("the task failed: %v", h.flush().Exceptions)
			}
			out = append(out, l)
		}
		if ex := h.flush().Exceptions; len(ex) > 0 {
			t.Fatalf("exceptions: %v", ex)
		}
		return out
	}
	str := func(ls []*starlark.List) string {
		var b strings.Builder
		for _, l := range ls {
			b.WriteString(l.String())
		}
		return b.String()
	}
	a := draw(1, 42)
	if str(a) != str(draw(1, 42)) {
		t.Error("same seed and user gave different values")
	}
	if str(a) == str(draw(2, 42)) {
		t.Error("two users of a seeded run draw the same values")
	}
	var gsum, esum float64
	for _, r := range a {
		perm := r.Index(0).(*starlark.List)
		var ints []int
		for i := range perm.Len() {
			n, _ := starlark.AsInt32(perm.Index(i))
			ints = append(ints, n)
		}
		slices.Sort(ints)
		if !slices.Equal(ints, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
			t.Fatalf("shuffle is not a permutation: %s", perm)
		}
		s := r.Index(1).(*starlark.List)
		if s.Len() != 3 || s.Index(0) == s.Index(1) || s.Index(1) == s.Index(2) || s.Index(0) == s.Index(2) {
			t.Fatalf("sample repeats or has the wrong size: %s", s)
		}
		if c := r.Index(2).(*starlark.List); c.Len() != 4 || !strings.Contains("xyz", string(c.Index(0).(starlark.String))) {
			t.Fatalf("choices: %s", c)
		}
		if w := r.Index(3).String(); w != "[3, 3, 3]" {
			t.Fatalf("choices with weights [0, 0, 5] = %s", w)
		}
		if w := r.Index(4).String(); w != "[2]" {
			t.Fatalf("choices with cum_weights [0, 1] = %s", w)
		}
		g, _ := starlark.AsFloat(r.Index(5))
		e, _ := starlark.AsFloat(r.Index(7))
		if e < 0 {
			t.Fatalf("expovariate gave %g", e)
		}
		gsum += g
		esum += e
	}
	if m := gsum / float64(len(a)); math.Abs(m-10) > 0.6 {
		t.Errorf("gauss(10, 2) averages %g over %d draws", m, len(a))
	}
	if m := esum / float64(len(a)); math.Abs(m-0.25) > 0.1 {
		t.Errorf("expovariate(4) averages %g, want about 1/4", m)
	}
	runExprCases(t, []exprCase{
		{`random.sample([1, 2], 3)`, "error: random.sample: k must be in [0, 2] (the population size), got 3"},
		{`random.shuffle((1, 2))`, "error: random.shuffle: for parameter 1: got tuple, want list"},
		{`random.choices([], k=1)`, "error: random.choices: empty population"},
		{`random.choices([1, 2], weights=[1])`, "error: random.choices: weights must be a list of 2 numbers, one per element of the population"},
		{`random.choices([1, 2], weights=[1, -1])`, "error: random.choices: weights[1] is negative (-1)"},
		{`random.choices([1, 2], weights=[0, 0])`, "error: random.choices: the total of the weights must be positive and finite, got 0"},
		{`random.choices([1, 2], weights=[1, "a"])`, `error: random.choices: weights[1] must be a number, got "a"`},
		{`random.choices([1, 2], weights=[1, 1], cum_weights=[1, 2])`, "error: random.choices: give weights or cum_weights, not both"},
		{`random.choices([1, 2], cum_weights=[2, 1])`, "error: random.choices: cum_weights must not decrease, but cum_weights[1] = 1"},
		{`random.expovariate(0)`, "error: random.expovariate: lambd must not be zero"},
		{`random.gauss("a")`, "error: random.gauss: for parameter mu: got string, want a number"},
		{`random.uniform(1, 3) < 3`, "True"},
	})
	// shuffling a frozen global from a task says what to do
	hf := newHarness(t, "L = [1, 2, 3]\ndef t(u):\n    random.shuffle(L)\nc = user(tasks=[t])\n", Options{})
	hf.vu(1, "c", "http://x.test", 1).RunTask(context.Background())
	if k, _ := onlyException(t, hf.flush()); !strings.Contains(k.Message, "random.shuffle: cannot assign to element of frozen list (a global list is frozen: shuffle a copy, list(x))") {
		t.Errorf("exception %q", k.Message)
	}
}
