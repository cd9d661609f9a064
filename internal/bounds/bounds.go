// Package bounds holds the limits of what a test may ask for and the
// checks every number from outside goes through (flags, environment,
// config file, web API forms, load shapes), so that NaN, infinities,
// negative and absurd values get one clear message wherever they come
// from. A value that passes can be used in arithmetic without overflow.
package bounds

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Limits of a test's parameters. They are far above what one machine or
// a large cluster runs; they exist so that a typo (1e12 users) or a
// hostile form cannot make the engine allocate for, or loop over, a
// number no deployment has.
const (
	// MaxUsers bounds the users of a test (and of one stage or class).
	MaxUsers = 10_000_000
	// MaxSpawnRate bounds users started or stopped per second.
	MaxSpawnRate = float64(MaxUsers)
	// MaxArrivalRate bounds the open model's iterations per second.
	MaxArrivalRate = 10_000_000.0
	// MaxIterations bounds a test's task executions (-i/--iterations).
	MaxIterations = 1_000_000_000_000
	// MaxRunTime bounds run times, stages and timeouts: one year.
	MaxRunTime = 365 * 24 * time.Hour
)

// Float checks that v is a finite number in [lo, hi].
func Float(v, lo, hi float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < lo || v > hi {
		return fmt.Errorf("must be a number from %s to %s, got %s", num(lo), num(hi), num(v))
	}
	return nil
}

// Positive checks that v is a finite number above 0 and at most hi.
func Positive(v, hi float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 || v > hi {
		return fmt.Errorf("must be a number above 0 and at most %s, got %s", num(hi), num(v))
	}
	return nil
}

// Int checks that v is in [lo, hi].
func Int(v, lo, hi int64) error {
	if v < lo || v > hi {
		return fmt.Errorf("must be a whole number from %d to %d, got %d", lo, hi, v)
	}
	return nil
}

// Duration checks that d is in [lo, hi].
func Duration(d, lo, hi time.Duration) error {
	if d < lo || d > hi {
		return fmt.Errorf("must be a duration from %s to %s, got %s", lo, hi, d)
	}
	return nil
}

// Seconds converts a number of seconds to a duration, refusing what is not
// finite, negative, or beyond MaxRunTime (a float beyond int64 nanoseconds
// would otherwise wrap to a negative duration).
func Seconds(s float64) (time.Duration, error) {
	if math.IsNaN(s) || math.IsInf(s, 0) || s < 0 || s > MaxRunTime.Seconds() {
		return 0, fmt.Errorf("must be a number of seconds from 0 to %s, got %s", num(MaxRunTime.Seconds()), num(s))
	}
	return time.Duration(s * float64(time.Second)), nil
}

// num prints a number without an exponent where that stays short.
func num(v float64) string {
	if math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
