package stats

import (
	"log/slog"
	"sync"
	"sync/atomic"
)

// DefaultMaxNames bounds the distinct (method, name) entries of a run
// (--max-names). Requests default to their full URL as name, query string
// included (as in Locust), so a script with an id in its URLs would
// otherwise grow one entry per id: each costs its histograms, per region,
// in every process and output.
const DefaultMaxNames = 1000

// OtherName is the name of the entry that counts, per method, the
// requests whose own name came after the cap was reached.
const OtherName = "(other names over --max-names)"

// nameCap admits the first max distinct keys of a run; later keys are
// folded into their method's OtherName entry. A Recorder's shards share
// one, and consult it only when a key is new to a shard's current
// interval, so the per-request path is unchanged below the cap; over it,
// a folded key costs a lock-free miss (names are read from a sync.Map and
// the count is atomic), not a shared lock.
type nameCap struct {
	max  int // <= 0: no cap
	log  *slog.Logger
	what string // "recorded" or "aggregated", for the warning

	seen   sync.Map // Key -> struct{}
	mu     sync.Mutex
	n      atomic.Int64
	warned atomic.Bool
}

func newNameCap(max int, log *slog.Logger, what string) *nameCap {
	return &nameCap{max: max, log: log, what: what}
}

// admit returns k, or its overflow key once the cap is reached.
func (c *nameCap) admit(k Key) Key {
	if c == nil || c.max <= 0 || k.Name == OtherName {
		return k
	}
	if _, ok := c.seen.Load(k); ok {
		return k
	}
	if c.n.Load() < int64(c.max) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, ok := c.seen.Load(k); ok {
			return k
		}
		if c.n.Load() < int64(c.max) {
			c.seen.Store(k, struct{}{})
			c.n.Add(1)
			return k
		}
	}
	if c.warned.CompareAndSwap(false, true) {
		c.logger().Warn("too many distinct request names: requests with a new name are counted under \""+OtherName+"\"; "+
			"give requests with ids in their URL one name, e.g. u.http.get(\"/item?id=\" + id, name=\"/item?id=[id]\"), or raise --max-names",
			"max_names", c.max, "where", c.what, "first_folded", k.Method+" "+truncate(k.Name, 200))
	}
	return Key{Method: k.Method, Name: OtherName}
}

func (c *nameCap) logger() *slog.Logger {
	if c.log == nil {
		return slog.Default()
	}
	return c.log
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
