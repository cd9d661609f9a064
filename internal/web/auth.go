package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/stampede-load/stampede/internal/guard"
)

// Credentials are the one user and password of the web UI.
type Credentials struct {
	user, pass [sha256.Size]byte
}

// ParseCredentials reads "user:pass" (the password may contain colons).
func ParseCredentials(s string) (*Credentials, error) {
	s = strings.TrimRight(s, "\r\n")
	user, pass, ok := strings.Cut(s, ":")
	if !ok || user == "" || pass == "" {
		// Never echo the value: it is a secret.
		return nil, errors.New("want USER:PASSWORD, both non-empty")
	}
	return &Credentials{user: sha256.Sum256([]byte(user)), pass: sha256.Sum256([]byte(pass))}, nil
}

// ReadCredentialsFile reads "user:pass" from the first line of a file.
func ReadCredentialsFile(path string) (*Credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	c, err := ParseCredentials(strings.TrimSpace(line))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Check reports whether user and pass match, in time that does not depend
// on where they differ (both are hashed first, so not on their lengths
// either).
func (c *Credentials) Check(user, pass string) bool {
	u := sha256.Sum256([]byte(user))
	p := sha256.Sum256([]byte(pass))
	okUser := subtle.ConstantTimeCompare(u[:], c.user[:])
	okPass := subtle.ConstantTimeCompare(p[:], c.pass[:])
	return okUser&okPass == 1
}

// requireAuth answers 401 to any request without the right basic-auth
// credentials. Wrong credentials count against the client's address in
// the limiter: past a few, the client waits, doubling, and its attempts
// are answered 429 without being checked. A request without credentials
// (a browser's first) is no failed login.
func requireAuth(c *Credentials, lim *guard.Limiter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if ok {
			client := guard.ClientKey(r.RemoteAddr)
			if wait := lim.Wait(client); wait > 0 {
				secs := int(math.Ceil(wait.Seconds()))
				w.Header().Set("Retry-After", strconv.Itoa(secs))
				w.Header().Set("Cache-Control", "no-store")
				http.Error(w, fmt.Sprintf("429 too many failed logins from your address: try again in %d s", secs), http.StatusTooManyRequests)
				return
			}
			if c.Check(user, pass) {
				lim.Succeed(client)
				next.ServeHTTP(w, r)
				return
			}
			lim.Fail(client)
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="Stampede", charset="UTF-8"`)
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "401 unauthorized: log in with the user and password given to --web-auth", http.StatusUnauthorized)
	})
}
