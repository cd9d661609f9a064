//go:build linux

package openmodel

import (
	"syscall"
	"time"
)

// preciseSleep sleeps d in the kernel (nanosleep). The Go runtime's
// timers are served by its network poller, whose waits are rounded to
// whole milliseconds on Linux, so a short time.Sleep overshoots by up to
// a millisecond; nanosleep on the pacer's thread overshoots by tens of
// microseconds. The runtime hands the thread's processor to other
// goroutines meanwhile. Only short sleeps go this way.
func preciseSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(d.Nanoseconds())
	for {
		var rem syscall.Timespec
		err := syscall.Nanosleep(&ts, &rem)
		if err != syscall.EINTR {
			return
		}
		ts = rem
	}
}
