package cli

import (
	"strings"
	"testing"
)

// Bad demo options are refused before anything listens, naming the flag.
func TestDemoFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--error-rate", "2"}, `"--error-rate" flag: must be a number from 0 to 1, got 2`},
		{[]string{"--error-rate", "-0.1"}, `"--error-rate" flag: must be a number from 0 to 1, got -0.1`},
		{[]string{"--error-rate", "NaN"}, `"--error-rate" flag: must be a number from 0 to 1, got NaN`},
		{[]string{"--latency-scale", "-1"}, `"--latency-scale" flag: must be a number from 0 to 1000, got -1`},
	} {
		r := runMain(t, append([]string{"demo", "--addr", "127.0.0.1:0"}, tc.args...)...)
		if r.code != ExitConfig || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("demo %v: exit %d, stderr %q; want exit %d and %q", tc.args, r.code, r.stderr, ExitConfig, tc.want)
		}
	}
}
