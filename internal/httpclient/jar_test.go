package httpclient

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func cookieString(cs []*http.Cookie) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

func TestJarRules(t *testing.T) {
	var j Jar
	set := func(from string, lines ...string) {
		var cs []*http.Cookie
		for _, l := range lines {
			c, err := http.ParseSetCookie(l)
			if err != nil {
				t.Fatal(err)
			}
			cs = append(cs, c)
		}
		j.SetCookies(mustURL(from), cs)
	}
	set("http://www.example.com/shop/cart",
		"host=1",                            // host-only, default path /shop
		"root=2; Path=/",                    // host-only, all paths
		"dom=3; Domain=example.com; Path=/", // example.com and subdomains
		"sec=4; Secure; Path=/",
		"evil=5; Domain=other.com; Path=/", // refused: not above the host
		"gone=6; Max-Age=-1",
		"old=7; Path=/; Expires=Mon, 01 Jan 2001 00:00:00 GMT",
		"long=8; Path=/shop/cart/items",
	)
	for _, tc := range []struct{ url, want string }{
		{"http://www.example.com/shop/cart", "host=1; root=2; dom=3"},
		{"http://www.example.com/shop", "host=1; root=2; dom=3"},
		{"http://www.example.com/shopping", "root=2; dom=3"}, // /shop does not path-match /shopping
		{"http://www.example.com/shop/cart/items/9", "long=8; host=1; root=2; dom=3"},
		{"https://www.example.com/", "root=2; dom=3; sec=4"},
		{"http://api.example.com/", "dom=3"},
		{"http://example.com:8080/", "dom=3"},
		{"http://other.com/", ""},
	} {
		if got := cookieString(j.Cookies(mustURL(tc.url))); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.url, got, tc.want)
		}
	}
	// a cookie of the same name, domain and path is replaced in place;
	// Max-Age=0 from the server... deletes only with a negative Max-Age
	set("http://www.example.com/", "root=new; Path=/", "dom=x; Domain=.Example.COM; Path=/")
	if got := cookieString(j.Cookies(mustURL("http://www.example.com/"))); got != "root=new; dom=x" {
		t.Errorf("after replacing: %q", got)
	}
	set("http://www.example.com/", "root=; Path=/; Max-Age=-1")
	if got := cookieString(j.Cookies(mustURL("http://www.example.com/"))); got != "dom=x" {
		t.Errorf("after deleting: %q", got)
	}
	// an IP host takes no Domain cookies but its own
	set("http://127.0.0.1:9/", "ip=1; Domain=127.0.0.1", "bad=1; Domain=0.0.1")
	if got := cookieString(j.Cookies(mustURL("http://127.0.0.1:9/"))); got != "ip=1" {
		t.Errorf("IP host: %q", got)
	}
	// All, Set, Delete, Clear
	j.Set(Cookie{Name: "mine", Value: "v", Domain: "WWW.example.com:80"})
	if got := cookieString(j.Cookies(mustURL("http://www.example.com/a/b"))); !strings.HasSuffix(got, "mine=v") {
		t.Errorf("after Set: %q", got)
	}
	if got := cookieString(j.Cookies(mustURL("http://api.example.com/"))); strings.Contains(got, "mine") {
		t.Errorf("a Set cookie is host-only: %q", got)
	}
	var names []string
	for _, c := range j.All() {
		names = append(names, c.Name+"@"+c.Domain+c.Path)
	}
	if strings.Join(names, " ") != "host@www.example.com/shop dom@example.com/ sec@www.example.com/ long@www.example.com/shop/cart/items ip@127.0.0.1/ mine@www.example.com/" {
		t.Errorf("All: %v", names)
	}
	if n := j.Delete("dom"); n != 1 || strings.Contains(cookieString(j.Cookies(mustURL("http://api.example.com/"))), "dom") {
		t.Errorf("Delete: %d", n)
	}
	j.Clear()
	if len(j.All()) != 0 {
		t.Error("Clear left cookies")
	}
}

func TestJarIsBounded(t *testing.T) {
	var j Jar
	u := mustURL("http://example.com/")
	for i := range maxCookies + 10 {
		j.SetCookies(u, []*http.Cookie{{Name: fmt.Sprint("c", i), Value: "v"}})
	}
	all := j.All()
	if len(all) != maxCookies || all[0].Name != "c10" {
		t.Errorf("%d cookies kept, first %s; want %d, the oldest dropped", len(all), all[0].Name, maxCookies)
	}
	// expired cookies go before live ones
	j.Clear()
	j.SetCookies(u, []*http.Cookie{{Name: "short", Value: "v", Expires: time.Now().Add(time.Millisecond)}})
	time.Sleep(5 * time.Millisecond)
	if len(j.All()) != 0 || j.header("http://example.com/", nil) != "" {
		t.Error("an expired cookie is still listed or sent")
	}
}

// Request.Cookies go with the request, override jar cookies of the same
// name, are not stored, and do not follow a redirect to another origin;
// neither does an Authorization header.
func TestRequestCookiesAndCredentialsOnRedirect(t *testing.T) {
	forEach(t, func(t *testing.T, o Options) {
		other := httptest.NewServer(testHandler())
		t.Cleanup(other.Close)
		srv := newServer(t)
		c := New(o)
		defer c.CloseIdle()
		do(t, c, &Request{Method: "GET", URL: srv.URL + "/set?v=jar", FollowRedirects: true})
		e := decodeEcho(t, do(t, c, &Request{Method: "GET", URL: srv.URL + "/echo", Cookies: []Header{{"sid", "mine"}, {"x", "1"}}}))
		if got := strings.Join(e.Header["Cookie"], "; "); got != "sid=mine; x=1" {
			t.Errorf("request cookies: Cookie %q, want the request's sid over the jar's", got)
		}
		if got := string(do(t, c, &Request{Method: "GET", URL: srv.URL + "/cookie"}).Body); got != "jar" {
			t.Errorf("request cookies were stored: next request sends sid=%s", got)
		}
		// same origin: they follow
		e = decodeEcho(t, do(t, c, &Request{Method: "GET", URL: srv.URL + "/redirect/302?to=/echo", FollowRedirects: true,
			Cookies: []Header{{"x", "1"}}, Header: []Header{{"Authorization", "Bearer t"}}}))
		if e.Header.Get("Authorization") != "Bearer t" || !strings.Contains(strings.Join(e.Header["Cookie"], ";"), "x=1") {
			t.Errorf("same-origin redirect lost credentials: %v", e.Header)
		}
		// another origin: they do not
		e = decodeEcho(t, do(t, c, &Request{Method: "GET", URL: srv.URL + "/redirect/302?to=" + url.QueryEscape(other.URL+"/echo"), FollowRedirects: true,
			Cookies: []Header{{"x", "1"}}, Header: []Header{{"Authorization", "Bearer t"}, {"X-Keep", "k"}}}))
		// (the jar's sid goes to the other port: cookies are per host)
		if e.Header.Get("Authorization") != "" || strings.Join(e.Header["Cookie"], ";") != "sid=jar" || e.Header.Get("X-Keep") != "k" {
			t.Errorf("cross-origin redirect: %v", e.Header)
		}
	})
}

// Set-Cookie lines come from the server under test: any of them, from any
// URL, must leave the jar consistent (no panic, bounded, listable).
func FuzzJar(f *testing.F) {
	f.Add("http://www.example.com/a/b", "sid=1; Domain=.example.com; Path=/a; Max-Age=10; Secure", "https://x.example.com/a")
	f.Add("http://[::1]:8080/", "a=b; Domain=::1; Path=", "http://[::1]/")
	f.Add("http://h/", "=; Path=/;;; Expires=Thu, 01 Jan 1970 00:00:00 GMT", "http://h")
	f.Fuzz(func(t *testing.T, from, line, to string) {
		var j Jar
		j.setLines(from, [][]byte{[]byte(line)})
		j.header(to, []Header{{"x", "1"}})
		if n := len(j.All()); n > 1 {
			t.Errorf("one Set-Cookie line stored %d cookies", n)
		}
		for _, c := range j.All() {
			if c.Path == "" || c.Path[0] != '/' {
				t.Errorf("stored path %q", c.Path)
			}
		}
	})
}
