//go:build !unix

package cli

import "os"

// heapProfileSignals is empty where there is no SIGUSR1 (Windows).
func heapProfileSignals() []os.Signal { return nil }
