package script

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// Random numbers: each thread has its own generator (no shared lock), set
// by the runner from --seed and the user id so a seeded run repeats.
const randKey = "stampede.rand"

func newRand(seed int64, id int) *rand.Rand {
	if seed == 0 {
		return rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return rand.New(rand.NewPCG(uint64(seed), uint64(id)+1))
}

func setRand(t *starlark.Thread, r *rand.Rand) { t.SetLocal(randKey, r) }

func threadRand(t *starlark.Thread) *rand.Rand {
	if r, ok := t.Local(randKey).(*rand.Rand); ok {
		return r
	}
	r := newRand(0, 0)
	setRand(t, r)
	return r
}

var randomModule = &starlarkstruct.Module{
	Name: "random",
	Members: starlark.StringDict{
		"int":     starlark.NewBuiltin("random.int", randInt),
		"randint": starlark.NewBuiltin("random.randint", randInt),
		"uniform": starlark.NewBuiltin("random.uniform", randUniform),
		"random":  starlark.NewBuiltin("random.random", randFloat),
		"choice":  starlark.NewBuiltin("random.choice", randChoice),

		"shuffle":     starlark.NewBuiltin("random.shuffle", randShuffle),
		"sample":      starlark.NewBuiltin("random.sample", randSample),
		"choices":     starlark.NewBuiltin("random.choices", randChoices),
		"gauss":       starlark.NewBuiltin("random.gauss", randGauss),
		"expovariate": starlark.NewBuiltin("random.expovariate", randExpovariate),
	},
}

func randInt(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var lo, hi int64
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &lo, &hi); err != nil {
		return nil, err
	}
	if hi < lo {
		return nil, fmt.Errorf("%s: empty range [%d, %d]", b.Name(), lo, hi)
	}
	return starlark.MakeInt64(lo + threadRand(t).Int64N(hi-lo+1)), nil
}

func randUniform(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var lo, hi number
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &lo, &hi); err != nil {
		return nil, err
	}
	return starlark.Float(float64(lo) + float64(hi-lo)*threadRand(t).Float64()), nil
}

func randFloat(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	return starlark.Float(threadRand(t).Float64()), nil
}

func randChoice(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var seq starlark.Indexable
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &seq); err != nil {
		return nil, err
	}
	if seq.Len() == 0 {
		return nil, fmt.Errorf("%s: empty sequence", b.Name())
	}
	return seq.Index(threadRand(t).IntN(seq.Len())), nil
}

func randShuffle(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var l *starlark.List
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &l); err != nil {
		return nil, err
	}
	rng := threadRand(t)
	for i := l.Len() - 1; i > 0; i-- {
		j := rng.IntN(i + 1)
		x, y := l.Index(i), l.Index(j)
		if err := l.SetIndex(i, y); err != nil {
			return nil, fmt.Errorf("%s: %v (a global list is frozen: shuffle a copy, list(x))", b.Name(), err)
		}
		_ = l.SetIndex(j, x)
	}
	return starlark.None, nil
}

func randSample(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		pop starlark.Indexable
		k   int
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "population", &pop, "k", &k); err != nil {
		return nil, err
	}
	n := pop.Len()
	if k < 0 || k > n {
		return nil, fmt.Errorf("%s: k must be in [0, %d] (the population size), got %d", b.Name(), n, k)
	}
	// a partial Fisher-Yates over the indices: k draws, no repeats
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	rng := threadRand(t)
	out := make([]starlark.Value, k)
	for i := range k {
		j := i + rng.IntN(n-i)
		idx[i], idx[j] = idx[j], idx[i]
		out[i] = pop.Index(idx[i])
	}
	return starlark.NewList(out), nil
}

func randChoices(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		pop                 starlark.Indexable
		weights, cumWeights starlark.Value = starlark.None, starlark.None
		k                                  = 1
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "population", &pop, "weights?", &weights, "cum_weights?", &cumWeights, "k?", &k); err != nil {
		return nil, err
	}
	n := pop.Len()
	if k < 0 {
		return nil, fmt.Errorf("%s: k must be >= 0, got %d", b.Name(), k)
	}
	if n == 0 && k > 0 {
		return nil, fmt.Errorf("%s: empty population", b.Name())
	}
	rng := threadRand(t)
	out := make([]starlark.Value, k)
	if weights == starlark.None && cumWeights == starlark.None {
		for i := range out {
			out[i] = pop.Index(rng.IntN(n))
		}
		return starlark.NewList(out), nil
	}
	if weights != starlark.None && cumWeights != starlark.None {
		return nil, fmt.Errorf("%s: give weights or cum_weights, not both", b.Name())
	}
	what, w := "weights", weights
	if cumWeights != starlark.None {
		what, w = "cum_weights", cumWeights
	}
	seq, ok := w.(starlark.Indexable)
	if !ok || seq.Len() != n {
		return nil, fmt.Errorf("%s: %s must be a list of %d numbers, one per element of the population, got %s", b.Name(), what, n, w)
	}
	cum := make([]float64, n)
	total := 0.0
	for i := range n {
		f, ok := starlark.AsFloat(seq.Index(i))
		if !ok || math.IsNaN(f) {
			return nil, fmt.Errorf("%s: %s[%d] must be a number, got %s", b.Name(), what, i, seq.Index(i))
		}
		if what == "weights" {
			if f < 0 {
				return nil, fmt.Errorf("%s: weights[%d] is negative (%s)", b.Name(), i, seq.Index(i))
			}
			total += f
		} else {
			if f < total {
				return nil, fmt.Errorf("%s: cum_weights must not decrease, but cum_weights[%d] = %s", b.Name(), i, seq.Index(i))
			}
			total = f
		}
		cum[i] = total
	}
	if total <= 0 || math.IsInf(total, 0) {
		return nil, fmt.Errorf("%s: the total of the %s must be positive and finite, got %g", b.Name(), what, total)
	}
	for i := range out {
		x := rng.Float64() * total
		j := sort.Search(n, func(j int) bool { return cum[j] > x })
		out[i] = pop.Index(min(j, n-1))
	}
	return starlark.NewList(out), nil
}

func randGauss(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	mu, sigma := number(0), number(1)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "mu?", &mu, "sigma?", &sigma); err != nil {
		return nil, err
	}
	return starlark.Float(float64(mu) + float64(sigma)*threadRand(t).NormFloat64()), nil
}

func randExpovariate(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	lambd := number(1)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "lambd?", &lambd); err != nil {
		return nil, err
	}
	if lambd == 0 || math.IsNaN(float64(lambd)) {
		return nil, fmt.Errorf("%s: lambd must not be zero (it is 1 / the mean)", b.Name())
	}
	return starlark.Float(threadRand(t).ExpFloat64() / float64(lambd)), nil
}

// number is an int or float argument, as Python's random functions take.
type number float64

func (n *number) Unpack(v starlark.Value) error {
	f, ok := starlark.AsFloat(v)
	if !ok {
		return fmt.Errorf("got %s, want a number", v.Type())
	}
	*n = number(f)
	return nil
}
