package cli

import (
	"context"
	"time"

	"github.com/stampede-load/stampede/internal/gcfloor"
)

// gcFloor keeps the Go heap target at gcfloor.Floor or more while a
// command generates load (run, worker); the returned stop ends it.
func gcFloor() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		gcfloor.Run(ctx, time.Second)
	}()
	return func() { cancel(); <-done }
}
