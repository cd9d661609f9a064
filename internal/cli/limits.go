package cli

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/stats"
)

// limitOptions bound what the load generator itself may grow: response
// bodies, request names, its memory (docs/cli-flags.md, "Limits").
type limitOptions struct {
	maxBody   int64
	maxNames  int
	maxMemory int64
}

func (l *limitOptions) register(fs *pflag.FlagSet) {
	l.maxBody, l.maxNames = httpclient.DefaultMaxBody, stats.DefaultMaxNames
	fs.Var(size{&l.maxBody}, "max-body", "most bytes of one response body kept (after decoding) for the script; the rest is read and dropped and counted in truncated_bodies (-1: no limit, 0: keep none)")
	fs.Var(size{&l.maxMemory}, "max-memory", "stop the test as failed, writing every result, when this process's memory passes this size (default: 90% of GOMEMLIMIT, else of the cgroup's memory limit, else no guard; -1: no guard)")
	fs.IntVar(&l.maxNames, "max-names", stats.DefaultMaxNames, "most distinct request names (method + name) in a run; requests with further names are counted under \""+stats.OtherName+"\" (0: no limit)")
}

func (l *limitOptions) validate() error {
	switch {
	case l.maxBody < -1:
		return configErr("--max-body: must be -1 (no limit), 0 (keep none) or a size, got %d", l.maxBody)
	case l.maxMemory < -1:
		return configErr("--max-memory: must be a size, or -1 (no guard), got %d", l.maxMemory)
	case l.maxNames < 0:
		return configErr("--max-names: must be >= 0 (0: no limit), got %d", l.maxNames)
	}
	return nil
}

// bodyLimit is --max-body as httpclient.Options.MaxBody.
func (l *limitOptions) bodyLimit() int64 {
	switch l.maxBody {
	case 0:
		return httpclient.DiscardBody
	case -1:
		return httpclient.NoBodyLimit
	}
	return l.maxBody
}

// nameLimit is --max-names for stats (-1: none).
func (l *limitOptions) nameLimit() int {
	if l.maxNames == 0 {
		return -1
	}
	return l.maxNames
}

// size is a flag value in bytes: a number with an optional unit (B, KB,
// MB, GB as powers of 1000; KiB, MiB, GiB as powers of 1024), or -1.
type size struct{ p *int64 }

func (v size) Type() string { return "size" }
func (v size) String() string {
	if v.p == nil {
		return "0"
	}
	n := *v.p
	for _, u := range []struct {
		name string
		mul  int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n > 0 && n%u.mul == 0 {
			return strconv.FormatInt(n/u.mul, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}
func (v size) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*v.p = n
	return nil
}

func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "-1" {
		return -1, nil
	}
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" {
		return 0, fmt.Errorf("%q is not a size (e.g. 10MiB, 500KB, 1048576, -1)", s)
	}
	mul := map[string]float64{"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
		"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[strings.ToLower(unit)]
	if mul == 0 {
		return 0, fmt.Errorf("%q: unknown unit %q (B, KB, MB, GB, KiB, MiB, GiB)", s, unit)
	}
	v := f * mul
	if v > math.MaxInt64/2 || math.IsNaN(v) {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(v), nil
}
