package script

import (
	"container/list"
	"sync"
)

// compileCache keeps the most recently used compiled patterns (regexps,
// CSS selectors) of one script, so a task that calls re.search(p, s) in a
// loop compiles p once. It is bounded: a script that builds patterns from
// data evicts old ones instead of growing. Safe for concurrent use by every
// user of the script.
type compileCache[V any] struct {
	mu    sync.Mutex
	max   int
	order *list.List // front = most recently used; values are *cacheEntry[V]
	index map[string]*list.Element
}

type cacheEntry[V any] struct {
	key string
	val V
}

// compileCacheSize bounds each cache; scripts rarely use more than a few
// dozen distinct patterns.
const compileCacheSize = 256

func newCompileCache[V any](max int) *compileCache[V] {
	return &compileCache[V]{max: max, order: list.New(), index: make(map[string]*list.Element)}
}

// get returns the cached value for key, or compiles, caches and returns
// it. Errors are not cached.
func (c *compileCache[V]) get(key string, compile func() (V, error)) (V, error) {
	c.mu.Lock()
	if e, ok := c.index[key]; ok {
		c.order.MoveToFront(e)
		v := e.Value.(*cacheEntry[V]).val
		c.mu.Unlock()
		return v, nil
	}
	c.mu.Unlock()
	v, err := compile() // outside the lock: compiling may be slow
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.index[key]; ok { // another user compiled it meanwhile
		c.order.MoveToFront(e)
		return e.Value.(*cacheEntry[V]).val, nil
	}
	c.index[key] = c.order.PushFront(&cacheEntry[V]{key, v})
	if c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.index, last.Value.(*cacheEntry[V]).key)
	}
	return v, nil
}

func (c *compileCache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
