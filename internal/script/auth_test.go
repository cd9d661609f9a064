package script

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mccutchen/go-httpbin/v2/httpbin"
	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/stats"
	"go.starlark.net/starlark"
)

// digestServer checks RFC 7616 Digest authentication (qop=auth) the way a
// strict server does: it issues nonces, and accepts a nonce only with a
// nonce count higher than any it has seen for it.
type digestServer struct {
	*httptest.Server
	alg, user, password string

	mu         sync.Mutex
	nc         map[string]uint64 // nonce → highest nc seen
	challenges int
	ok         int
	uris       []string
}

var authParam = regexp.MustCompile(`(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))`)

func newDigestServer(t *testing.T, alg string) *digestServer {
	s := &digestServer{alg: alg, user: "alice", password: "pw", nc: map[string]uint64{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *digestServer) h(v string) string {
	var x hash.Hash = md5.New()
	if strings.HasPrefix(s.alg, "SHA-256") {
		x = sha256.New()
	}
	x.Write([]byte(v))
	return hex.EncodeToString(x.Sum(nil))
}

func (s *digestServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.valid(r) {
		s.ok++
		fmt.Fprint(w, "welcome")
		return
	}
	s.challenges++
	nonce := fmt.Sprintf("nonce-%d", len(s.nc))
	s.nc[nonce] = 0
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Digest realm="test realm", qop="auth,auth-int", algorithm=%s, nonce="%s", opaque="op"`, s.alg, nonce))
	w.WriteHeader(http.StatusUnauthorized)
}

func (s *digestServer) valid(r *http.Request) bool {
	a, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Digest ")
	if !ok {
		return false
	}
	p := map[string]string{}
	for _, m := range authParam.FindAllStringSubmatch(a, -1) {
		p[m[1]] = m[2] + m[3]
	}
	seen, known := s.nc[p["nonce"]]
	nc, err := strconv.ParseUint(p["nc"], 16, 64)
	if !known || err != nil || nc <= seen || p["username"] != s.user || p["realm"] != "test realm" ||
		p["opaque"] != "op" || p["qop"] != "auth" || p["algorithm"] != s.alg || p["uri"] != r.URL.RequestURI() {
		return false
	}
	ha1 := s.h(s.user + ":test realm:" + s.password)
	if strings.HasSuffix(s.alg, "-sess") {
		ha1 = s.h(ha1 + ":" + p["nonce"] + ":" + p["cnonce"])
	}
	want := s.h(ha1 + ":" + p["nonce"] + ":" + p["nc"] + ":" + p["cnonce"] + ":auth:" + s.h(r.Method+":"+r.URL.RequestURI()))
	if p["response"] != want {
		return false
	}
	s.nc[p["nonce"]] = nc
	s.uris = append(s.uris, p["uri"])
	return true
}

// Digest auth answers the challenge, then reuses the nonce so that later
// requests take one round trip; each exchange is one request in the stats.
func TestDigestAuth(t *testing.T) {
	for _, alg := range []string{"MD5", "MD5-sess", "SHA-256"} {
		for _, c := range clients {
			t.Run(alg+"/"+c.name, func(t *testing.T) {
				srv := newDigestServer(t, alg)
				v, d := runOnce(t, `
AUTH = digest("alice", "pw")
def t(u):
    for i in range(3):
        r = u.http.post("/secret?n=%d" % i, "body", auth=AUTH, name="/secret")
        u.state["status"] = u.state.get("status", []) + [r.status_code]
    u.state["shown"] = str(AUTH)
c = user(tasks=[t])
`, srv.URL, c.opts)
				if e := entry(t, d, "POST", "/secret"); e.Requests != 3 || e.Failures != 0 {
					t.Errorf("stats: %d requests %d failures %v", e.Requests, e.Failures, d.Errors)
				}
				if srv.challenges != 1 || srv.ok != 3 {
					t.Errorf("server: %d challenges, %d accepted; want 1 and 3 (one round trip after the first)", srv.challenges, srv.ok)
				}
				if strings.Join(srv.uris, " ") != "/secret?n=0 /secret?n=1 /secret?n=2" {
					t.Errorf("uris %v", srv.uris)
				}
				st := stateOf(t, v)
				if got, _, _ := st.Get(starlarkStr("status")); got.String() != "[200, 200, 200]" {
					t.Errorf("statuses %s", got)
				}
				if got, _, _ := st.Get(starlarkStr("shown")); strings.Contains(got.String(), "pw") {
					t.Errorf("str(digest(...)) shows the password: %s", got)
				}
			})
		}
	}
}

func TestDigestAuthWrongPasswordAndNewNonce(t *testing.T) {
	srv := newDigestServer(t, "MD5")
	h := newHarness(t, `
def t(u):
    u.http.get("/a", auth=digest("alice", "wrong"))
def ok(u):
    u.http.get("/b", auth=digest("alice", "pw"))
c = user(tasks=[t])
o = user(tasks=[ok])
`, Options{})
	h.vu(1, "c", srv.URL, 0).RunTask(t.Context())
	d := h.flush()
	// a wrong password: the challenge is answered once, and the second
	// 401 is the recorded outcome of one request
	if e := entry(t, d, "GET", "/a"); e.Requests != 1 || e.Failures != 1 || srv.challenges != 2 {
		t.Errorf("wrong password: %d requests %d failures, %d challenges", e.Requests, e.Failures, srv.challenges)
	}
	// the server forgets its nonces: the cached one is refused and the
	// fresh challenge answered, still one request in the stats
	o := h.vu(2, "o", srv.URL, 0)
	o.RunTask(t.Context())
	srv.mu.Lock()
	clear(srv.nc)
	srv.mu.Unlock()
	o.RunTask(t.Context())
	d = h.flush()
	if e := entry(t, d, "GET", "/b"); e.Requests != 2 || e.Failures != 0 || srv.ok != 2 {
		t.Errorf("new nonce: %d requests %d failures %d accepted", e.Requests, e.Failures, srv.ok)
	}
}

// go-httpbin's /digest-auth is an independent implementation to check
// against.
func TestDigestAuthHTTPBin(t *testing.T) {
	srv := httptest.NewServer(httpbin.New())
	t.Cleanup(srv.Close)
	for _, alg := range []string{"MD5", "SHA-256"} {
		for _, c := range clients {
			_, d := runOnce(t, fmt.Sprintf(`
def t(u):
    r = u.http.get("/digest-auth/auth/bob/s3cret/%s", auth=digest("bob", "s3cret"), name="d")
    if r.json()["user"] != "bob":
        r.failure("wrong user")
c = user(tasks=[t])
`, alg), srv.URL, c.opts)
			if e := entry(t, d, "GET", "d"); e.Requests != 1 || e.Failures != 0 {
				t.Errorf("%s %s: %v", alg, c.name, d.Errors)
			}
		}
	}
}

func TestDigestChallengeUnsupported(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Digest realm="r", nonce="n", algorithm=SHA3`)
		w.WriteHeader(401)
	}))
	t.Cleanup(srv.Close)
	_, d := runOnce(t, "def t(u):\n    u.http.get('/x', auth=digest('a', 'b'))\nc = user(tasks=[t])\n", srv.URL, httpclient.Options{})
	want := `digest auth: digest algorithm "SHA3" is not supported`
	if len(d.Errors) != 1 || d.Errors[statsErr("GET", "/x", want)] != 1 {
		t.Errorf("errors %v", d.Errors)
	}
}

func starlarkStr(s string) starlark.String { return starlark.String(s) }

func statsErr(method, name, msg string) stats.ErrorKey {
	return stats.ErrorKey{Method: method, Name: name, Error: msg}
}
