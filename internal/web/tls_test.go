package web

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/testcert"
)

// loopbackCert writes a certificate for 127.0.0.1 (from testcert) and its key,
// and returns their paths and a pool that trusts it.
func loopbackCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	ca := testcert.NewCA(t)
	certPEM, keyPEM, _ := ca.Issue(t, "stampede test")
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, []byte(certPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, []byte(keyPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, ca.Pool
}

func TestServeTLSWithAuth(t *testing.T) {
	f := newFixture(t, "admin:pw", false)
	certFile, keyFile, pool := loopbackCert(t)
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- f.srv.Serve(ctx, ln, certFile, keyFile) }()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://" + ln.Addr().String()

	res, err := client.Get(base + "/stats/requests")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("over TLS without credentials: %d", res.StatusCode)
	}
	req, _ := http.NewRequest("GET", base+"/", nil)
	req.SetBasicAuth("admin", "pw")
	res, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.TLS == nil || len(b) < 100 {
		t.Fatalf("page over TLS: %d, %d bytes", res.StatusCode, len(b))
	}
	// Plain HTTP to the TLS port does not get the page.
	if res, err := http.Get("http://" + ln.Addr().String() + "/"); err == nil {
		res.Body.Close()
		if res.StatusCode == 200 {
			t.Fatal("plain HTTP served by the TLS listener")
		}
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
}

func TestServeBadCertificate(t *testing.T) {
	f := newFixture(t, "", false)
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	missing := filepath.Join(t.TempDir(), "none.pem")
	if err := f.srv.Serve(context.Background(), ln, missing, missing); err == nil {
		t.Fatal("Serve accepted a missing certificate")
	}
}
