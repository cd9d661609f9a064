// Package demo is Stampede's built-in load-test target (`stampede demo`): a
// small shop API plus go-httpbin, so that newcomers can try a load test with
// nothing else installed.
//
// Routes (see the home page at GET / for the same list):
//
//	GET  /                      HTML home page (featured products, this list)
//	GET  /health                {"status":"ok"}; never slow, never fails
//	GET  /api/products          JSON page of products; ?page=1&per_page=10&q=lamp
//	GET  /api/products/{id}     JSON product, ids 1..NumProducts; 404 otherwise
//	POST /api/login             {"username":"any","password":"secret"} → token + "session" cookie; 401 otherwise
//	POST /api/logout            ends the session
//	GET  /api/cart              the session's cart (401 without a session)
//	POST /api/cart              {"product_id":3,"quantity":1} adds to the cart
//	DELETE /api/cart            empties the cart
//	POST /api/checkout          places an order from the cart (slow; fails with Options.ErrorRate)
//	/httpbin/...                go-httpbin (e.g. /httpbin/get, /httpbin/status/418)
//	/get, /status/418, ...      go-httpbin at the root, for every path not listed above
//
// Any username works with the password "secret". A session is named by the
// "session" cookie that login sets, or by the header
// "Authorization: Bearer <token>" with the token login returns.
//
// The demo target is not a security boundary: tokens are predictable when the
// seed is known and sessions live in memory.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mccutchen/go-httpbin/v2/httpbin"
)

// Options shape the demo target's behaviour. The zero value is fully
// deterministic: no added latency, no injected errors. DefaultOptions gives
// the realistic behaviour of `stampede demo`.
type Options struct {
	// LatencyScale multiplies the simulated service times (about 2–8 ms for
	// most API routes, about 40 ms for checkout, with a slow tail on 1% of
	// requests). 0 adds no latency; 1 is the default; 2 is twice as slow.
	LatencyScale float64
	// ErrorRate is the probability (0..1) that POST /api/checkout answers
	// 500. GET /api/products/{id} answers 503 with a tenth of it.
	// 0 injects no errors.
	ErrorRate float64
	// Seed seeds the random source for latency, errors and tokens. 0 picks
	// a random seed.
	Seed int64
}

// DefaultOptions returns the options of `stampede demo`: realistic latency
// and 1% failed checkouts.
func DefaultOptions() Options {
	return Options{LatencyScale: 1, ErrorRate: 0.01}
}

// Simulated base service times at LatencyScale 1.
const (
	latHome     = 1 * time.Millisecond
	latList     = 4 * time.Millisecond
	latSearch   = 6 * time.Millisecond
	latProduct  = 2 * time.Millisecond
	latLogin    = 8 * time.Millisecond
	latCart     = 2 * time.Millisecond
	latCartAdd  = 3 * time.Millisecond
	latCheckout = 40 * time.Millisecond
)

const (
	// SessionCookie is the name of the cookie POST /api/login sets.
	SessionCookie = "session"
	// Password is the password that POST /api/login accepts, with any
	// non-empty username.
	Password = "secret"

	maxRequestBody = 64 << 10
	maxCartQty     = 99
)

// Immutable header values shared by all responses (never mutated).
var (
	hdrJSON = []string{"application/json; charset=utf-8"}
	hdrHTML = []string{"text/html; charset=utf-8"}
)

type handler struct {
	opts     Options
	rng      *rng
	catalog  *catalog
	sessions *sessionStore
	homeHTML []byte
	mux      *http.ServeMux
}

// NewHandler returns the demo target's handler. It is safe for concurrent use
// and holds all its state (random source, sessions); two handlers share
// nothing.
func NewHandler(opts Options) http.Handler {
	if opts.LatencyScale < 0 {
		opts.LatencyScale = 0
	}
	h := &handler{
		opts:     opts,
		rng:      newRNG(opts.Seed),
		catalog:  newCatalog(),
		sessions: newSessionStore(),
		mux:      http.NewServeMux(),
	}
	h.homeHTML = renderHome(h.catalog)

	// Redirects only to this machine: the demo may be bound to a public
	// address, and must not become an open redirector.
	local := []string{"127.0.0.1", "localhost", "::1"}
	binPrefixed := httpbin.New(httpbin.WithPrefix("/httpbin"), httpbin.WithAllowedRedirectDomains(local))
	binRoot := httpbin.New(httpbin.WithAllowedRedirectDomains(local))

	m := h.mux
	m.HandleFunc("GET /{$}", h.home)
	m.HandleFunc("/health", h.health)
	m.HandleFunc("/api/products", h.products)
	m.HandleFunc("/api/products/{id}", h.product)
	m.HandleFunc("/api/login", h.login)
	m.HandleFunc("/api/logout", h.logout)
	m.HandleFunc("/api/cart", h.cart)
	m.HandleFunc("/api/checkout", h.checkout)
	m.HandleFunc("/api/", h.apiNotFound)
	m.Handle("/httpbin/", binPrefixed)
	m.Handle("/httpbin", http.RedirectHandler("/httpbin/", http.StatusMovedPermanently))
	m.Handle("/", binRoot)
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// delay sleeps for a simulated service time; false means the client went
// away and nothing should be written.
func (h *handler) delay(r *http.Request, base time.Duration) bool {
	d := h.rng.latency(base, h.opts.LatencyScale)
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// allow answers 405 unless r's method is one of methods (GET implies HEAD).
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m || (m == http.MethodGet && r.Method == http.MethodHead) {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeError(w, http.StatusMethodNotAllowed, "method not allowed")
	return false
}

func writeRaw(w http.ResponseWriter, code int, body []byte) {
	hd := w.Header()
	hd["Content-Type"] = hdrJSON
	hd["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encoding response: "+err.Error())
		return
	}
	writeRaw(w, code, append(b, '\n'))
}

type errorBody struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(errorBody{Error: msg, Status: code})
	writeRaw(w, code, append(b, '\n'))
}

func (h *handler) home(w http.ResponseWriter, r *http.Request) {
	if !h.delay(r, latHome) {
		return
	}
	hd := w.Header()
	hd["Content-Type"] = hdrHTML
	hd["Content-Length"] = []string{strconv.Itoa(len(h.homeHTML))}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(h.homeHTML)
}

var healthBody = []byte(`{"status":"ok"}` + "\n")

func (h *handler) health(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	writeRaw(w, http.StatusOK, healthBody)
}

func (h *handler) apiNotFound(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusNotFound, "no such API route")
}

// intParam parses a positive integer query parameter; absent means def.
func intParam(q url.Values, name string, def, max int) (int, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, fmt.Errorf("%s must be an integer from 1 to %d", name, max)
	}
	return n, nil
}

func (h *handler) products(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	var page, perPage int
	var q string
	if r.URL.RawQuery != "" {
		query := r.URL.Query()
		var err error
		if page, err = intParam(query, "page", 1, 1_000_000); err == nil {
			perPage, err = intParam(query, "per_page", defaultPerPage, maxPerPage)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		q = query.Get("q")
	} else {
		page, perPage = 1, defaultPerPage
	}
	base := latList
	if q != "" {
		base = latSearch
	}
	if !h.delay(r, base) {
		return
	}
	if q == "" && perPage == defaultPerPage {
		pj := h.catalog.pageJSON
		writeRaw(w, http.StatusOK, pj[min(page, len(pj))-1])
		return
	}
	writeJSON(w, http.StatusOK, h.catalog.list(q, page, perPage))
}

func (h *handler) product(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || h.catalog.get(id) == nil {
		writeError(w, http.StatusNotFound, "product not found")
		return
	}
	if !h.delay(r, latProduct) {
		return
	}
	if h.rng.chance(h.opts.ErrorRate / 10) {
		writeError(w, http.StatusServiceUnavailable, "inventory service unavailable")
		return
	}
	writeRaw(w, http.StatusOK, h.catalog.detailJSON[id-1])
}

// readJSON decodes a JSON request body into v, or answers 400.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginResponse struct {
	Token    string `json:"token"`
	Username string `json:"username"`
}

func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	var req loginRequest
	ct := r.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data") {
		r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
		req.Username, req.Password = r.PostFormValue("username"), r.PostFormValue("password")
	} else if !readJSON(w, r, &req) {
		return
	}
	if !h.delay(r, latLogin) {
		return
	}
	if strings.TrimSpace(req.Username) == "" || req.Password != Password {
		writeError(w, http.StatusUnauthorized, "invalid username or password")
		return
	}
	token := h.rng.token()
	h.sessions.create(token, req.Username)
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	writeJSON(w, http.StatusOK, loginResponse{Token: token, Username: req.Username})
}

// sessionToken returns the session token of r: the session cookie, else a
// bearer token.
func sessionToken(r *http.Request) string {
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		return c.Value
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

func unauthorized(w http.ResponseWriter) {
	writeError(w, http.StatusUnauthorized, "login required: POST /api/login first")
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	if tok := sessionToken(r); tok != "" {
		h.sessions.delete(tok)
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1})
	writeRaw(w, http.StatusOK, []byte(`{"status":"logged out"}`+"\n"))
}

type cartItem struct {
	ProductID int     `json:"product_id"`
	Name      string  `json:"name"`
	Quantity  int     `json:"quantity"`
	Price     float64 `json:"price"`
}

type cartResponse struct {
	Items      []cartItem `json:"items"`
	Count      int        `json:"count"`
	Total      float64    `json:"total"`
	TotalCents int        `json:"total_cents"`
	Currency   string     `json:"currency"`
}

func (h *handler) cartView(s *session) cartResponse {
	out := cartResponse{Items: make([]cartItem, 0, len(s.cart)), Currency: "EUR"}
	for _, l := range s.cart {
		p := h.catalog.get(l.productID)
		out.Items = append(out.Items, cartItem{ProductID: p.ID, Name: p.Name, Quantity: l.quantity, Price: p.Price})
		out.Count += l.quantity
		out.TotalCents += l.quantity * p.PriceCents
	}
	out.Total = float64(out.TotalCents) / 100
	return out
}

type cartAddRequest struct {
	ProductID int  `json:"product_id"`
	Quantity  *int `json:"quantity"`
}

func (h *handler) cart(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodPost, http.MethodDelete) {
		return
	}
	tok := sessionToken(r)
	if !h.sessions.with(tok, nil) {
		unauthorized(w)
		return
	}
	var req cartAddRequest
	base := latCart
	if r.Method == http.MethodPost {
		if !readJSON(w, r, &req) {
			return
		}
		if h.catalog.get(req.ProductID) == nil {
			writeError(w, http.StatusNotFound, "product not found")
			return
		}
		if req.Quantity == nil {
			one := 1
			req.Quantity = &one
		}
		if *req.Quantity < 1 || *req.Quantity > maxCartQty {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("quantity must be from 1 to %d", maxCartQty))
			return
		}
		base = latCartAdd
	}
	if !h.delay(r, base) {
		return
	}
	var view cartResponse
	ok := h.sessions.with(tok, func(s *session) {
		switch r.Method {
		case http.MethodPost:
			found := false
			for i := range s.cart {
				if s.cart[i].productID == req.ProductID {
					s.cart[i].quantity = min(s.cart[i].quantity+*req.Quantity, maxCartQty)
					found = true
					break
				}
			}
			if !found {
				s.cart = append(s.cart, cartLine{productID: req.ProductID, quantity: *req.Quantity})
			}
		case http.MethodDelete:
			s.cart = s.cart[:0]
		}
		view = h.cartView(s)
	})
	if !ok { // the session was dropped while we slept
		unauthorized(w)
		return
	}
	writeJSON(w, http.StatusOK, view)
}

type orderResponse struct {
	OrderID    string  `json:"order_id"`
	Status     string  `json:"status"`
	Items      int     `json:"items"`
	Total      float64 `json:"total"`
	TotalCents int     `json:"total_cents"`
	Currency   string  `json:"currency"`
}

func (h *handler) checkout(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	tok := sessionToken(r)
	if !h.sessions.with(tok, nil) {
		unauthorized(w)
		return
	}
	if !h.delay(r, latCheckout) {
		return
	}
	if h.rng.chance(h.opts.ErrorRate) {
		// The cart is kept: a retry can succeed.
		writeError(w, http.StatusInternalServerError, "payment gateway error")
		return
	}
	var order orderResponse
	empty := false
	ok := h.sessions.with(tok, func(s *session) {
		if len(s.cart) == 0 {
			empty = true
			return
		}
		v := h.cartView(s)
		order = orderResponse{Status: "confirmed", Items: v.Count, Total: v.Total, TotalCents: v.TotalCents, Currency: v.Currency}
		s.cart = s.cart[:0]
	})
	switch {
	case !ok:
		unauthorized(w)
	case empty:
		writeError(w, http.StatusBadRequest, "cart is empty")
	default:
		order.OrderID = "ord_" + h.rng.token()[:16]
		writeJSON(w, http.StatusOK, order)
	}
}

// Serve listens on addr (host:port, e.g. "127.0.0.1:8080"; port 0 picks a
// free one), logs the URL it serves on, and serves the demo target until ctx
// is cancelled, then shuts down gracefully. It returns nil after a clean
// shutdown.
func Serve(ctx context.Context, addr string, opts Options, log *slog.Logger) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("demo: listen on %s: %w", addr, err)
	}
	return ServeListener(ctx, ln, opts, log)
}

// ServeListener is Serve on a listener the caller opened (which it closes).
func ServeListener(ctx context.Context, ln net.Listener, opts Options, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	srv := &http.Server{
		Handler:           NewHandler(opts),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	base := URL(ln.Addr())
	log.Info("demo target listening", "url", base, "login", `any username, password "secret"`,
		"latency_scale", opts.LatencyScale, "error_rate", opts.ErrorRate)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("demo: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("demo: shutdown: %w", err)
	}
	log.Info("demo target stopped", "url", base)
	return nil
}

// URL returns the base URL for a listener address; an unspecified host
// (0.0.0.0, ::) is shown as 127.0.0.1.
func URL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
