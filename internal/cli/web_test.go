package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWebOptionsValidate(t *testing.T) {
	dir := t.TempDir()
	cert := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(cert, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		o    webOptions
		want string // "" = valid; else a part of the error
	}{
		{"defaults", webOptions{port: 8089, autoquit: -1}, ""},
		{"auth", webOptions{port: 8089, autoquit: -1, auth: "admin:pw:with:colons"}, ""},
		{"auth without password", webOptions{port: 8089, autoquit: -1, auth: "admin"}, "--web-auth"},
		{"auth and file", webOptions{port: 8089, autoquit: -1, auth: "a:b", authFile: "f"}, "--web-auth-file"},
		{"cert without key", webOptions{port: 8089, autoquit: -1, tls: tlsOptions{cert: cert}}, "--tls-cert and --tls-key"},
		{"missing cert file", webOptions{port: 8089, autoquit: -1, tls: tlsOptions{cert: cert + ".no", key: cert}}, "--tls-cert"},
		{"cert and key", webOptions{port: 8089, autoquit: -1, tls: tlsOptions{cert: cert, key: cert}}, ""},
		{"public bind without a password", webOptions{host: "0.0.0.0", port: 8089, autoquit: -1}, "--web-host 0.0.0.0 is not a loopback address and the web UI has no password"},
		{"LAN address without a password", webOptions{host: "192.168.1.20", port: 8089, autoquit: -1}, "--web-insecure-no-auth"},
		{"public bind, opted out", webOptions{host: "0.0.0.0", port: 8089, autoquit: -1, insecureNoAuth: true}, ""},
		{"public bind with a password", webOptions{host: "::", port: 8089, autoquit: -1, auth: "a:b"}, ""},
		{"public bind with a password file", webOptions{host: "0.0.0.0", port: 8089, autoquit: -1, authFile: cert}, ""},
		{"loopback without a password", webOptions{host: "127.0.0.1", port: 8089, autoquit: -1}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.o.validate()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want one naming %s", err, c.want)
			}
			if err != nil && c.o.auth != "" && strings.Contains(err.Error(), c.o.auth) {
				t.Fatalf("the error shows the secret: %v", err)
			}
		})
	}
}

// Without --web-host the UI listens everywhere only behind a password.
func TestWebBindDefault(t *testing.T) {
	for _, c := range []struct {
		o    webOptions
		want string
	}{
		{webOptions{}, "127.0.0.1"},
		{webOptions{auth: "a:b"}, "0.0.0.0"},
		{webOptions{authFile: "f"}, "0.0.0.0"},
		{webOptions{host: "::1", auth: "a:b"}, "::1"},
		{webOptions{host: "0.0.0.0", insecureNoAuth: true}, "0.0.0.0"},
	} {
		if got := c.o.bindHost(); got != c.want {
			t.Errorf("%+v: bind %s, want %s", c.o, got, c.want)
		}
	}
}

func TestWebCredentialsFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "auth")
	if err := os.WriteFile(f, []byte("ops:pa:ss\n# comment\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := (&webOptions{authFile: f}).credentials()
	if err != nil || c == nil || !c.Check("ops", "pa:ss") || c.Check("ops", "pa") {
		t.Fatalf("credentials from file: %v", err)
	}
	if _, err := (&webOptions{authFile: f + ".missing"}).credentials(); err == nil {
		t.Fatal("a missing auth file was accepted")
	}
	if c, err := (&webOptions{}).credentials(); c != nil || err != nil {
		t.Fatalf("no auth: %v %v", c, err)
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{"127.0.0.1": true, "::1": true, "localhost": true, "127.1.2.3": true,
		"0.0.0.0": false, "": false, "::": false, "10.0.0.1": false, "example.com": false} {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q) = %v", host, got)
		}
	}
}

// The web UI is not opened to the network without a password unless the
// user says so; the master's UI likewise.
func TestPublicWebUIRefusedWithoutPassword(t *testing.T) {
	script := "../../examples/minimal.star"
	for _, args := range [][]string{
		{"run", "-f", script, "--web-host", "0.0.0.0", "--web-port", "0"},
		{"master", "-f", script, "--web-host", "::", "--web-port", "0", "--master-bind-host", "127.0.0.1", "--master-bind-port", "0"},
	} {
		r := runMain(t, args...)
		if r.code != ExitConfig || !strings.Contains(r.stderr, "--web-insecure-no-auth to accept that risk") {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	t.Setenv("STAMPEDE_WEB_HOST", "0.0.0.0")
	if r := runMain(t, "run", "-f", script, "--web-port", "0"); r.code != ExitConfig || !strings.Contains(r.stderr, "--web-host 0.0.0.0 is not a loopback address") {
		t.Errorf("from the environment: exit %d, stderr %q", r.code, r.stderr)
	}
}
