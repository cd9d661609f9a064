// Package redact hides the password of a URL (scheme://user:password@host)
// before the URL is shown anywhere: request names, the web UI and its API,
// logs and reports.
package redact

import "strings"

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
