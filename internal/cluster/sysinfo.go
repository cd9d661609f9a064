package cluster

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// procUsage measures this process's CPU use between calls and its
// resident memory, from /proc where there is one.
type procUsage struct {
	lastCPU  time.Duration
	lastWall time.Time
}

// clockTick is USER_HZ, 100 on every Linux architecture Go supports.
const clockTick = 100

func (p *procUsage) sample(now time.Time) (cpuPercent float64, memBytes int64) {
	cpu, ok := procCPU()
	if ok {
		if !p.lastWall.IsZero() {
			wall := now.Sub(p.lastWall)
			if wall > 0 {
				cpuPercent = 100 * float64(cpu-p.lastCPU) / float64(wall)
			}
		}
		p.lastCPU, p.lastWall = cpu, now
	}
	if rss, ok := procRSS(); ok {
		memBytes = rss
	} else {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		memBytes = int64(ms.Sys)
	}
	return cpuPercent, memBytes
}

func procCPU() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	// Fields after the command name (which may hold spaces) in parens.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * time.Second / clockTick, true
}

func procRSS() (int64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}
