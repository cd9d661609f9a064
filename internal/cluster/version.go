package cluster

import (
	"strconv"
	"strings"
)

// versionsCompatible is the master's version policy for joining workers:
// releases of the same major.minor speak the same protocol, so a worker
// started from a newer patch release (an image pulled after a fix was
// published) is accepted and the difference only logged; another minor or
// major is refused. Versions that are not releases (dev builds, commit
// hashes) must match exactly, since nothing is known about them.
func versionsCompatible(master, worker string) (ok, same bool) {
	if master == worker {
		return true, true
	}
	mm, mok := majorMinor(master)
	wm, wok := majorMinor(worker)
	return mok && wok && mm == wm, false
}

// majorMinor returns "MAJOR.MINOR" of a release version such as v1.2.3,
// 1.2.3 or v1.2.3-rc.1, and false for anything else.
func majorMinor(v string) (string, bool) {
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return "", false
	}
	for _, p := range parts {
		if _, err := strconv.ParseUint(p, 10, 32); err != nil {
			return "", false
		}
	}
	return parts[0] + "." + parts[1], true
}
