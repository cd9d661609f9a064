package script

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.starlark.net/starlark"
)

// cookieServer sets sid=alice on /login and answers every other path
// with the cookies it received, in order.
func cookieServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "alice", Path: "/"})
			return
		}
		var parts []string
		for _, c := range r.Cookies() {
			parts = append(parts, c.Name+"="+c.Value)
		}
		io.WriteString(w, strings.Join(parts, "; "))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCookiesDictAndPerRequestCookies(t *testing.T) {
	srv := cookieServer(t)
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			v, _ := runOnce(t, `
def t(u):
    s = u.http.cookies
    u.http.get("/login")
    u.state["read"] = [s["sid"], "sid" in s, "nope" in s, s.get("nope", "d"), len(s), list(s), s.items()]
    s["theme"] = "dark"
    got = [u.http.get("/a").text]
    got.append(u.http.get("/a", cookies={"sid": "override", "extra": "1"}).text)
    got.append(u.http.get("/a").text)  # cookies= is not kept
    s.set("scoped", "v", path="/only")
    got.append(u.http.get("/only/x").text)
    got.append(u.http.get("/a").text)
    got.append(s.pop("sid"))
    got.append(u.http.get("/a").text)
    s.clear()
    got.append(u.http.get("/a").text)
    got.append(len(s))
    u.state["got"] = got
c = user(tasks=[t])
`, srv.URL, c.opts)
			st := stateOf(t, v)
			read, _, _ := st.Get(starlark.String("read"))
			if want := `["alice", True, False, "d", 1, ["sid"], [("sid", "alice")]]`; read.String() != want {
				t.Errorf("reading the jar: %s, want %s", read, want)
			}
			got, _, _ := st.Get(starlark.String("got"))
			want := `["sid=alice; theme=dark", "sid=override; extra=1; theme=dark", "sid=alice; theme=dark", "scoped=v; sid=alice; theme=dark", "sid=alice; theme=dark", "alice", "theme=dark", "", 0]`
			if got.String() != want {
				t.Errorf("cookies sent:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestCookieErrors(t *testing.T) {
	srv := cookieServer(t)
	for _, tc := range []struct{ call, want string }{
		{`u.http.get("/", cookies={"a;b": "x"})`, `get: cookies: "a;b" is not a valid cookie name`},
		{`u.http.get("/", cookies={"a": "x; admin=1"})`, "get: cookies: the value of cookie a contains ';'"},
		{`u.http.get("/", cookies=["a"])`, "get: cookies: must be a dict, got list"},
		{`u.http.cookies["a"] = 1`, "u.http.cookies: the value of cookie a must be a string, got int"},
		{`u.http.cookies.set("a", "b", path="x")`, "u.http.cookies: path must start with /"},
		{`u.http.cookies.pop("none")`, "pop: no cookie"},
	} {
		if msg, _ := callError(t, tc.call, srv.URL); !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %q, want %q", tc.call, msg, tc.want)
		}
	}
	if msg, _ := callError(t, "u.http.cookies['a'] = 'b'", ""); !strings.Contains(msg, "no host to set the cookie for: use u.http.cookies.set(name, value, domain=...)") {
		t.Errorf("no host: %q", msg)
	}
}

// r.url is the URL of the last response: after redirects (to another
// server too), or the request's own when redirects are not followed.
func TestResponseURLAfterRedirects(t *testing.T) {
	final := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "end") }))
	t.Cleanup(final.Close)
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/one":
			http.Redirect(w, r, "/two?a=1", http.StatusMovedPermanently)
		case "/two":
			http.Redirect(w, r, final.URL+"/three?b=2", http.StatusFound)
		}
	}))
	t.Cleanup(first.Close)
	for _, c := range clients {
		v, _ := runOnce(t, `
def t(u):
    u.state["urls"] = [u.http.get("/one").url, u.http.get("/one", allow_redirects=False).url, u.http.get("/two").text]
c = user(tasks=[t])
`, first.URL, c.opts)
		got, _, _ := stateOf(t, v).Get(starlark.String("urls"))
		if want := `["` + final.URL + `/three?b=2", "` + first.URL + `/one", "end"]`; got.String() != want {
			t.Errorf("%s: r.url %s, want %s", c.name, got, want)
		}
	}
}
