package script

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadSymlinks: load() may follow symlinks that stay inside the
// script's directory (Kubernetes ConfigMap mounts are made of them) but
// not ones that lead out of it, which would let a script ship any file
// the master can read to every worker.
func TestLoadSymlinks(t *testing.T) {
	const useLib = "load('lib.star', 'secret')\ndef t(u):\n    pass\nv = user(tasks=[t], host='http://h.test')\n"
	tests := []struct {
		name    string
		files   map[string]string
		links   map[string]string // link name -> target, relative to the script directory
		main    string
		wantErr string
	}{
		{
			name:    "file symlink out of the directory",
			files:   map[string]string{"scripts/main.star": useLib, "outside/secret.star": "secret = 'from outside'\n"},
			links:   map[string]string{"scripts/lib.star": "../outside/secret.star"},
			wantErr: "cannot load lib.star: the file is outside the script's directory (through a symlink)",
		},
		{
			name:    "absolute symlink out of the directory",
			files:   map[string]string{"scripts/main.star": useLib, "outside/secret.star": "secret = 'from outside'\n"},
			links:   map[string]string{"scripts/lib.star": "ABS:outside/secret.star"},
			wantErr: "outside the script's directory",
		},
		{
			name: "directory symlink out of the directory",
			files: map[string]string{"scripts/main.star": strings.Replace(useLib, "lib.star", "shared/lib.star", 1),
				"outside/lib.star": "secret = 'from outside'\n"},
			links:   map[string]string{"scripts/shared": "../outside"},
			wantErr: "outside the script's directory",
		},
		{
			name:  "symlink inside the directory",
			files: map[string]string{"scripts/main.star": useLib, "scripts/real/lib.star": "secret = 'inside'\n"},
			links: map[string]string{"scripts/lib.star": "real/lib.star"},
		},
		{
			name: "ConfigMap-style mount",
			files: map[string]string{"scripts/..2026_11_27/main.star": useLib,
				"scripts/..2026_11_27/lib.star": "secret = 'inside'\n"},
			links: map[string]string{"scripts/..data": "..2026_11_27", "scripts/main.star": "..data/main.star",
				"scripts/lib.star": "..data/lib.star"},
		},
		{
			// The main file is the one the user named: it may live anywhere.
			name:  "main file is a symlink out of the directory",
			files: map[string]string{"elsewhere/main.star": useLib, "scripts/lib.star": "secret = 'inside'\n"},
			links: map[string]string{"scripts/main.star": "../elsewhere/main.star"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			for link, target := range tt.links {
				if abs, ok := strings.CutPrefix(target, "ABS:"); ok {
					target = filepath.Join(dir, abs)
				}
				if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
					t.Skipf("symlinks not available: %v", err)
				}
			}
			s, err := LoadFile(filepath.Join(dir, "scripts", "main.star"), Options{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadFile: err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadFile: %v", err)
			}
			if string(s.Files["lib.star"]) != "secret = 'inside'\n" {
				t.Errorf("lib.star = %q", s.Files["lib.star"])
			}
		})
	}
}
