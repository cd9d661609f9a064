// Package redact hides the password of a URL (scheme://user:password@host)
// before the URL is shown anywhere: request names, the web UI and its API,
// logs and reports.
package redact

import (
	"net/url"
	"strings"
)

// Marker replaces a password, as in the JSON summary's host.
const Marker = "REDACTED"

// URL returns s with the password of its userinfo replaced by Marker. It
// returns s itself, without allocating, when s has no password, so it may
// sit on the per-request path. The authority is found the way the HTTP
// client finds it (up to the first '/', '?' or '#'; the last '@' ends the
// userinfo), so what the client sends as credentials is what is hidden,
// even when the password holds an unescaped '@' or ':'.
func URL(s string) string {
	i := strings.Index(s, "://")
	if i < 0 {
		return s
	}
	start := i + 3
	rest := s[start:]
	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		rest = rest[:end]
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return s
	}
	colon := strings.IndexByte(rest[:at], ':')
	if colon < 0 {
		return s
	}
	return s[:start+colon+1] + Marker + s[start+at:]
}

// SecretParam reports whether a URL query parameter may carry a secret
// (a SAS signature, an API key, a token...).
func SecretParam(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"sig", "key", "secret", "token", "password", "passwd", "credential", "auth", "sas"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// Host returns a configured URL (a --host, a --results-url) with its
// password and every query value that may be a secret replaced by Marker.
// It allocates, so it is for URLs shown once, not for request names (see
// URL). The query is rewritten pair by pair, in its order, so a pair
// whose escapes do not parse (url.Query would drop it) is still hidden.
func Host(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return URL(raw)
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), Marker)
		}
	}
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, part := range parts {
			k, _, ok := strings.Cut(part, "=")
			if ok && SecretParam(Unescape(k)) {
				parts[i] = k + "=" + Marker
			}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	return u.String()
}

// Unescape is url.QueryUnescape, or s itself when its escapes are broken.
func Unescape(s string) string {
	if v, err := url.QueryUnescape(s); err == nil {
		return v
	}
	return s
}
