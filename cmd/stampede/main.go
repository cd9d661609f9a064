// Command stampede is a scriptable, distributed load tester. See
// `stampede --help` and the docs/ folder.
package main

import (
	"os"

	"github.com/stampede-load/stampede/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
