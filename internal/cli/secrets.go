package cli

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// isSecretFlag reports whether a flag's value is a secret (or may hold
// one: a results URL with a SAS signature), never to be printed.
func isSecretFlag(name string) bool {
	switch name {
	case "web-auth", "cluster-token", "results-url":
		return true
	}
	return false
}

// configParseError describes a TOML syntax error without quoting a secret.
// The parser's message quotes what it found ("expected value but found
// \"abcdef\" instead" for cluster-token = abcdef123), so when the error
// lies on the line of a secret key only the line and the key are named.
func configParseError(err error, src []byte) error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		var ppe *toml.ParseError
		if !errors.As(err, &ppe) {
			return err
		}
		pe = *ppe
	}
	line := pe.Position.Line
	key := pe.LastKey
	if lines := strings.Split(string(src), "\n"); line >= 1 && line <= len(lines) {
		if k, _, ok := strings.Cut(lines[line-1], "="); ok {
			if k = strings.Trim(strings.TrimSpace(k), `"'`); isSecretFlag(k) {
				key = k
			}
		}
	}
	if !isSecretFlag(key) {
		return err
	}
	return fmt.Errorf("line %d: the line of %s is not valid TOML (write the value as one quoted string, %s = \"...\", and the key once); the parser's message is not shown, as it would quote the secret", line, key, key)
}

// tokenInClear reports whether a worker would send its cluster token
// unencrypted over a network: a token, no TLS, a master not on this
// machine.
func tokenInClear(token string, tlsCfg *tls.Config, masterHost string) bool {
	return token != "" && tlsCfg == nil && !isLoopback(masterHost)
}

// secretOnCommandLine reports whether a secret flag was given on the
// command line: a stray argument may then be its value (`--cluster-token=
// TOKEN`, `--web-auth admin: pass`) and must not be echoed.
func secretOnCommandLine(cmd *cobra.Command) bool {
	found := false
	cmd.Flags().Visit(func(f *pflag.Flag) {
		found = found || isSecretFlag(f.Name)
	})
	return found
}
