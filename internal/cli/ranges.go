package cli

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/stampede-load/stampede/internal/bounds"
)

// checkedValue is a flag value whose every setting is checked against its
// range: from the command line, a STAMPEDE_* variable or the config file
// alike, since all three go through Set. pflag, bind and setFromConfig
// then name the flag, the variable or the key in the error.
type checkedValue struct {
	pflag.Value
	check func() error
}

func (v checkedValue) Set(s string) error {
	if err := v.Value.Set(s); err != nil {
		return err
	}
	return v.check()
}

// limit attaches a range check to fs's flag name.
func limit(fs *pflag.FlagSet, name string, check func() error) {
	f := fs.Lookup(name)
	f.Value = checkedValue{f.Value, check}
}

// intIn bounds an int flag to [lo, hi].
func intIn(fs *pflag.FlagSet, name string, p *int, lo, hi int64) {
	limit(fs, name, func() error { return bounds.Int(int64(*p), lo, hi) })
}

// floatIn bounds a float flag to finite numbers in [lo, hi].
func floatIn(fs *pflag.FlagSet, name string, p *float64, lo, hi float64) {
	limit(fs, name, func() error { return bounds.Float(*p, lo, hi) })
}

// Ranges of the flags that have no natural one in package bounds.
const (
	maxPort         = 65535
	maxWorkers      = 100_000
	maxExitCode     = 125 // 126 and up mean "cannot run" and signals to shells
	maxLatencyScale = 1000
	maxNames        = 10_000_000 // --max-names
	maxAutoquitSecs = int64(bounds.MaxRunTime / time.Second)
)
