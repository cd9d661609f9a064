// Command shop-load is a load test written in Go: the stampede command
// line (run, master, worker, check, report, the web UI) with the Shopper
// user below. See README.md.
package main

import (
	"time"

	"github.com/stampede-load/stampede/load"
)

func main() {
	load.Main(load.Class[*Shopper]{
		Name: "Shopper", Wait: load.Between(500*time.Millisecond, 2*time.Second),
		New: func() *Shopper { return &Shopper{} }, OnStart: (*Shopper).Login, OnStop: (*Shopper).Logout,
		Tasks: []load.Task[*Shopper]{
			{Name: "browse", Weight: 3, Fn: (*Shopper).Browse},
			{Name: "buy", Weight: 1, Fn: (*Shopper).Buy, Tags: []string{"checkout"}},
		},
	})
}
