package script

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/httpclient"
	"go.starlark.net/starlark"
	"golang.org/x/net/http/httpguts"
)

// digestAuth is what digest(user, password) returns, for auth=.
type digestAuth struct{ user, password string }

var _ starlark.Value = (*digestAuth)(nil)

// String hides the password: a script may print its auth value.
func (d *digestAuth) String() string       { return fmt.Sprintf("digest(%q, \"***\")", d.user) }
func (d *digestAuth) Type() string         { return "digest_auth" }
func (d *digestAuth) Freeze()              {}
func (d *digestAuth) Truth() starlark.Bool { return true }
func (d *digestAuth) Hash() (uint32, error) {
	return starlark.String(d.user + "\x00" + d.password).Hash()
}

func newDigestAuth(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var user, password string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &user, &password); err != nil {
		return nil, err
	}
	if !httpguts.ValidHeaderFieldValue(user) { // it is sent in the Authorization header
		return nil, errors.New("digest: the user name contains a control character")
	}
	return &digestAuth{user: user, password: password}, nil
}

// setAuth applies auth=: a (user, password) pair sets Basic credentials;
// digest(user, password) is returned for doDigest. auth= replaces an
// Authorization header given in headers=, as in requests.
func setAuth(fn string, req *httpclient.Request, v starlark.Value) (*digestAuth, error) {
	switch a := v.(type) {
	case nil:
		return nil, nil
	case *digestAuth:
		return a, nil
	case starlark.Tuple, *starlark.List:
		seq := a.(starlark.Indexable)
		if seq.Len() == 2 {
			user, ok1 := starlark.AsString(seq.Index(0))
			password, ok2 := starlark.AsString(seq.Index(1))
			if ok1 && ok2 {
				cred := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
				req.Header = setHeader(req.Header, "Authorization", "Basic "+cred)
				return nil, nil
			}
		}
	}
	return nil, fmt.Errorf("%s: auth must be a (user, password) pair of strings or digest(user, password), got %s", fn, v.Type())
}

// maxDigestSessions bounds the digest state a user keeps (one per server
// and user name).
const maxDigestSessions = 64

// doDigest makes a request with Digest authentication, as requests'
// HTTPDigestAuth does: when this user already holds a challenge from the
// server, the request carries its answer at once (one round trip);
// otherwise, or when the server answers 401 with a fresh challenge (a new
// or stale nonce), the request is sent once more with the answer. The
// exchange counts as one request, timed from the first byte sent to the
// last received, with the final response's status.
//
// authErr reports a challenge that cannot be answered (say, an unknown
// algorithm): the request then fails with that message.
func (v *VU) doDigest(req *httpclient.Request, d *digestAuth) (resp *httpclient.Response, authErr, err error) {
	key, uri := digestTarget(req.URL)
	key += "\x00" + d.user
	sess := v.digests[key]
	if sess != nil {
		req.Header = setHeader(req.Header, "Authorization", sess.Authorization(req.Method, uri, d.user, d.password))
	}
	resp, err = v.client.Do(v.ctx, req)
	if err != nil || resp.Status != 401 {
		return resp, nil, err
	}
	ch := httpclient.DigestChallenge(resp)
	if ch == "" {
		return resp, nil, nil
	}
	sess, perr := httpclient.ParseDigestChallenge(ch)
	if perr != nil {
		return resp, fmt.Errorf("digest auth: %w", perr), nil
	}
	if v.digests == nil || len(v.digests) >= maxDigestSessions {
		v.digests = map[string]*httpclient.Digest{}
	}
	v.digests[key] = sess
	req.Start = time.Time{} // the answer is a request of its own: its own timeout
	req.Header = setHeader(req.Header, "Authorization", sess.Authorization(req.Method, uri, d.user, d.password))
	resp, err = v.client.Do(v.ctx, req)
	return resp, nil, err
}

// digestTarget splits an absolute URL into its origin and its request
// target (path and query as they are sent).
func digestTarget(rawURL string) (origin, uri string) {
	i := strings.Index(rawURL, "://")
	if i < 0 {
		return rawURL, "/"
	}
	rest := rawURL[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		return rawURL, "/"
	}
	origin, uri = rawURL[:i+3+end], rest[end:]
	uri, _, _ = strings.Cut(uri, "#")
	if uri == "" || uri[0] == '?' {
		uri = "/" + uri
	}
	return origin, uri
}
