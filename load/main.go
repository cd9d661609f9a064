package load

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/stampede-load/stampede/internal/cli"
	"github.com/stampede-load/stampede/internal/script"
)

// Main is the whole main function of a load-test program: it runs the
// stampede command line (run, master, worker, check, report, the web UI,
// thresholds, every flag and STAMPEDE_* variable) with classes beside the
// classes of the -f script, if one is given, and exits with its exit
// code. A worker built from the same program joins a master built from it.
// Help and usage lines name the program as it was started.
func Main(classes ...UserClass) {
	program := "stampede"
	if len(classes) > 0 && len(os.Args) > 0 {
		program = filepath.Base(os.Args[0])
	}
	os.Exit(run(program, os.Args[1:], os.Stdout, os.Stderr, classes...))
}

// Run is Main without the exit: it runs the command line args (without
// the program name) and returns the exit code. A class that is not valid
// is a configuration error (exit 2), named on stderr.
func Run(args []string, stdout, stderr io.Writer, classes ...UserClass) int {
	return run("stampede", args, stdout, stderr, classes...)
}

func run(program string, args []string, stdout, stderr io.Writer, classes ...UserClass) int {
	built := make([]*script.UserClass, 0, len(classes))
	for _, c := range classes {
		uc, err := c.class()
		if err != nil {
			fmt.Fprintln(stderr, "error:", err)
			return cli.ExitConfig
		}
		built = append(built, uc)
	}
	return cli.MainAs(program, args, stdout, stderr, built...)
}
