package stats

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"unicode/utf8"
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

// MaxErrors bounds the distinct failure rows (method, name, error) and
// the distinct exception rows (message, traceback) of a run: a script
// that puts an id in r.failure(...) or fail(...) would otherwise grow one
// row per id. Later ones are counted under OtherError / OtherException.
const MaxErrors = 1000

// The rows that count what came after MaxErrors (TestOverflowRowsNameTheLimit
// keeps the number in them equal to MaxErrors).
const (
	OtherError     = "(other errors over the limit of 1000 distinct failures)"
	OtherException = "(other exceptions over the limit of 1000 distinct exceptions)"
)

// keyCap admits the first max distinct keys of a run (max <= 0: all).
// Callers consult it only for a key new to their current interval, so
// the per-request path is unchanged below the cap; over it, a refused
// key costs a lock-free miss (keys are read from a sync.Map and the
// count is atomic), not a shared lock. warn is called once, for the
// first key refused.
type keyCap[K comparable] struct {
	max  int
	warn func(first K)

	seen   sync.Map // K -> struct{}
	mu     sync.Mutex
	n      atomic.Int64
	warned atomic.Bool
}

func (c *keyCap[K]) admit(k K) bool {
	if c.max <= 0 {
		return true
	}
	if _, ok := c.seen.Load(k); ok {
		return true
	}
	if c.n.Load() < int64(c.max) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, ok := c.seen.Load(k); ok {
			return true
		}
		if c.n.Load() < int64(c.max) {
			c.seen.Store(k, struct{}{})
			c.n.Add(1)
			return true
		}
	}
	if c.warned.CompareAndSwap(false, true) {
		c.warn(k)
	}
	return false
}

// keyCaps are the caps of one run, in one process (a Recorder) or in the
// aggregate of all (what is where, for the warnings).
type keyCaps struct {
	names      keyCap[Key]
	errors     keyCap[ErrorKey]
	exceptions keyCap[ExceptionKey]
	log        *slog.Logger
	maxNames   int
	where      string
}

func newKeyCaps(maxNames int, log *slog.Logger, where string) *keyCaps {
	if log == nil {
		log = slog.Default()
	}
	c := &keyCaps{log: log, maxNames: maxNames, where: where}
	c.names = keyCap[Key]{max: maxNames, warn: func(k Key) {
		log.Warn("too many distinct request names: requests with a new name are counted under \""+OtherName+"\"; "+
			"give requests with ids in their URL one name, e.g. u.http.get(\"/item?id=\" + id, name=\"/item?id=[id]\"), or raise --max-names",
			"max_names", maxNames, "where", where, "first_folded", k.Method+" "+Cut(k.Name, 200))
	}}
	c.errors = keyCap[ErrorKey]{max: MaxErrors, warn: func(k ErrorKey) {
		log.Warn("too many distinct failures: new ones are counted under \""+OtherError+"\"; keep ids out of failure messages",
			"where", where, "first_folded", Cut(k.Error, 200))
	}}
	c.exceptions = keyCap[ExceptionKey]{max: MaxErrors, warn: func(k ExceptionKey) {
		log.Warn("too many distinct exceptions: new ones are counted under \""+OtherException+"\"; keep ids out of error messages",
			"where", where, "first_folded", Cut(k.Message, 200))
	}}
	return c
}

// name returns k, or its method's overflow key once the name cap is reached.
func (c *keyCaps) name(k Key) Key {
	if k.Name == OtherName || c.names.admit(k) {
		return k
	}
	return Key{Method: k.Method, Name: OtherName}
}

func (c *keyCaps) error(k ErrorKey) ErrorKey {
	if k.Error == OtherError || c.errors.admit(k) {
		return k
	}
	return ErrorKey{Method: k.Method, Name: k.Name, Error: OtherError}
}

func (c *keyCaps) exception(k ExceptionKey) ExceptionKey {
	if k.Message == OtherException || c.exceptions.admit(k) {
		return k
	}
	return ExceptionKey{Message: OtherException}
}

// Cut returns s limited to n bytes, on a rune boundary, marked with "…"
// when it was longer: for names and messages from scripts and peers
// that go into logs, error messages and bounded rows.
func Cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
