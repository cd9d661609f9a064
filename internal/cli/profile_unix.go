//go:build unix

package cli

import (
	"os"
	"syscall"
)

// heapProfileSignals ask a running test for a heap profile.
func heapProfileSignals() []os.Signal { return []os.Signal{syscall.SIGUSR1} }
