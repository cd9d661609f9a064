package script

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
)

const page = `<!doctype html><html><head><meta name="csrf-token" content="meta-tok"><title>Shop</title></head>
<body><form id="login" action="/login"><input type="hidden" name="csrf" value="form-tok"><input name="user"></form>
<ul class="items"><li data-id="1"><a href="/p/1">One</a> <b>€1</b></li><li data-id="2"><a href="/p/2">Two</a></li></ul>
<p>unclosed <i>tags
</body></html>`

func TestHTMLModule(t *testing.T) {
	doc := "doc = html.parse(" + fmt.Sprintf("%q", page) + ")\n"
	runExprCases(t, []exprCase{
		{doc + `out = html.select(doc, "input[name=csrf]")[0].attr("value")`, `"form-tok"`},
		{doc + `out = html.select_one(doc, "meta[name=csrf-token]").attr("content")`, `"meta-tok"`},
		{doc + `out = [e.text for e in html.select(doc, "ul.items li a")]`, `["One", "Two"]`},
		{doc + `out = [e.attr("data-id") for e in doc.select("li")]`, `["1", "2"]`},
		{doc + `out = [li.select_one("a").attr("href") for li in doc.select("li")]`, `["/p/1", "/p/2"]`},
		{doc + `out = [html.select_one(doc, "li").text, html.select_one(doc, "li").tag]`, `["One €1", "li"]`},
		{doc + `out = [html.select_one(doc, "input").attr("missing"), html.select_one(doc, "input").attr("missing", "d"), html.select_one(doc, "INPUT").attr("TYPE")]`, `[None, "d", "hidden"]`},
		{doc + `out = html.select_one(doc, "input").attrs`, `{"type": "hidden", "name": "csrf", "value": "form-tok"}`},
		{doc + `out = [html.select_one(doc, "li a").html, html.select_one(doc, "li").inner_html]`, `["<a href=\"/p/1\">One</a>", "<a href=\"/p/1\">One</a> <b>€1</b>"]`},
		{doc + `out = [html.select_one(doc, "p i").text, html.select_one(doc, "table"), html.select(doc, "table")]`, `["tags\n", None, []]`},
		{`html.select("<a href=x>1</a><a>2</a>", "a[href]")[0].text`, `"1"`},
		{`html.select(b"<b>x</b>", "b")[0].text`, `"x"`},
		{`[html.escape("<a href='x'>&</a>"), html.unescape("&lt;&amp;&#39;&eacute;")]`, `["&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;", "<&'é"]`},
		{`html.select("<p>", "p[")`, `error: html.select: bad CSS selector "p["`},
		{`html.select(5, "p")`, "error: html.select: the document must be a string, bytes or an element (r.text, html.parse(...)), got int"},
		{`html.select("<p>")`, "error: html.select: missing argument for selector"},
		{`html.parse("<p>").select(1)`, "error: select: for parameter selector: got int, want string"},
	})
}

// A task fetches a form, takes its CSRF token with html.select (and the
// meta token with re.search), and posts them back: the server checks what
// it received.
func TestCSRFTokenRoundTripEndToEnd(t *testing.T) {
	var (
		mu    sync.Mutex
		posts []url.Values
		heads []string
	)
	tokens := []string{"tok-a1", "tok-b2"}
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.Method + " " + r.URL.Path {
		case "GET /form":
			tok := tokens[n%len(tokens)]
			n++
			fmt.Fprintf(w, `<html><head><meta name="csrf-token" content="meta-%s"></head><body>
<form method="post" action="/login"><input type="hidden" name="csrf_token" value="%s"><input name="username"></form></body></html>`, tok, tok)
		case "POST /login":
			b, _ := io.ReadAll(r.Body)
			q, _ := url.ParseQuery(string(b))
			posts = append(posts, q)
			heads = append(heads, r.Header.Get("X-CSRF-Token"))
			io.WriteString(w, "ok")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	h := newHarness(t, `
def login(u):
    r = u.http.get("/form")
    token = html.select(r.text, "form input[name=csrf_token]")[0].attr("value")
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)"', r.text).group(1)
    u.http.post("/login", data={"username": "user%03d" % u.id, "csrf_token": token}, headers={"X-CSRF-Token": meta})
c = user(tasks=[login])
`, Options{})
	v := h.vu(7, "c", srv.URL, 0)
	v.RunTask(context.Background())
	v.RunTask(context.Background())
	if ex := h.flush().Exceptions; len(ex) > 0 {
		t.Fatalf("exceptions: %v", ex)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(posts) != 2 {
		t.Fatalf("server got %d posts, want 2", len(posts))
	}
	for i, want := range tokens {
		if got := posts[i].Get("csrf_token"); got != want {
			t.Errorf("post %d: csrf_token = %q, want %q", i, got, want)
		}
		if got := posts[i].Get("username"); got != "user007" {
			t.Errorf("post %d: username = %q, want user007", i, got)
		}
		if heads[i] != "meta-"+want {
			t.Errorf("post %d: X-CSRF-Token = %q, want %q", i, heads[i], "meta-"+want)
		}
	}
}
