package httpclient

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stampede-load/stampede/internal/testcert"
)

// A request's TLS settings replace the client's: verification can be
// turned off (or on) per request, and a client certificate presented.
// Connections made with one setting never carry a request of another.
func TestPerRequestTLS(t *testing.T) {
	ca := testcert.NewCA(t)
	_, _, serverCert := ca.Issue(t, "server")
	_, _, alice := ca.Issue(t, "alice")
	_, _, bob := ca.Issue(t, "bob")
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool}
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	yes, no := true, false
	skip := func(c *tls.Certificate) *TLSConfig { return &TLSConfig{SkipVerify: &yes, Certificate: c} }
	forEach(t, func(t *testing.T, o Options) {
		conns.Store(0)
		c := New(o)
		defer c.CloseIdle()
		if _, err := c.Do(context.Background(), &Request{Method: "GET", URL: srv.URL}); err == nil ||
			!strings.Contains(err.Error(), "certificate") || !strings.Contains(err.Error(), "verify=False or --insecure-skip-verify") {
			t.Errorf("unknown CA, verifying: error %v, want an explained certificate error", err)
		}
		if _, err := c.Do(context.Background(), &Request{Method: "GET", URL: srv.URL, TLS: skip(nil)}); err == nil {
			t.Error("the server requires a client certificate, but a request without one succeeded")
		}
		conns.Store(0)
		a, b := skip(&alice), skip(&bob)
		for i, tc := range []struct {
			tls  *TLSConfig
			want string
		}{{a, "alice"}, {b, "bob"}, {a, "alice"}, {b, "bob"}} {
			r := do(t, c, &Request{Method: "GET", URL: srv.URL, TLS: tc.tls})
			if string(r.Body) != tc.want {
				t.Errorf("request %d: server saw client %q, want %q", i, r.Body, tc.want)
			}
		}
		if n := conns.Load(); n != 2 {
			t.Errorf("%d connections for two client certificates used twice each, want 2", n)
		}
		// verification on for one request of a client that skips it
		o.InsecureSkipVerify = true
		lax := New(o)
		defer lax.CloseIdle()
		if _, err := lax.Do(context.Background(), &Request{Method: "GET", URL: srv.URL, TLS: &TLSConfig{SkipVerify: &no, Certificate: &alice}}); err == nil {
			t.Error("SkipVerify=false did not verify")
		}
	})
}
