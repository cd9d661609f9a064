package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stampede-load/stampede/internal/bundle"
	"github.com/stampede-load/stampede/internal/script"
)

func (app *App) bundleCmd() *cobra.Command {
	var out string
	var vars []string
	cmd := &cobra.Command{
		Use:   "bundle DIR|SCRIPT -o TEST.tar.gz",
		Short: "Package a test (script, its load()ed files and data files) into one .tar.gz",
		Long: `Load the test the way run does and write every file it uses (the main
script, the files it load()s, the data files it reads) into one .tar.gz,
which -f accepts in place of a .star file and which deploys as one
artifact (docs/deploy-azure.md, docs/deploy-kubernetes.md). DIR is a
folder holding test.star (or a single .star file); SCRIPT names the main
file. Only files inside the script's folder are taken; at most 1000 files
and 32 MiB together.`,
		Example: `  stampede bundle examples/data-driven.star -o test.tar.gz   # the script, users.csv, search-terms.txt
  stampede bundle loadtest/ -o test.tar.gz                   # a folder holding test.star
  stampede run -f test.tar.gz --headless -t 1m`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return configErr("-o/--output: give the .tar.gz to write")
			}
			parsed, err := parseVars(vars)
			if err != nil {
				return configErr("%v", err)
			}
			file, err := mainScript(args[0])
			if err != nil {
				return err
			}
			s, err := script.LoadFile(file, script.Options{Vars: parsed})
			if err != nil {
				return configErr("%v", err)
			}
			var buf bytes.Buffer
			if err := bundle.Write(&buf, filepath.Base(file), s.Files); err != nil {
				return configErr("%v", err)
			}
			if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
				return configErr("-o/--output: %v", err)
			}
			fmt.Fprintf(app.Stdout, "%s: %d files, %d bytes (sha256 %s…)\n", out, len(s.Files), buf.Len(), s.Hash[:12])
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "the .tar.gz to write")
	cmd.Flags().StringArrayVar(&vars, "var", nil, "KEY=VALUE visible to the script while it loads (repeatable)")
	return cmd
}

// mainScript turns -f's argument into the main .star file: a file as
// given, or a folder's test.star (or its only .star file).
func mainScript(arg string) (string, error) {
	fi, err := os.Stat(arg)
	if err != nil || !fi.IsDir() {
		return arg, nil
	}
	if _, err := os.Stat(filepath.Join(arg, "test.star")); err == nil {
		return filepath.Join(arg, "test.star"), nil
	}
	stars, _ := filepath.Glob(filepath.Join(arg, "*.star"))
	if len(stars) == 1 {
		return stars[0], nil
	}
	return "", configErr("-f %s: a folder needs a test.star (or exactly one .star file); it has %d .star files, name the main one: -f %s", arg, len(stars), filepath.Join(arg, "NAME.star"))
}

// isBundle tells a -f argument that names a bundle archive.
func isBundle(file string) bool {
	f := strings.ToLower(file)
	return strings.HasSuffix(f, ".tar.gz") || strings.HasSuffix(f, ".tgz")
}

// loadBundle loads the test packed in a .tar.gz by stampede bundle.
func loadBundle(file string, o script.Options) (*script.Script, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, &script.LoadError{Msg: fmt.Sprintf("cannot load %s: %v", file, errors.Unwrap(err))}
	}
	defer f.Close()
	main, files, err := bundle.Read(f)
	if err != nil {
		return nil, &script.LoadError{Msg: file + ": " + err.Error()}
	}
	s, err := script.LoadFiles(main, files, o)
	if err != nil {
		return nil, err
	}
	// beside the archive, under its own name: the master ships the files
	// with the main file's base name as its key
	s.Main = filepath.Join(filepath.Dir(file), main)
	return s, nil
}
