package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// do sends one request to h in-process and returns the recorded response.
func do(t *testing.T, h http.Handler, method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func decode(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, rec.Body.String())
	}
	return m
}

func TestRoutes(t *testing.T) {
	h := NewHandler(Options{})
	tests := []struct {
		name, method, target, body string
		code                       int
		ctype                      string // prefix of Content-Type
		contains                   string // in body
	}{
		{"home", "GET", "/", "", 200, "text/html", "Stampede demo shop"},
		{"home head", "HEAD", "/", "", 200, "text/html", ""},
		{"health", "GET", "/health", "", 200, "application/json", `"status":"ok"`},
		{"health post", "POST", "/health", "", 405, "application/json", "method not allowed"},
		{"products", "GET", "/api/products", "", 200, "application/json", `"items":[{"id":1,`},
		{"products page 2", "GET", "/api/products?page=2", "", 200, "application/json", `"items":[{"id":11,`},
		{"products page past end", "GET", "/api/products?page=99", "", 200, "application/json", `"items":[]`},
		{"products per_page", "GET", "/api/products?per_page=3&page=2", "", 200, "application/json", `"items":[{"id":4,`},
		{"products search", "GET", "/api/products?q=KETTLE", "", 200, "application/json", `Kettle`},
		{"products search none", "GET", "/api/products?q=zzzz", "", 200, "application/json", `"items":[]`},
		{"products bad page", "GET", "/api/products?page=x", "", 400, "application/json", "page must be"},
		{"products zero page", "GET", "/api/products?page=0", "", 400, "application/json", "page must be"},
		{"products big per_page", "GET", "/api/products?per_page=500", "", 400, "application/json", "per_page must be"},
		{"products post", "POST", "/api/products", "{}", 405, "application/json", ""},
		{"product", "GET", "/api/products/7", "", 200, "application/json", `"id":7,`},
		{"product last", "GET", "/api/products/100", "", 200, "application/json", `"id":100,`},
		{"product 0", "GET", "/api/products/0", "", 404, "application/json", "product not found"},
		{"product unknown", "GET", "/api/products/101", "", 404, "application/json", "product not found"},
		{"product not a number", "GET", "/api/products/abc", "", 404, "application/json", "product not found"},
		{"unknown api", "GET", "/api/nope", "", 404, "application/json", "no such API route"},
		{"product subpath", "GET", "/api/products/1/reviews", "", 404, "application/json", ""},
		{"login get", "GET", "/api/login", "", 405, "application/json", ""},
		{"login bad json", "POST", "/api/login", "{", 400, "application/json", "invalid JSON"},
		{"login wrong password", "POST", "/api/login", `{"username":"a","password":"nope"}`, 401, "application/json", "invalid username or password"},
		{"login empty user", "POST", "/api/login", `{"username":" ","password":"secret"}`, 401, "application/json", ""},
		{"login ok", "POST", "/api/login", `{"username":"alice","password":"secret"}`, 200, "application/json", `"token":"`},
		{"cart no session", "GET", "/api/cart", "", 401, "application/json", "login required"},
		{"cart post no session", "POST", "/api/cart", `{"product_id":1}`, 401, "application/json", ""},
		{"checkout no session", "POST", "/api/checkout", "", 401, "application/json", ""},
		{"checkout get", "GET", "/api/checkout", "", 405, "application/json", ""},
		{"httpbin prefixed get", "GET", "/httpbin/get?x=1", "", 200, "application/json", `"x"`},
		{"httpbin prefixed status", "GET", "/httpbin/status/418", "", 418, "", ""},
		{"httpbin index", "GET", "/httpbin/", "", 200, "text/html", "/httpbin/get"},
		{"httpbin root get", "GET", "/get", "", 200, "application/json", `"url"`},
		{"httpbin root status", "GET", "/status/503", "", 503, "", ""},
		{"httpbin root post", "POST", "/post", `{"a":1}`, 200, "application/json", `"json"`},
		{"unknown root", "GET", "/definitely-not-here", "", 404, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, h, tc.method, tc.target, tc.body)
			if rec.Code != tc.code {
				t.Fatalf("%s %s: status %d, want %d\n%s", tc.method, tc.target, rec.Code, tc.code, rec.Body.String())
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, tc.ctype) {
				t.Errorf("Content-Type %q, want prefix %q", ct, tc.ctype)
			}
			if !strings.Contains(rec.Body.String(), tc.contains) {
				t.Errorf("body lacks %q:\n%.500s", tc.contains, rec.Body.String())
			}
		})
	}
}

func TestProductListShape(t *testing.T) {
	h := NewHandler(Options{})
	tests := []struct {
		target               string
		items, total, pages  int
		firstID, currentPage int
	}{
		{"/api/products", 10, NumProducts, 10, 1, 1},
		{"/api/products?page=10", 10, NumProducts, 10, 91, 10},
		{"/api/products?page=11", 0, NumProducts, 10, 0, 11},
		{"/api/products?page=3&per_page=50", 0, NumProducts, 2, 0, 3},
		{"/api/products?per_page=50", 50, NumProducts, 2, 1, 1},
		{"/api/products?per_page=7", 7, NumProducts, 15, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			rec := do(t, h, "GET", tc.target, "")
			var p productPage
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			if len(p.Items) != tc.items || p.Total != tc.total || p.Pages != tc.pages || p.Page != tc.currentPage {
				t.Fatalf("got items=%d total=%d pages=%d page=%d, want %d %d %d %d",
					len(p.Items), p.Total, p.Pages, p.Page, tc.items, tc.total, tc.pages, tc.currentPage)
			}
			if tc.items > 0 && p.Items[0].ID != tc.firstID {
				t.Errorf("first id %d, want %d", p.Items[0].ID, tc.firstID)
			}
		})
	}
	// Every listed product resolves, and search results match the query.
	rec := do(t, h, "GET", "/api/products?q=lamp&per_page=50", "")
	var p productPage
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Total == 0 || p.Total != len(p.Items) {
		t.Fatalf("search lamp: total %d, items %d", p.Total, len(p.Items))
	}
	for _, it := range p.Items {
		if !strings.Contains(strings.ToLower(it.Name), "lamp") {
			t.Errorf("search lamp returned %q", it.Name)
		}
		if rec := do(t, h, "GET", it.URL, ""); rec.Code != 200 {
			t.Errorf("GET %s: %d", it.URL, rec.Code)
		}
	}
}

// login logs in and returns the token and the session cookie.
func login(t *testing.T, h http.Handler, user string) (string, *http.Cookie) {
	t.Helper()
	rec := do(t, h, "POST", "/api/login", `{"username":"`+user+`","password":"secret"}`)
	if rec.Code != 200 {
		t.Fatalf("login: %d %s", rec.Code, rec.Body.String())
	}
	m := decode(t, rec)
	tok, _ := m["token"].(string)
	if tok == "" || m["username"] != user {
		t.Fatalf("login response %v", m)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != SessionCookie || cookies[0].Value != tok || !cookies[0].HttpOnly {
		t.Fatalf("login cookies %v", cookies)
	}
	return tok, cookies[0]
}

func TestCartFlow(t *testing.T) {
	h := NewHandler(Options{})
	tok, c := login(t, h, "alice")
	cookie := c.Name + "=" + c.Value
	bearer := "Bearer " + tok

	steps := []struct {
		name, method, target, body string
		auth                       []string
		code                       int
		check                      func(t *testing.T, m map[string]any)
	}{
		{"empty cart", "GET", "/api/cart", "", []string{"Cookie", cookie}, 200, func(t *testing.T, m map[string]any) {
			if m["count"] != 0.0 || len(m["items"].([]any)) != 0 {
				t.Errorf("cart %v", m)
			}
		}},
		{"checkout empty", "POST", "/api/checkout", "", []string{"Cookie", cookie}, 400, nil},
		{"add default qty", "POST", "/api/cart", `{"product_id":3}`, []string{"Cookie", cookie}, 200, func(t *testing.T, m map[string]any) {
			if m["count"] != 1.0 {
				t.Errorf("cart %v", m)
			}
		}},
		{"add again with bearer", "POST", "/api/cart", `{"product_id":3,"quantity":2}`, []string{"Authorization", bearer}, 200, func(t *testing.T, m map[string]any) {
			items := m["items"].([]any)
			if m["count"] != 3.0 || len(items) != 1 || items[0].(map[string]any)["quantity"] != 3.0 {
				t.Errorf("cart %v", m)
			}
		}},
		{"add other", "POST", "/api/cart", `{"product_id":10,"quantity":1}`, []string{"Cookie", cookie}, 200, func(t *testing.T, m map[string]any) {
			p3, p10 := newCatalog().get(3), newCatalog().get(10)
			if m["count"] != 4.0 || m["total_cents"] != float64(3*p3.PriceCents+p10.PriceCents) {
				t.Errorf("cart %v", m)
			}
		}},
		{"add unknown product", "POST", "/api/cart", `{"product_id":1000}`, []string{"Cookie", cookie}, 404, nil},
		{"add zero qty", "POST", "/api/cart", `{"product_id":1,"quantity":0}`, []string{"Cookie", cookie}, 400, nil},
		{"add bad json", "POST", "/api/cart", `nope`, []string{"Cookie", cookie}, 400, nil},
		{"bad token", "GET", "/api/cart", "", []string{"Authorization", "Bearer 0123"}, 401, nil},
		{"bad cookie", "GET", "/api/cart", "", []string{"Cookie", "session=0123"}, 401, nil},
		{"checkout", "POST", "/api/checkout", "", []string{"Cookie", cookie}, 200, func(t *testing.T, m map[string]any) {
			if m["status"] != "confirmed" || m["items"] != 4.0 || !strings.HasPrefix(m["order_id"].(string), "ord_") {
				t.Errorf("order %v", m)
			}
		}},
		{"cart empty after checkout", "GET", "/api/cart", "", []string{"Authorization", bearer}, 200, func(t *testing.T, m map[string]any) {
			if m["count"] != 0.0 {
				t.Errorf("cart %v", m)
			}
		}},
		{"add then clear", "POST", "/api/cart", `{"product_id":5}`, []string{"Cookie", cookie}, 200, nil},
		{"clear", "DELETE", "/api/cart", "", []string{"Cookie", cookie}, 200, func(t *testing.T, m map[string]any) {
			if m["count"] != 0.0 {
				t.Errorf("cart %v", m)
			}
		}},
		{"cart put", "PUT", "/api/cart", "{}", []string{"Cookie", cookie}, 405, nil},
		{"logout", "POST", "/api/logout", "", []string{"Cookie", cookie}, 200, nil},
		{"cart after logout", "GET", "/api/cart", "", []string{"Cookie", cookie}, 401, nil},
	}
	for _, s := range steps {
		rec := do(t, h, s.method, s.target, s.body, s.auth...)
		if rec.Code != s.code {
			t.Fatalf("%s: %s %s: status %d, want %d\n%s", s.name, s.method, s.target, rec.Code, s.code, rec.Body.String())
		}
		if s.check != nil {
			t.Run(s.name, func(t *testing.T) { s.check(t, decode(t, rec)) })
		}
	}
}

func TestSessionsAreSeparate(t *testing.T) {
	h := NewHandler(Options{})
	tokA, _ := login(t, h, "a")
	tokB, _ := login(t, h, "b")
	if tokA == tokB {
		t.Fatal("two logins got the same token")
	}
	do(t, h, "POST", "/api/cart", `{"product_id":1}`, "Authorization", "Bearer "+tokA)
	if m := decode(t, do(t, h, "GET", "/api/cart", "", "Authorization", "Bearer "+tokB)); m["count"] != 0.0 {
		t.Fatalf("b sees a's cart: %v", m)
	}
	// Handlers share nothing.
	if rec := do(t, NewHandler(Options{}), "GET", "/api/cart", "", "Authorization", "Bearer "+tokA); rec.Code != 401 {
		t.Fatalf("another handler accepted the token: %d", rec.Code)
	}
}

func TestFormLogin(t *testing.T) {
	h := NewHandler(Options{})
	req := httptest.NewRequest("POST", "/api/login", strings.NewReader("username=bob&password=secret"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("form login: %d %s", rec.Code, rec.Body.String())
	}
}

func TestErrorRate(t *testing.T) {
	tests := []struct {
		name                 string
		rate                 float64
		minFails, maxFails   int
		productsMustSucceeds bool
	}{
		{"never", 0, 0, 0, true},
		{"always", 1, 200, 200, false},
		{"half", 0.5, 60, 140, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHandler(Options{ErrorRate: tc.rate, Seed: 42})
			tok, _ := login(t, h, "carol")
			fails := 0
			for range 200 {
				do(t, h, "POST", "/api/cart", `{"product_id":2}`, "Authorization", "Bearer "+tok)
				rec := do(t, h, "POST", "/api/checkout", "", "Authorization", "Bearer "+tok)
				switch rec.Code {
				case 200:
				case 500:
					fails++
					if m := decode(t, rec); m["error"] != "payment gateway error" {
						t.Fatalf("500 body %v", m)
					}
				default:
					t.Fatalf("checkout: %d %s", rec.Code, rec.Body.String())
				}
			}
			if fails < tc.minFails || fails > tc.maxFails {
				t.Fatalf("%d of 200 checkouts failed, want %d..%d", fails, tc.minFails, tc.maxFails)
			}
			if tc.productsMustSucceeds {
				for range 200 {
					if rec := do(t, h, "GET", "/api/products/1", ""); rec.Code != 200 {
						t.Fatalf("product: %d", rec.Code)
					}
				}
			}
		})
	}
}

func TestSeedDeterministic(t *testing.T) {
	run := func(seed int64) string {
		h := NewHandler(Options{ErrorRate: 0.3, Seed: seed})
		tok, _ := login(t, h, "dave")
		var b strings.Builder
		b.WriteString(tok)
		for range 50 {
			do(t, h, "POST", "/api/cart", `{"product_id":2}`, "Authorization", "Bearer "+tok)
			rec := do(t, h, "POST", "/api/checkout", "", "Authorization", "Bearer "+tok)
			b.WriteByte(byte('0' + rec.Code/100))
		}
		return b.String()
	}
	a, b, c := run(7), run(7), run(8)
	if a != b {
		t.Fatalf("same seed, different outcomes:\n%s\n%s", a, b)
	}
	if a == c {
		t.Fatalf("different seeds, same outcomes: %s", a)
	}
}

func TestLatency(t *testing.T) {
	r := newRNG(1)
	if d := r.latency(latCheckout, 0); d != 0 {
		t.Fatalf("scale 0: %v", d)
	}
	var minD, maxD time.Duration = time.Hour, 0
	for range 10000 {
		d := r.latency(latCheckout, 1)
		minD, maxD = min(minD, d), max(maxD, d)
	}
	if minD < latCheckout/2 || maxD > latCheckout*15 || maxD < latCheckout*3/2 {
		t.Fatalf("checkout latency range %v..%v", minD, maxD)
	}
	if d := r.latency(latCheckout, 0.5); d > latCheckout*15/2 {
		t.Fatalf("scale 0.5: %v", d)
	}

	// The handler really waits (a lower bound only: the machine may be slow).
	h := NewHandler(Options{LatencyScale: 1, Seed: 3})
	tok, _ := login(t, h, "erin")
	do(t, h, "POST", "/api/cart", `{"product_id":2}`, "Authorization", "Bearer "+tok)
	start := time.Now()
	if rec := do(t, h, "POST", "/api/checkout", "", "Authorization", "Bearer "+tok); rec.Code != 200 {
		t.Fatalf("checkout: %d", rec.Code)
	}
	if el := time.Since(start); el < latCheckout/2 {
		t.Fatalf("checkout took %v, want ≥ %v", el, latCheckout/2)
	}
	// /health never waits.
	start = time.Now()
	for range 100 {
		do(t, h, "GET", "/health", "")
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("100 health checks took %v", el)
	}
}

func TestCancelledRequestWritesNothing(t *testing.T) {
	h := NewHandler(Options{LatencyScale: 100})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest("GET", "/api/products", nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() { h.ServeHTTP(rec, req); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("handler ignored the cancelled context")
	}
	if rec.Body.Len() != 0 {
		t.Fatalf("wrote %q", rec.Body.String())
	}
}

// TestConcurrentFlow runs the cookie flow over real loopback HTTP from
// several goroutines (run it with -race).
func TestConcurrentFlow(t *testing.T) {
	srv := httptest.NewServer(NewHandler(Options{Seed: 1}))
	defer srv.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jar, _ := cookiejar.New(nil)
			cl := &http.Client{Jar: jar, Timeout: 10 * time.Second}
			post := func(path, body string) (int, error) {
				resp, err := cl.Post(srv.URL+path, "application/json", strings.NewReader(body))
				if err != nil {
					return 0, err
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode, nil
			}
			if code, err := post("/api/login", `{"username":"u`+string(rune('0'+i))+`","password":"secret"}`); err != nil || code != 200 {
				errs <- err
				return
			}
			for range 20 {
				if code, err := post("/api/cart", `{"product_id":`+string(rune('1'+i))+`}`); err != nil || code != 200 {
					errs <- err
					return
				}
				if code, err := post("/api/checkout", ""); err != nil || code != 200 {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("worker failed: %v", err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeListener(ctx, ln, Options{}, log) }()

	url := "http://" + ln.Addr().String()
	var resp *http.Response
	for i := range 50 { // the server goroutine may not be accepting yet
		resp, err = http.Get(url + "/health")
		if err == nil {
			break
		}
		time.Sleep(time.Duration(i+1) * 10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("health: %d", resp.StatusCode)
	}
	if !strings.Contains(logs.String(), "url="+url) {
		t.Errorf("log lacks the URL %s:\n%s", url, logs.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := http.Get(url + "/health"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

func TestServeListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := Serve(context.Background(), ln.Addr().String(), Options{}, log); err == nil {
		t.Fatal("Serve on a busy port returned nil")
	}
}

func TestURL(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"0.0.0.0:80", "http://127.0.0.1:80"},
		{"[::]:8080", "http://127.0.0.1:8080"},
		{"[::1]:9", "http://[::1]:9"},
	}
	for _, tc := range tests {
		a, err := net.ResolveTCPAddr("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := URL(a); got != tc.want {
			t.Errorf("URL(%s) = %s, want %s", tc.addr, got, tc.want)
		}
	}
}

func BenchmarkProducts(b *testing.B) {
	h := NewHandler(Options{})
	req := httptest.NewRequest("GET", "/api/products/42", nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}

func BenchmarkProductList(b *testing.B) {
	h := NewHandler(Options{})
	req := httptest.NewRequest("GET", "/api/products?page=3", nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}
