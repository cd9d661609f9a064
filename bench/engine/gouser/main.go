// Command gouser is the throughput benchmark's user written in Go
// (package load): loop.star's task as a Go function, each user fetching
// "/" in a loop with no wait, recorded with full statistics. run.sh
// builds it as the stampede-go tool.
package main

import "github.com/stampede-load/stampede/load"

func main() {
	load.Main(load.Class[struct{}]{
		Name:  "looper",
		Tasks: []load.Task[struct{}]{{Name: "home", Fn: home}},
	})
}

func home(_ struct{}, u *load.User) error {
	u.Get("/")
	return nil
}
