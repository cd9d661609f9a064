package cli

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/stampede-load/stampede/internal/workload"
)

// duration is a flag value for run times: Go durations ("1h30m", "90s") or
// a plain number of seconds, as Locust accepts.
type duration struct{ d *time.Duration }

func (v duration) String() string {
	if v.d == nil || *v.d == 0 {
		return "0"
	}
	return v.d.String()
}
func (v duration) Type() string { return "duration" }
func (v duration) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

// parseDuration accepts what workload.ParseDuration does, and "" as 0.
func parseDuration(s string) (time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		return 0, nil
	}
	return workload.ParseDuration(s)
}

func durationFlag(fs *pflag.FlagSet, p *time.Duration, name, short, usage string) {
	fs.VarP(duration{p}, name, short, usage)
}

// checkHost validates a target base URL.
func checkHost(flag, host string) error {
	if host == "" {
		return nil
	}
	u, err := url.Parse(host)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: %q is not an http:// or https:// URL", flag, host)
	}
	return nil
}

// parseVars turns KEY=VALUE pairs into a map.
func parseVars(pairs []string) (map[string]string, error) {
	out := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--var %q: want KEY=VALUE", p)
		}
		out[k] = v
	}
	return out, nil
}
