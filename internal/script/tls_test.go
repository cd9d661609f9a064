package script

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/internal/testcert"
)

// verify= per request and per user class, against a server whose
// certificate no system CA signed.
func TestVerify(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, `
def t(u):
    u.http.get("/default")
    u.http.get("/off", verify=False)
lax = user(tasks=[t], verify=False)
def strict_task(u):
    u.http.get("/on", verify=True)
    u.http.get("/class")
strict = user(tasks=[t])
strict_in_lax = user(tasks=[strict_task], verify=False)
`, Options{})
			h.vuWith(1, "strict", srv.URL, c.opts).RunTask(context.Background())
			h.vuWith(2, "lax", srv.URL, c.opts).RunTask(context.Background())
			h.vuWith(3, "strict_in_lax", srv.URL, c.opts).RunTask(context.Background())
			d := h.flush()
			fails := map[string]int64{}
			for k, n := range d.Errors {
				if !strings.Contains(k.Error, "certificate") || !strings.Contains(k.Error, "verify=False or --insecure-skip-verify") {
					t.Errorf("%s: error %q does not explain the certificate problem", k.Name, k.Error)
				}
				fails[k.Name] += n
			}
			// /default fails for strict, passes for lax; /off passes for both;
			// /on fails even in a lax class; /class passes in the lax class
			if e := entry(t, d, "GET", "/default"); e.Requests != 2 || fails["/default"] != 1 {
				t.Errorf("/default: %d requests, %d failures", e.Requests, fails["/default"])
			}
			if e := entry(t, d, "GET", "/off"); e.Requests != 2 || fails["/off"] != 0 {
				t.Errorf("/off: %d requests, %d failures", e.Requests, fails["/off"])
			}
			if fails["/on"] != 1 || fails["/class"] != 0 {
				t.Errorf("failures: %v", fails)
			}
		})
	}
}

// clientCertServer requires a client certificate signed by ca and
// answers with its subject's common name.
func clientCertServer(t *testing.T, ca *testcert.CA) *httptest.Server {
	_, _, serverCert := ca.Issue(t, "server")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// cert= per request and per user class: the server requires a client
// certificate from its CA and answers with its subject.
func TestClientCertificates(t *testing.T) {
	ca := testcert.NewCA(t)
	srv := clientCertServer(t, ca)
	aliceCert, aliceKey, _ := ca.Issue(t, "alice")
	bobCert, bobKey, _ := ca.Issue(t, "bob")
	vars := map[string]string{"alice_cert": aliceCert, "alice_key": aliceKey, "bob": bobCert + bobKey}
	src := `
ALICE = (vars["alice_cert"], vars["alice_key"])
def t(u):
    who = [u.http.get("/").text, u.http.get("/", cert=vars["bob"]).text, u.http.get("/").text]
    u.state["who"] = who
    r = u.http.get("/", cert=("client.crt", "client.key"), name="bundle")
    u.state["bundle"] = [r.text, r.error]
c = user(tasks=[t], cert=ALICE, verify=False)
`
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			s := mustLoad(t, src, Options{Vars: vars})
			// what data.read("client.crt") puts among the script's files
			s.Files["client.crt"], s.Files["client.key"] = []byte(bobCert), []byte(bobKey)
			h := &harness{t: t, s: s, rec: stats.NewRecorder(1, time.Now(), false)}
			// users share the script's certificates: run some at once
			var wg sync.WaitGroup
			vus := make([]*VU, 4)
			for i := range vus {
				vus[i] = h.vuWith(i+1, "c", srv.URL, c.opts)
				wg.Go(func() { vus[i].RunTask(context.Background()) })
			}
			wg.Wait()
			if d := h.flush(); len(d.Exceptions) > 0 || len(d.Errors) > 0 {
				t.Fatalf("exceptions %v errors %v", d.Exceptions, d.Errors)
			}
			for _, v := range vus {
				st := stateOf(t, v)
				if got, _, _ := st.Get(starlarkStr("who")); got.String() != `["alice", "bob", "alice"]` {
					t.Errorf("the server saw clients %s", got)
				}
				if got, _, _ := st.Get(starlarkStr("bundle")); got.String() != `["bob", None]` {
					t.Errorf("cert from the bundle's files: %s", got)
				}
			}
		})
	}
	// without a certificate the handshake fails: a failed request
	h := newHarness(t, "def t(u):\n    u.http.get('/', verify=False)\nc = user(tasks=[t])\n", Options{})
	h.vuWith(1, "c", srv.URL, httpclient.Options{}).RunTask(context.Background())
	if d := h.flush(); len(d.Errors) != 1 {
		t.Errorf("no client certificate: errors %v", d.Errors)
	}
}

// verify= a CA bundle trusts that CA instead of the system's: a server
// whose certificate it signed passes, where verify=True fails.
func TestVerifyWithCABundle(t *testing.T) {
	ca := testcert.NewCA(t)
	_, _, serverCert := ca.Issue(t, "server")
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, `
def t(u):
    u.http.get("/class")
    u.http.get("/system", verify=True)
    u.http.get("/request", verify=vars["ca"])
c = user(tasks=[t], verify=vars["ca"])
`, Options{Vars: map[string]string{"ca": caPEM}})
			h.vuWith(1, "c", srv.URL, c.opts).RunTask(context.Background())
			d := h.flush()
			if len(d.Exceptions) > 0 {
				t.Fatal(d.Exceptions)
			}
			for name, fails := range map[string]int64{"/class": 0, "/system": 1, "/request": 0} {
				if e := entry(t, d, "GET", name); e.Failures != fails {
					t.Errorf("%s: %d failures, want %d (%v)", name, e.Failures, fails, d.Errors)
				}
			}
		})
	}
}

// The usual way: certificate files beside the script, read with
// data.read so they ship with it; cert= then takes their text or their
// paths, and a class's cert= and verify= (a CA bundle) may name them too.
func TestClientCertificateFromScriptFiles(t *testing.T) {
	ca := testcert.NewCA(t)
	srv := clientCertServer(t, ca)
	certPEM, keyPEM, _ := ca.Issue(t, "carol")
	dir := t.TempDir()
	files := map[string]string{
		"certs/client.crt": certPEM, "certs/client.key": keyPEM,
		"certs/ca.pem": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})),
		"test.star": `
CERT = (data.read("certs/client.crt"), data.read("certs/client.key"))
data.read("certs/ca.pem")
def t(u):
    u.state["who"] = [u.http.get("/").text, u.http.get("/", cert=CERT).text, u.http.get("/", cert=("certs/client.crt", "./certs/client.key")).text]
c = user(tasks=[t], cert=("certs/client.crt", "certs/client.key"), verify="certs/ca.pem")
`}
	for name, content := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s, err := LoadFile(filepath.Join(dir, "test.star"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	// a worker loads the files its master shipped: the certificates are among them
	w, err := LoadFiles("test.star", s.Files, Options{})
	if err != nil {
		t.Fatalf("worker: %v", err)
	}
	for _, s := range []*Script{s, w} {
		h := &harness{t: t, s: s, rec: stats.NewRecorder(1, time.Now(), false)}
		v := h.vuWith(1, "c", srv.URL, httpclient.Options{})
		v.RunTask(context.Background())
		if d := h.flush(); len(d.Exceptions) > 0 || len(d.Errors) > 0 {
			t.Fatalf("exceptions %v errors %v", d.Exceptions, d.Errors)
		}
		if got, _, _ := stateOf(t, v).Get(starlarkStr("who")); got.String() != `["carol", "carol", "carol"]` {
			t.Errorf("the server saw %s", got)
		}
	}
}

func TestCertErrors(t *testing.T) {
	srv := newTarget(t)
	for _, tc := range []struct{ call, want string }{
		{`u.http.get("/", cert=("a.crt", "a.key"))`, `get: cert: "a.crt" is not among the script's files: read it at the top level with data.read("a.crt") so that it ships with the script to workers, or pass the PEM text`},
		{`u.http.get("/", cert=("../x.crt", "k"))`, `get: cert: "../x.crt": the file is outside the script's directory`},
		{`u.http.get("/", cert=("-----BEGIN CERTIFICATE-----\nxx", "-----BEGIN "))`, "get: cert: not a certificate and its private key"},
		{`u.http.get("/", cert=3)`, "get: cert: must be a (certificate, key) pair of strings, got int"},
		{`u.http.get("/", cert=("a",))`, "get: cert: must be a (certificate, key) pair of strings"},
		{`u.http.get("/", verify="ca.pem")`, `get: verify: "ca.pem" is not among the script's files`},
		{`u.http.get("/", verify="-----BEGIN CERTIFICATE-----\nxx")`, "get: verify: no PEM certificate in the CA bundle"},
		{`u.http.get("/", verify=1)`, "get: verify must be True, False or a CA bundle (PEM text or a file of the script), got int"},
	} {
		if msg, _ := callError(t, tc.call, srv.URL); !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %q, want %q", tc.call, msg, tc.want)
		}
	}
	for _, tc := range []struct{ src, want string }{
		{`c = user(tasks=[lambda u: None], cert=("client.crt", "client.key"))`, `user c: cert: "client.crt" is not among the script's files`},
		{`c = user(tasks=[lambda u: None], verify=1)`, "user: verify must be True, False or a CA bundle (PEM text or a file of the script), got int"},
	} {
		_, err := LoadFiles("t.star", map[string][]byte{"t.star": []byte(tc.src)}, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.src, err, tc.want)
		}
	}
}
