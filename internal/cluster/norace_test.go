//go:build !race

package cluster

// RaceEnabled is set in a -race build (race_test.go).
const RaceEnabled = false
