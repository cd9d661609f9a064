// Package stampedebin gives a benchmark the stampede binary it runs and
// follows that process's log.
package stampedebin

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Build returns bin when set (a binary the user chose), else builds
// ./cmd/stampede into dir; run from the repository root.
func Build(bin, dir string) (string, error) {
	if bin != "" {
		return bin, nil
	}
	bin = filepath.Join(dir, "stampede")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/stampede")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building stampede (run from the repository root): %w", err)
	}
	return bin, nil
}

// WaitLog waits until the log file at path holds what. It gives up when
// ctx ends, or when exited (nil: never) is closed: the process is gone,
// and the error quotes the end of its log.
func WaitLog(ctx context.Context, exited <-chan struct{}, path, what string) error {
	for {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), what) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return fmt.Errorf("the process exited; its log ends:\n%s", LogTail(path))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// LogTail returns the last ten lines of the file at path.
func LogTail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-10):], "\n")
}
