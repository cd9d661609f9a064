package httpclient

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// Digest is the state of HTTP Digest authentication (RFC 7616) with one
// server, as Python requests' HTTPDigestAuth keeps it: the last challenge
// and how many times its nonce was used. Reusing it lets later requests
// authenticate in one round trip instead of two.
type Digest struct {
	realm, nonce, opaque, algorithm string
	qop                             bool // qop=auth (else RFC 2069's legacy response)
	sess                            bool
	hash                            func() hash.Hash
	nc                              uint32
}

// ParseDigestChallenge reads a WWW-Authenticate header value. It returns
// an error for a challenge that is not Digest or that asks for what is
// not supported (qop=auth-int only, an unknown algorithm).
func ParseDigestChallenge(header string) (*Digest, error) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(header), " ")
	if !strings.EqualFold(scheme, "Digest") {
		return nil, fmt.Errorf("not a Digest challenge: %q", scheme)
	}
	if strings.ContainsFunc(rest, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
		// its values are echoed in the answer's header line
		return nil, errors.New("digest challenge with control characters")
	}
	params := parseAuthParams(rest)
	d := &Digest{realm: params["realm"], nonce: params["nonce"], opaque: params["opaque"], algorithm: params["algorithm"]}
	if d.nonce == "" {
		return nil, errors.New("digest challenge without a nonce")
	}
	alg := strings.ToUpper(d.algorithm)
	if base, ok := strings.CutSuffix(alg, "-SESS"); ok {
		d.sess, alg = true, base
	}
	switch alg {
	case "", "MD5":
		d.hash = md5.New
	case "SHA": // as requests names SHA-1
		d.hash = sha1.New
	case "SHA-256":
		d.hash = sha256.New
	case "SHA-512":
		d.hash = sha512.New
	case "SHA-512-256":
		d.hash = sha512.New512_256
	default:
		return nil, fmt.Errorf("digest algorithm %q is not supported", d.algorithm)
	}
	if q, ok := params["qop"]; ok {
		for o := range strings.SplitSeq(q, ",") {
			d.qop = d.qop || strings.EqualFold(strings.TrimSpace(o), "auth")
		}
		if !d.qop {
			return nil, fmt.Errorf("digest qop %q is not supported (only auth)", q)
		}
	}
	return d, nil
}

// Authorization returns the Authorization header for one request; uri is
// its request target (path and query, as sent). Each call counts one use
// of the nonce.
func (d *Digest) Authorization(method, uri, user, password string) string {
	d.nc++
	cnonce := rand.Text()[:16]
	resp := d.response(user, password, method, uri, cnonce, d.nc)
	var b strings.Builder
	fmt.Fprintf(&b, `Digest username=%s, realm=%s, nonce=%s, uri=%s, response="%s"`,
		quote(user), quote(d.realm), quote(d.nonce), quote(uri), resp)
	if d.opaque != "" {
		fmt.Fprintf(&b, ", opaque=%s", quote(d.opaque))
	}
	if d.algorithm != "" {
		fmt.Fprintf(&b, ", algorithm=%s", d.algorithm)
	}
	if d.qop {
		fmt.Fprintf(&b, `, qop=auth, nc=%08x, cnonce="%s"`, d.nc, cnonce)
	}
	return b.String()
}

// response is the digest of one request (RFC 7616 section 3.4.1).
func (d *Digest) response(user, password, method, uri, cnonce string, nc uint32) string {
	h := func(s string) string {
		x := d.hash()
		x.Write([]byte(s))
		return hex.EncodeToString(x.Sum(nil))
	}
	ha1 := h(user + ":" + d.realm + ":" + password)
	if d.sess {
		ha1 = h(ha1 + ":" + d.nonce + ":" + cnonce)
	}
	ha2 := h(method + ":" + uri)
	if !d.qop {
		return h(ha1 + ":" + d.nonce + ":" + ha2)
	}
	return h(fmt.Sprintf("%s:%s:%08x:%s:auth:%s", ha1, d.nonce, nc, cnonce, ha2))
}

// quote makes an RFC 7230 quoted-string.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// parseAuthParams reads `k=v, k="quoted, \"v\""` pairs. Keys are
// lower-cased; a malformed remainder is ignored.
func parseAuthParams(s string) map[string]string {
	out := map[string]string{}
	for len(out) < 32 {
		s = strings.TrimLeft(s, " \t,")
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return out
		}
		key := strings.ToLower(strings.TrimSpace(s[:eq]))
		s = strings.TrimLeft(s[eq+1:], " \t")
		var val string
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			val, s = b.String(), s[min(i+1, len(s)):]
		} else {
			end := strings.IndexByte(s, ',')
			if end < 0 {
				end = len(s)
			}
			val, s = strings.TrimSpace(s[:end]), s[end:]
		}
		out[key] = val
	}
	return out
}

// DigestChallenge returns the Digest challenge among a response's
// WWW-Authenticate headers, "" when there is none.
func DigestChallenge(r *Response) string {
	for _, v := range r.Header().Values("Www-Authenticate") {
		if len(v) > 7 && strings.EqualFold(v[:7], "digest ") {
			return v
		}
	}
	return ""
}
