package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// pathCounter is a loopback target that counts the paths it received.
func pathCounter(t *testing.T) (string, func() map[string]int) {
	t.Helper()
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path]++
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := make(map[string]int, len(seen))
		for k, v := range seen {
			out[k] = v
		}
		return out
	}
}

const tagsScript = `
def add_to_cart(u):
    u.http.get("/cart")
def view_cart(u):
    u.http.get("/cart/view")
def browse(u):
    u.http.get("/browse")
def manage(u):
    u.http.get("/admin")
def leave(u):
    u.interrupt()

cart = taskset(tasks=[task(add_to_cart, tags=["slow"]), view_cart, leave], name="cart")
shopper = user(tasks=[task(browse, tags=["read"]), task(cart, tags=["shop"])], wait_time=constant(0.01))
admin = user(tasks=[task(manage, tags=["admin"])], wait_time=constant(0.01))
`

func TestTagSelection(t *testing.T) {
	script := writeStar(t, tagsScript)
	tests := []struct {
		name string
		args []string
		env  string // STAMPEDE_TAGS
		toml string // stampede.toml in the working directory
		want []string
		not  []string
	}{
		{name: "-T one tag", args: []string{"-T", "read"}, want: []string{"/browse"}, not: []string{"/cart", "/cart/view", "/admin"}},
		{name: "a set's tag, comma-separated with another", args: []string{"--tags", "shop,admin"}, want: []string{"/cart", "/cart/view", "/admin"}, not: []string{"/browse"}},
		{name: "-E repeated", args: []string{"-E", "slow", "-E", "admin"}, want: []string{"/browse", "/cart/view"}, not: []string{"/cart", "/admin"}},
		{name: "environment", env: "shop;admin", args: []string{"-E", "slow"}, want: []string{"/cart/view", "/admin"}, not: []string{"/browse", "/cart"}},
		{name: "config file", toml: "exclude-tags = [\"shop\", \"read\"]\n", want: []string{"/admin"}, not: []string{"/browse", "/cart", "/cart/view"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			host, seen := pathCounter(t)
			if tc.env != "" {
				t.Setenv("STAMPEDE_TAGS", tc.env)
			}
			if tc.toml != "" {
				dir := t.TempDir()
				if err := os.WriteFile(filepath.Join(dir, "stampede.toml"), []byte(tc.toml), 0o644); err != nil {
					t.Fatal(err)
				}
				t.Chdir(dir)
			}
			args := append([]string{"run", "-f", script, "--headless", "-u", "4", "-r", "100", "-t", "1s", "--host", host}, tc.args...)
			r := runMain(t, args...)
			if r.code != ExitOK {
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
			got := seen()
			for _, p := range tc.want {
				if got[p] == 0 {
					t.Errorf("server never received %s; it received %v", p, got)
				}
			}
			for _, p := range tc.not {
				if got[p] != 0 {
					t.Errorf("server received %s %d times; the selection excludes it", p, got[p])
				}
			}
		})
	}
}

func TestTagSelectionErrors(t *testing.T) {
	script := writeStar(t, tagsScript)
	r := runMain(t, "run", "-f", script, "--headless", "-t", "1s", "--host", "http://127.0.0.1:9", "-T", "nope")
	if r.code != ExitConfig || !strings.Contains(r.stderr, "no task of any user class is left by --tags nope") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	r = runMain(t, "check", "-f", script, "-T", "shop", "-E", "slow")
	if r.code != ExitOK {
		t.Fatalf("check: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		"cart (taskset)", "view_cart", "shop",
		"Tag selection --tags shop --exclude-tags slow: 2 of 5 tasks run",
		"classes left with no task get no users: admin",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("check output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "browse") || strings.Contains(r.stdout, "add_to_cart") {
		t.Errorf("check output lists tasks the selection excludes:\n%s", r.stdout)
	}
}
