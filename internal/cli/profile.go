package cli

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"

	"github.com/spf13/pflag"
)

// profileOptions are hidden flags for profiling Stampede itself (used by
// bench/engine): a CPU profile of the whole run, and heap profiles.
type profileOptions struct {
	cpu string
	mem string
}

func (p *profileOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&p.cpu, "cpuprofile", "", "write a Go CPU profile of the run to this file")
	fs.StringVar(&p.mem, "memprofile", "", "write a Go heap profile to this file at the end of the run, and on SIGUSR1")
	_ = fs.MarkHidden("cpuprofile")
	_ = fs.MarkHidden("memprofile")
}

// start starts the requested profiles; the returned stop ends them and
// writes the final heap profile.
func (p *profileOptions) start() (stop func() error, err error) {
	var cpuFile *os.File
	if p.cpu != "" {
		if cpuFile, err = os.Create(p.cpu); err != nil {
			return nil, configErr("--cpuprofile: %v", err)
		}
		if err := pprof.StartCPUProfile(cpuFile); err != nil {
			cpuFile.Close()
			return nil, configErr("--cpuprofile: %v", err)
		}
	}
	done := make(chan struct{})
	if p.mem != "" {
		// A heap profile on SIGUSR1 shows what live users hold, which the
		// end-of-run profile (users gone) cannot.
		usr1 := make(chan os.Signal, 1)
		signal.Notify(usr1, heapProfileSignals()...)
		go func() {
			defer signal.Stop(usr1)
			for {
				select {
				case <-done:
					return
				case <-usr1:
					if err := writeHeapProfile(p.mem); err != nil {
						fmt.Fprintln(os.Stderr, "--memprofile:", err)
					}
					fmt.Fprintln(os.Stderr, memSummary())
				}
			}
		}()
	}
	return func() error {
		close(done)
		var firstErr error
		if cpuFile != nil {
			pprof.StopCPUProfile()
			if err := cpuFile.Close(); err != nil {
				firstErr = fmt.Errorf("--cpuprofile: %w", err)
			}
		}
		if p.mem != "" {
			if err := writeHeapProfile(p.mem); err != nil && firstErr == nil {
				firstErr = fmt.Errorf("--memprofile: %w", err)
			}
		}
		return firstErr
	}, nil
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC() // up-to-date statistics of live objects
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// around runs fn between start and stop.
func (p *profileOptions) around(fn func() error) error {
	stop, err := p.start()
	if err != nil {
		return err
	}
	runErr := fn()
	if err := stop(); err != nil && runErr == nil {
		return &ExitError{Code: ExitFailed, Err: err}
	}
	return runErr
}

// memSummary is where the process's memory is, as the Go runtime sees it
// (after the GC that writeHeapProfile ran).
func memSummary() string {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	mb := func(b uint64) float64 { return float64(b) / (1 << 20) }
	return fmt.Sprintf("memprofile: goroutines=%d heap_inuse=%.1fMB heap_idle=%.1fMB heap_released=%.1fMB stack_inuse=%.1fMB sys=%.1fMB gc=%d",
		runtime.NumGoroutine(), mb(m.HeapInuse), mb(m.HeapIdle), mb(m.HeapReleased), mb(m.StackInuse), mb(m.Sys), m.NumGC)
}
