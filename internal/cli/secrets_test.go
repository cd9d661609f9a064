package cli

import (
	"bytes"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretsNotPrinted: the web password, the cluster token and a results
// URL's signature never appear in --help (whose defaults must not come
// from the environment or the config file) nor in config-file errors.
func TestSecretsNotPrinted(t *testing.T) {
	const secret = "qzxwvkjhpf"
	dir := t.TempDir()
	script := filepath.Join(dir, "t.star")
	if err := os.WriteFile(script, []byte("def t(u):\n    pass\nv = user(tasks=[t])\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, env map[string]string, config string, args ...string) (int, string) {
		t.Helper()
		for k, v := range env {
			t.Setenv(k, v)
		}
		if config != "" {
			p := filepath.Join(t.TempDir(), "stampede.toml")
			if err := os.WriteFile(p, []byte(config), 0o600); err != nil {
				t.Fatal(err)
			}
			args = append(args, "--config", p)
		}
		var out, errb bytes.Buffer
		code := Main(args, &out, &errb)
		return code, out.String() + errb.String()
	}
	tests := []struct {
		name   string
		env    map[string]string
		config string
		args   []string
		code   int
		want   string
	}{
		{name: "run --help, password in env", env: map[string]string{"STAMPEDE_WEB_AUTH": "admin:" + secret},
			args: []string{"run", "--help"}, want: "--web-auth"},
		{name: "master --help, token in env", env: map[string]string{"STAMPEDE_CLUSTER_TOKEN": secret},
			args: []string{"master", "--help"}, want: "--cluster-token"},
		{name: "worker --help, token in env", env: map[string]string{"STAMPEDE_CLUSTER_TOKEN": secret},
			args: []string{"worker", "--help"}, want: "--cluster-token"},
		{name: "master --help, secrets in the config file",
			config: "cluster-token = \"" + secret + "\"\nweb-auth = \"admin:" + secret + "\"\nresults-url = \"azblob://c?sig=" + secret + "\"\n",
			args:   []string{"master", "--help"}, want: "--cluster-token"},
		{name: "unquoted token in the config file", config: "cluster-token = " + secret + "\n",
			args: []string{"master", "-f", script, "--headless"}, code: ExitConfig, want: "line 1: the line of cluster-token is not valid TOML"},
		{name: "unquoted password in the config file", config: "users = 3\nweb-auth = admin:" + secret + "\n",
			args: []string{"run", "-f", script}, code: ExitConfig, want: "line 2: the line of web-auth"},
		{name: "unterminated token", config: "\"cluster-token\" = \"" + secret + "\n",
			args: []string{"master", "-f", script, "--headless"}, code: ExitConfig, want: "line 1: the line of cluster-token"},
		{name: "text after the token", config: "cluster-token = \"x\" " + secret + "\n",
			args: []string{"master", "-f", script, "--headless"}, code: ExitConfig, want: "line 1: the line of cluster-token"},
		{name: "token after an empty --cluster-token=", args: []string{"master", "-f", script, "--cluster-token=", secret},
			code: ExitConfig, want: "unexpected argument (not shown"},
		{name: "password split from its user", args: []string{"run", "-f", script, "--web-auth", "admin:", secret},
			code: ExitConfig, want: "unexpected argument (not shown"},
		{name: "unquoted results URL", config: "results-url = azblob://c?sig=" + secret + "\n",
			args: []string{"run", "-f", script, "--headless"}, code: ExitConfig, want: "the line of results-url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := run(t, tt.env, tt.config, tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d; output:\n%s", code, tt.code, out)
			}
			// Any 4 characters of the secret would be a leak (the parser
			// quoted "s3cretV" of an unquoted value).
			for i := 0; i+4 <= len(secret); i++ {
				if strings.Contains(out, secret[i:i+4]) {
					t.Fatalf("output shows %q of the secret:\n%s", secret[i:i+4], out)
				}
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, out)
			}
		})
	}
	// Errors on other keys keep the parser's message, which helps.
	code, out := run(t, nil, "users = abc\n", "run", "-f", script, "--headless")
	if code != ExitConfig || !strings.Contains(out, `found "abc"`) {
		t.Errorf("users = abc: exit %d, output %s", code, out)
	}
}

func TestTokenInClear(t *testing.T) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	tests := []struct {
		token string
		tls   *tls.Config
		host  string
		want  bool
	}{
		{"tok", nil, "master.example.com", true},
		{"tok", nil, "10.0.0.4", true},
		{"tok", tlsCfg, "master.example.com", false},
		{"tok", nil, "127.0.0.1", false},
		{"tok", nil, "localhost", false},
		{"tok", nil, "::1", false},
		{"", nil, "master.example.com", false},
	}
	for _, tt := range tests {
		if got := tokenInClear(tt.token, tt.tls, tt.host); got != tt.want {
			t.Errorf("tokenInClear(%q, tls=%v, %q) = %v, want %v", tt.token, tt.tls != nil, tt.host, got, tt.want)
		}
	}
}
