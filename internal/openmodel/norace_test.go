//go:build !race

package openmodel

const raceEnabled = false
