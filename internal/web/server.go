// Package web is Stampede's web UI and HTTP API: the page (embedded, no
// build step), Locust-compatible JSON and CSV endpoints, live updates over
// Server-Sent Events, Prometheus metrics, all behind optional HTTP basic
// auth and TLS. It drives an engine.Engine, local or a cluster master.
package web

import (
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/guard"
	"github.com/stampede-load/stampede/internal/logring"
	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/internal/uplot"
)

//go:embed static
var staticFS embed.FS

// Config configures a Server.
type Config struct {
	Engine *engine.Engine
	// Script gives the user classes of the picker and the tasks of /tasks.
	Script *script.Script
	// Defaults fill the start form and the fields a POST /swarm leaves out
	// (host, spawn rate).
	Defaults engine.Params
	// Auth, when set, protects every route with HTTP basic auth.
	Auth *Credentials
	// LoginLimit slows down password guessing (zero: the defaults of
	// package guard).
	LoginLimit guard.Config
	// AllowedHosts are the names, besides localhost and IP addresses, a
	// UI without Auth answers to (checkHost).
	AllowedHosts []string
	// Title is shown in the page header and the browser tab.
	Title string
	// Version is shown in the page footer.
	Version string
	// Report writes the HTML report of a summary; nil: not offered.
	Report func(w io.Writer, sum *stats.Summary) error
	// Document builds the JSON summary offered for download; nil: a
	// document with the statistics only.
	Document func(sum *stats.Summary) *output.Document
	// History keeps the rows of /stats/requests_full_history/csv; nil: not
	// offered. Its Tick must be one of the engine's OnTick hooks.
	History *History
	// UsersByClass reports the running users per class, for /tasks; nil:
	// ratios from the classes' weights.
	UsersByClass func() map[string]int
	// Interval between Server-Sent Events (default 1 s).
	Interval time.Duration
	Log      *slog.Logger
	// Logs, when set, are the process's recent log lines, for the Logs
	// tab (nil: the tab says there are none).
	Logs *logring.Ring
	// Vars are the command line's --var values: the start form's custom
	// parameters (api_vars.go). LoadScript loads the script again with
	// changed ones (nil: they cannot be changed).
	Vars       map[string]string
	LoadScript func(vars map[string]string) (*script.Script, error)
}

// Server is the web UI of one engine.
type Server struct {
	cfg     Config
	mux     *http.ServeMux
	assets  fs.FS
	classes []string

	logins *guard.Limiter // failed logins per client; nil without Auth

	mu       sync.Mutex
	deadline time.Time // when the run time set through Start ends (zero: none)
	cached   *stats.Summary
	cachedAt time.Time
}

// New returns a server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Engine == nil {
		return nil, errors.New("web: no engine")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Title == "" {
		cfg.Title = "Stampede"
	}
	if cfg.Defaults.SpawnRate <= 0 {
		cfg.Defaults.SpawnRate = 1
	}
	assets, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), assets: assets}
	if cfg.Script != nil {
		for _, c := range cfg.Script.Classes {
			s.classes = append(s.classes, c.Name)
		}
	}
	if cfg.Auth != nil {
		lc := cfg.LoginLimit
		lc.What, lc.Log = "web UI: failed logins", cfg.Log
		s.logins = guard.New(lc)
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /{$}", s.handleIndex)
	m.Handle("GET /assets/", http.StripPrefix("/assets/", s.assetHandler()))
	m.Handle("GET /assets/vendor/uplot/", http.StripPrefix("/assets/vendor/uplot/", noCache(http.FileServerFS(uplot.Files))))
	m.HandleFunc("GET /api/info", s.handleInfo)
	m.HandleFunc("GET /api/events", s.handleEvents)
	m.HandleFunc("POST /swarm", s.handleSwarm)
	m.HandleFunc("POST /stop", s.handleStop)
	m.HandleFunc("POST /stats/reset", s.handleReset)
	m.HandleFunc("GET /stats/requests", s.handleRequests)
	m.HandleFunc("GET /stats/requests/csv", s.csvHandler("requests", output.WriteStatsCSV))
	m.HandleFunc("GET /stats/failures/csv", s.csvHandler("failures", output.WriteFailuresCSV))
	m.HandleFunc("GET /exceptions/csv", s.csvHandler("exceptions", output.WriteExceptionsCSV))
	m.HandleFunc("GET /stats/regions/csv", s.csvHandler("regions", output.WriteRegionsCSV))
	m.HandleFunc("GET /stats/requests_full_history/csv", s.handleFullHistory)
	m.HandleFunc("GET /stats/summary.json", s.handleSummaryJSON)
	m.HandleFunc("GET /stats/report", s.handleReport)
	m.HandleFunc("GET /exceptions", s.handleExceptions)
	m.HandleFunc("GET /tasks", s.handleTasks)
	m.HandleFunc("GET /logs", s.handleLogs)
	m.Handle("GET /metrics", s.metricsHandler())
}

// Handler is the whole UI and API, behind auth when configured, else
// behind the Host check.
func (s *Server) Handler() http.Handler {
	var h http.Handler = s.mux
	h = rejectCrossOrigin(h)
	h = securityHeaders(h)
	if s.cfg.Auth != nil {
		return requireAuth(s.cfg.Auth, s.logins, h)
	}
	return checkHost(s.cfg.AllowedHosts, h)
}

// rejectCrossOrigin answers 403 to a POST another site's page makes a
// browser send. Basic auth alone does not stop that: the browser attaches
// cached credentials to a cross-site form POST, so any page the operator
// visits could start a test against a host of its choosing (CSRF). Browsers
// mark such requests with Sec-Fetch-Site (or an Origin that differs from
// Host); curl, scripts and Locust's clients send neither and keep working.
// GET, HEAD and OPTIONS change nothing here and pass.
func rejectCrossOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusForbidden, "", "cross-origin request refused: state changes come from the web UI's own page or from clients that send no Origin header")
	}))
	return cop.Handler(next)
}

// securityHeaders keeps the page out of frames and browsers from
// guessing content types; no CORS headers are ever sent.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

func (s *Server) assetHandler() http.Handler { return noCache(http.FileServerFS(s.assets)) }

// noCache wraps an asset handler: assets are embedded in the binary, so
// browsers revalidate cheaply and never keep one across versions.
func noCache(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	b, err := fs.ReadFile(s.assets, "index.html")
	if err != nil {
		http.Error(w, "index.html missing from the build", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}

// Start starts or edits the test as POST /swarm does, remembering the
// deadline so a later edit without a run time keeps it (the CLI's
// --autostart uses this).
func (s *Server) Start(ctx context.Context, p engine.Params) error {
	if err := s.cfg.Engine.Start(ctx, p); err != nil {
		return err
	}
	s.mu.Lock()
	if p.RunTime > 0 {
		s.deadline = time.Now().Add(p.RunTime)
	} else {
		s.deadline = time.Time{}
	}
	s.cached = nil
	s.mu.Unlock()
	return nil
}

// remaining is the run time left of the current test, 0 when none.
func (s *Server) remaining() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deadline.IsZero() {
		return 0
	}
	return time.Until(s.deadline)
}

// snapshot returns a summary at most 500 ms old, so many clients and
// scrapers cost one computation.
func (s *Server) snapshot() *stats.Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cached != nil && time.Since(s.cachedAt) < 500*time.Millisecond {
		return s.cached
	}
	s.cached = s.cfg.Engine.Snapshot(false)
	s.cachedAt = time.Now()
	return s.cached
}

func (s *Server) invalidate() {
	s.mu.Lock()
	s.cached = nil
	s.mu.Unlock()
}

// Listen binds the address, so a port in use is reported before anything
// else starts.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("web UI: %w", err)
	}
	return ln, nil
}

// Serve serves the UI on ln until ctx ends, then shuts down gracefully.
// With a certificate and key it serves HTTPS.
func (s *Server) Serve(ctx context.Context, ln net.Listener, certFile, keyFile string) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return fmt.Errorf("web UI: --tls-cert/--tls-key: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("web UI: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if s.logins != nil {
		s.logins.Close() // logs the failures of the last interval
	}
	return nil
}
