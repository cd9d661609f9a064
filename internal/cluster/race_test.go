//go:build race

package cluster

// RaceEnabled is set in a -race build. The subprocess tests then skip:
// their binary is built without the detector, and the in-process tests
// exercise the same master and worker code where it can see them.
const RaceEnabled = true
