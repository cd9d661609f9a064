// Command stampede is a scriptable, distributed load tester. See
// `stampede --help` and the docs/ folder.
//
// It is the program package load makes, with no Go user classes: a
// program with its own (docs/go-users.md) has the same commands.
package main

import "github.com/stampede-load/stampede/load"

func main() { load.Main() }
