package demo

import (
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync/atomic"
	"time"
)

// rng is a lock-free, concurrency-safe pseudo-random source: a SplitMix64
// generator whose state is advanced with one atomic add per draw. With a
// fixed seed the sequence of draws is fixed (which request gets which draw
// still depends on scheduling when requests run concurrently).
type rng struct {
	state atomic.Uint64
}

func newRNG(seed int64) *rng {
	r := &rng{}
	s := uint64(seed)
	if seed == 0 {
		var b [8]byte
		if _, err := crand.Read(b[:]); err == nil {
			s = binary.LittleEndian.Uint64(b[:])
		} else {
			s = uint64(time.Now().UnixNano())
		}
	}
	r.state.Store(s)
	return r
}

func (r *rng) uint64() uint64 {
	z := r.state.Add(0x9e3779b97f4a7c15)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// float64 returns a number in [0, 1).
func (r *rng) float64() float64 {
	return float64(r.uint64()>>11) / (1 << 53)
}

// chance reports true with probability p.
func (r *rng) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	if p >= 1 {
		return true
	}
	return r.float64() < p
}

// token returns 32 hex characters. Tokens are predictable when the seed is
// known: the demo target is not a security boundary.
func (r *rng) token() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], r.uint64())
	binary.LittleEndian.PutUint64(b[8:], r.uint64())
	return hex.EncodeToString(b[:])
}

// latency returns a simulated service time around base: uniform in
// [0.5, 1.5)·base, and for 1% of requests a slow tail of 3–10× base,
// multiplied by scale. It draws nothing when scale or base is zero.
func (r *rng) latency(base time.Duration, scale float64) time.Duration {
	if scale <= 0 || base <= 0 {
		return 0
	}
	f := 0.5 + r.float64()
	if r.float64() < 0.01 {
		f *= 3 + 7*r.float64()
	}
	return time.Duration(float64(base) * f * scale)
}
