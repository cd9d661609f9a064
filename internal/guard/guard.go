// Package guard slows down password and token guessing. Per client, a few
// failed attempts are free; after them every failure earns a wait that
// doubles up to a maximum, and during the wait attempts are refused
// without being checked (so the wait cannot be used to go on guessing).
// Failures are logged once per client per interval with their count,
// never one line each, and the table of clients is bounded.
package guard

import (
	"log/slog"
	"net"
	"net/netip"
	"sort"
	"sync"
	"time"
)

// Config configures a Limiter; zero fields take the defaults.
type Config struct {
	// What names the attempts in the log, e.g. "web UI: failed logins".
	What string
	// Free failures before the first wait (default 5).
	Free int
	// Base is the first wait (default 1 s); each further failure doubles
	// it, up to Max (default 1 min).
	Base, Max time.Duration
	// LogEvery is the interval of the aggregated log lines (default 10 s).
	LogEvery time.Duration
	// MaxClients bounds the table (default 10,000 clients).
	MaxClients int
	Log        *slog.Logger
}

// Defaults of Config, documented in docs/security.md.
const (
	DefaultFree       = 5
	DefaultBase       = time.Second
	DefaultMax        = time.Minute
	DefaultLogEvery   = 10 * time.Second
	DefaultMaxClients = 10_000
	// maxLoggedClients bounds the lines of one interval; the rest are
	// summed in one line.
	maxLoggedClients = 20
)

// Limiter tracks failed attempts per client. It is safe for concurrent
// use.
type Limiter struct {
	cfg Config
	now func() time.Time

	mu      sync.Mutex
	clients map[string]*client
	timer   *time.Timer // pending log flush
	evicted int         // failures of clients dropped from a full table, not yet logged
	closed  bool
}

type client struct {
	fails   int       // consecutive failures
	until   time.Time // attempts are refused until then
	last    time.Time // last failure
	failed  int       // failures since the last log line
	refused int       // attempts refused since the last log line
}

// New returns a limiter.
func New(cfg Config) *Limiter {
	if cfg.Free <= 0 {
		cfg.Free = DefaultFree
	}
	if cfg.Base <= 0 {
		cfg.Base = DefaultBase
	}
	if cfg.Max <= 0 {
		cfg.Max = DefaultMax
	}
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = DefaultLogEvery
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = DefaultMaxClients
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Limiter{cfg: cfg, now: time.Now, clients: map[string]*client{}}
}

// ClientKey is the client of a remote address ("ip:port" or an IP): the
// IP, or for IPv6 its /64, which one host usually holds whole.
func ClientKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// Wait returns how long the client must wait before its next attempt is
// checked; 0 lets it through. A refused attempt is counted for the log.
func (l *Limiter) Wait(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.clients[key]
	if c == nil {
		return 0
	}
	d := c.until.Sub(l.now())
	if d <= 0 {
		return 0
	}
	c.refused++
	l.scheduleLocked()
	return d
}

// Fail records a failed attempt of the client.
func (l *Limiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	c := l.clients[key]
	if c == nil {
		if len(l.clients) >= l.cfg.MaxClients {
			l.makeRoomLocked(now)
		}
		c = &client{}
		l.clients[key] = c
	}
	c.fails++
	c.failed++
	c.last = now
	if over := c.fails - l.cfg.Free; over > 0 {
		wait := l.cfg.Max
		if over <= 30 { // beyond, the shift overflows; Max has long been reached
			wait = min(l.cfg.Base<<(over-1), l.cfg.Max)
		}
		c.until = now.Add(wait)
	}
	l.scheduleLocked()
}

// Succeed forgets the client's failures (its pending count is still
// logged).
func (l *Limiter) Succeed(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.clients[key]; c != nil {
		c.fails, c.until = 0, time.Time{}
	}
}

// Close logs what is pending and stops the log timer.
func (l *Limiter) Close() {
	l.mu.Lock()
	l.closed = true
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	l.mu.Unlock()
	l.flush()
}

// scheduleLocked arms the log flush, once per interval.
func (l *Limiter) scheduleLocked() {
	if l.timer == nil && !l.closed {
		l.timer = time.AfterFunc(l.cfg.LogEvery, l.flush)
	}
}

// stale reports whether a client's record no longer matters: no wait
// running, no failure for a while, nothing left to log.
func (l *Limiter) stale(c *client, now time.Time) bool {
	return c.failed == 0 && c.refused == 0 && now.After(c.until) && now.Sub(c.last) > 10*l.cfg.Max
}

// makeRoomLocked drops stale clients; if none is, it drops one client
// (its unlogged failures are still counted in the next log line). An
// attacker with more addresses than the table holds is beyond what a
// per-client limit can stop anyway.
func (l *Limiter) makeRoomLocked(now time.Time) {
	for k, c := range l.clients {
		if l.stale(c, now) {
			delete(l.clients, k)
		}
	}
	if len(l.clients) < l.cfg.MaxClients {
		return
	}
	for k, c := range l.clients {
		l.evicted += c.failed
		delete(l.clients, k)
		return
	}
}

type logLine struct {
	key             string
	failed, refused int
	wait            time.Duration
}

// flush writes one line per client with failures or refusals since the
// last flush, the busiest first, and forgets stale clients.
func (l *Limiter) flush() {
	l.mu.Lock()
	now := l.now()
	l.timer = nil
	var lines []logLine
	for k, c := range l.clients {
		if c.failed > 0 || c.refused > 0 {
			lines = append(lines, logLine{k, c.failed, c.refused, max(0, c.until.Sub(now)).Round(time.Second)})
			c.failed, c.refused = 0, 0
		}
		if l.stale(c, now) {
			delete(l.clients, k)
		}
	}
	evicted := l.evicted
	l.evicted = 0
	l.mu.Unlock()

	sort.Slice(lines, func(i, j int) bool { return lines[i].failed+lines[i].refused > lines[j].failed+lines[j].refused })
	for i, ln := range lines {
		if i == maxLoggedClients {
			rest := 0
			for _, r := range lines[i:] {
				rest += r.failed + r.refused
			}
			l.cfg.Log.Warn(l.cfg.What+" (more clients)", "clients", len(lines)-i, "attempts", rest, "interval", l.cfg.LogEvery)
			break
		}
		l.cfg.Log.Warn(l.cfg.What, "client", ln.key, "failed", ln.failed, "refused_while_waiting", ln.refused, "wait", ln.wait, "interval", l.cfg.LogEvery)
	}
	if evicted > 0 {
		l.cfg.Log.Warn(l.cfg.What+" (clients dropped from a full table)", "failed", evicted, "max_clients", l.cfg.MaxClients)
	}
}
