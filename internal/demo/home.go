package demo

import (
	"bytes"
	"html/template"
)

var homeTemplate = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stampede demo shop</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem} .sub{color:#666;margin-top:0}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(13rem,1fr));gap:.8rem}
.card{border:1px solid #ddd;border-radius:.5rem;padding:.8rem}
.card a{font-weight:600;text-decoration:none;color:#0b5}
.price{float:right;color:#444}
code,pre{background:#f4f4f4;border-radius:.3rem;padding:.1rem .3rem}
pre{padding:.8rem;overflow:auto}
td{padding:.2rem .6rem;vertical-align:top}
</style>
</head>
<body>
<h1>Stampede demo shop</h1>
<p class="sub">A built-in target for trying load tests locally. Nothing here is real.</p>

<h2>Featured products</h2>
<div class="grid">
{{range .Featured}}<div class="card"><a href="{{.URL}}">{{.Name}}</a><span class="price">{{printf "%.2f" .Price}} {{.Currency}}</span><br><small>{{.Category}}</small></div>
{{end}}</div>

<h2>Try a load test</h2>
<pre>stampede demo &amp;
stampede run -f examples/shop.star --headless -u 20 -r 10 -t 15s</pre>

<h2>API</h2>
<p>Log in with <b>any username</b> and the password <code>secret</code>. Login sets the
<code>session</code> cookie and returns a token that also works as <code>Authorization: Bearer &lt;token&gt;</code>.</p>
<table>
<tr><td><code>GET /health</code></td><td>liveness; never slow, never fails</td></tr>
<tr><td><code>GET /api/products?page=1&amp;per_page=10&amp;q=lamp</code></td><td>JSON page of products (<code>items</code>, <code>page</code>, <code>pages</code>, <code>total</code>)</td></tr>
<tr><td><code>GET /api/products/{id}</code></td><td>one product, ids 1–{{.NumProducts}}; 404 otherwise</td></tr>
<tr><td><code>POST /api/login</code></td><td><code>{"username":"alice","password":"secret"}</code> → <code>{"token":…}</code>; 401 on a wrong password</td></tr>
<tr><td><code>POST /api/logout</code></td><td>ends the session</td></tr>
<tr><td><code>GET /api/cart</code></td><td>the cart (401 without a session)</td></tr>
<tr><td><code>POST /api/cart</code></td><td><code>{"product_id":3,"quantity":1}</code> adds to the cart</td></tr>
<tr><td><code>DELETE /api/cart</code></td><td>empties the cart</td></tr>
<tr><td><code>POST /api/checkout</code></td><td>orders the cart; slow, and fails now and then with 500</td></tr>
<tr><td><a href="/httpbin/"><code>/httpbin/</code></a></td><td>go-httpbin (also at the root: <code>/get</code>, <code>/status/418</code>, <code>/delay/1</code>, …)</td></tr>
</table>
</body>
</html>
`))

func renderHome(c *catalog) []byte {
	var buf bytes.Buffer
	data := struct {
		Featured    []product
		NumProducts int
	}{c.products[:8], NumProducts}
	if err := homeTemplate.Execute(&buf, data); err != nil {
		panic(err)
	}
	return buf.Bytes()
}
