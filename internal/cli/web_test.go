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
