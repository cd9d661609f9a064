//go:build race

package openmodel

// raceEnabled: the race detector slows everything about tenfold, which
// the timing tests (stall, rate accuracy) are not meant to absorb.
const raceEnabled = true
