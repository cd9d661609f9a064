package httpclient

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Jar is one user's cookie jar: RFC 6265's storage model, without a
// public suffix list (as net/http/cookiejar with a nil list, which it
// replaces). Unlike net/http/cookiejar it can list, set and delete
// cookies by name, for u.http.cookies. The zero value is an empty jar, so
// a user that never receives a cookie holds none. It is safe for
// concurrent use, as http.CookieJar requires.
type Jar struct {
	mu      sync.Mutex
	entries []jarEntry
	seq     uint64 // creation order
}

type jarEntry struct {
	Cookie
	hostOnly, secure bool
	expires          time.Time // zero: until the user goes away
	seq              uint64
}

// Cookie is a stored cookie.
type Cookie struct {
	Name, Value string
	// Domain is the host (or domain, for a cookie set with a Domain
	// attribute) the cookie is sent to; Path the path prefix.
	Domain, Path string
}

// maxCookies bounds a user's jar (RFC 6265 asks for at least 3000): a
// target that sets ever new cookies must not grow the load generator's
// memory without end. Beyond it the oldest cookie goes.
const maxCookies = 3000

var _ http.CookieJar = (*Jar)(nil)

// SetCookies stores the cookies of a response from u.
func (j *Jar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	host := canonicalHost(u.Host)
	if host == "" {
		return
	}
	now := time.Now()
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range cookies {
		if c.Name == "" {
			continue
		}
		e := jarEntry{Cookie: Cookie{Name: c.Name, Value: c.Value}, secure: c.Secure}
		var ok bool
		if e.Domain, e.hostOnly, ok = cookieDomain(host, c.Domain); !ok {
			continue
		}
		e.Path = c.Path
		if e.Path == "" || e.Path[0] != '/' {
			e.Path = defaultPath(u.Path)
		}
		switch {
		case c.MaxAge < 0:
			j.remove(e.Name, e.Domain, e.Path)
			continue
		case c.MaxAge > 0:
			e.expires = now.Add(time.Duration(c.MaxAge) * time.Second)
		case !c.Expires.IsZero():
			if !c.Expires.After(now) {
				j.remove(e.Name, e.Domain, e.Path)
				continue
			}
			e.expires = c.Expires
		}
		j.put(e, now)
	}
}

// put stores e, replacing a cookie of the same name, domain and path
// (which keeps its place in the sending order, as RFC 6265 says).
func (j *Jar) put(e jarEntry, now time.Time) {
	for i := range j.entries {
		x := &j.entries[i]
		if x.Name == e.Name && x.Domain == e.Domain && x.Path == e.Path {
			e.seq = x.seq
			*x = e
			return
		}
	}
	if len(j.entries) >= maxCookies {
		j.entries = slices.DeleteFunc(j.entries, func(x jarEntry) bool { return x.expired(now) })
		if len(j.entries) >= maxCookies {
			oldest := 0
			for i, x := range j.entries {
				if x.seq < j.entries[oldest].seq {
					oldest = i
				}
			}
			j.entries = slices.Delete(j.entries, oldest, oldest+1)
		}
	}
	j.seq++
	e.seq = j.seq
	j.entries = append(j.entries, e)
}

func (j *Jar) remove(name, domain, path string) {
	j.entries = slices.DeleteFunc(j.entries, func(x jarEntry) bool {
		return x.Name == name && x.Domain == domain && x.Path == path
	})
}

func (e *jarEntry) expired(now time.Time) bool {
	return !e.expires.IsZero() && !e.expires.After(now)
}

// Cookies returns the cookies to send to u.
func (j *Jar) Cookies(u *url.URL) []*http.Cookie {
	var out []*http.Cookie
	j.each(u, func(e *jarEntry) { out = append(out, &http.Cookie{Name: e.Name, Value: e.Value}) })
	return out
}

// each calls f for each cookie to send to u, in RFC 6265's order: longer
// paths first, then older cookies first.
func (j *Jar) each(u *url.URL, f func(*jarEntry)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.entries) == 0 {
		return
	}
	host := canonicalHost(u.Host)
	path := u.Path
	if path == "" {
		path = "/"
	}
	https := u.Scheme == "https"
	now := time.Now()
	var match []*jarEntry
	for i := range j.entries {
		e := &j.entries[i]
		if e.expired(now) || e.secure && !https || !e.domainMatch(host) || !pathMatch(path, e.Path) {
			continue
		}
		match = append(match, e)
	}
	slices.SortStableFunc(match, func(a, b *jarEntry) int {
		if len(a.Path) != len(b.Path) {
			return len(b.Path) - len(a.Path)
		}
		return int(a.seq) - int(b.seq)
	})
	for _, e := range match {
		f(e)
	}
}

// header is the Cookie header for rawURL: the request's own cookies
// (extra), then the jar's cookies whose names they do not override. It is
// "" when there are none.
func (j *Jar) header(rawURL string, extra []Header) string {
	j.mu.Lock()
	empty := len(j.entries) == 0
	j.mu.Unlock()
	if empty && len(extra) == 0 {
		return ""
	}
	var b []byte
	add := func(name, value string) {
		if len(b) > 0 {
			b = append(b, "; "...)
		}
		b = append(b, name...)
		b = append(b, '=')
		b = append(b, value...)
	}
	for _, c := range extra {
		add(c.Key, c.Value)
	}
	if !empty {
		if u, err := url.Parse(rawURL); err == nil {
			j.each(u, func(e *jarEntry) {
				if !overridden(extra, e.Name) {
					add(e.Name, e.Value)
				}
			})
		}
	}
	return string(b)
}

func overridden(extra []Header, name string) bool {
	for _, c := range extra {
		if c.Key == name {
			return true
		}
	}
	return false
}

// setLines stores the Set-Cookie header lines of a response from rawURL.
func (j *Jar) setLines(rawURL string, lines [][]byte) {
	var cookies []*http.Cookie
	for _, l := range lines {
		if c, err := http.ParseSetCookie(string(l)); err == nil {
			cookies = append(cookies, c)
		}
	}
	if len(cookies) == 0 {
		return
	}
	if u, err := url.Parse(rawURL); err == nil {
		j.SetCookies(u, cookies)
	}
}

// All returns every stored cookie that has not expired, oldest first.
func (j *Jar) All() []Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := time.Now()
	out := make([]Cookie, 0, len(j.entries))
	for _, e := range j.entries {
		if !e.expired(now) {
			out = append(out, e.Cookie)
		}
	}
	return out
}

// Set stores a cookie for c.Domain (the host only: no subdomains) and
// c.Path ("/" when empty), until the user goes away.
func (j *Jar) Set(c Cookie) {
	c.Domain = canonicalHost(c.Domain)
	if c.Path == "" {
		c.Path = "/"
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.put(jarEntry{Cookie: c, hostOnly: true}, time.Now())
}

// Delete removes every cookie named name and reports how many there were.
func (j *Jar) Delete(name string) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := len(j.entries)
	j.entries = slices.DeleteFunc(j.entries, func(x jarEntry) bool { return x.Name == name })
	return n - len(j.entries)
}

// Clear removes every cookie.
func (j *Jar) Clear() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = nil
}

// canonicalHost is host without its port, lower-cased.
func canonicalHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	return strings.ToLower(host)
}

// cookieDomain decides where a cookie set by host with the Domain
// attribute attr goes (RFC 6265 section 5.3 steps 4 to 6): a cookie may
// only be set for the host itself or a domain above it.
func cookieDomain(host, attr string) (domain string, hostOnly, ok bool) {
	if attr == "" {
		return host, true, true
	}
	d := strings.ToLower(strings.TrimPrefix(attr, "."))
	if d == "" || d[0] == '.' || d[len(d)-1] == '.' {
		return "", false, false
	}
	if net.ParseIP(host) != nil {
		return host, true, d == host
	}
	if host != d && !strings.HasSuffix(host, "."+d) {
		return "", false, false
	}
	return d, false, true
}

func (e *jarEntry) domainMatch(host string) bool {
	if e.hostOnly {
		return host == e.Domain
	}
	return host == e.Domain || strings.HasSuffix(host, "."+e.Domain)
}

// pathMatch is RFC 6265 section 5.1.4's path-match.
func pathMatch(reqPath, cookiePath string) bool {
	if !strings.HasPrefix(reqPath, cookiePath) {
		return false
	}
	return len(reqPath) == len(cookiePath) || cookiePath[len(cookiePath)-1] == '/' || reqPath[len(cookiePath)] == '/'
}

// defaultPath is RFC 6265 section 5.1.4's default-path of a request path.
func defaultPath(p string) string {
	i := strings.LastIndexByte(p, '/')
	if p == "" || p[0] != '/' || i <= 0 {
		return "/"
	}
	return p[:i]
}
