// Package browsertest finds the Chromium the browser tests drive.
package browsertest

import (
	"os"
	"os/exec"
	"testing"
)

// Chromium returns the browser's path: $STAMPEDE_CHROMIUM, or chromium,
// chromium-browser or google-chrome on PATH. Without one the test is
// skipped, except in CI (CI=true), where it fails: .ci/web.sh installs it.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{os.Getenv("STAMPEDE_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed: run .ci/web.sh (apt-get install -y chromium)")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium); skipping the browser test")
	return ""
}
