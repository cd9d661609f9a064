package web

import (
	"net"
	"net/http"
	"strings"
)

// checkHost guards a web UI without a password against DNS rebinding: a
// page on evil.example whose name is made to resolve to 127.0.0.1 (or to
// the UI's LAN address) is same-origin with the UI in the browser, so
// neither the browser nor the cross-origin check stops its POST /swarm.
// Its requests carry Host: evil.example, though; a name the UI does not
// know is refused. IP addresses always pass: a rebinding needs a name,
// and a Host that is an address is what a user typed. No Host at all is
// no browser.
func checkHost(allowed []string, next http.Handler) http.Handler {
	names := map[string]bool{}
	for _, a := range allowed {
		if a = normalizeHost(a); a != "" {
			names[a] = true
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostAllowed(r.Host, names) {
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "403 forbidden: the web UI has no password, so it answers only to localhost, IP addresses and the names given to --web-host-allow (protection against DNS rebinding); set --web-auth, or add this name to --web-host-allow", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func hostAllowed(hostport string, names map[string]bool) bool {
	h := normalizeHost(hostport)
	if h == "" || net.ParseIP(h) != nil || h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	return names[h]
}

// normalizeHost is the host of a Host header or a name: without port and
// brackets, lower case, without a trailing dot.
func normalizeHost(s string) string {
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	s = strings.TrimSuffix(strings.Trim(s, "[]"), ".")
	return strings.ToLower(s)
}
