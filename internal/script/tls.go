package script

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/stampede-load/stampede/internal/httpclient"
	"go.starlark.net/starlark"
)

// verify= as given: not given, True (or a CA bundle), False.
const (
	verifyDefault int8 = iota
	verifyOn
	verifyOff
)

// maxClientCerts bounds the client certificates (and CA bundles) a script
// may use: each is parsed once and kept for the whole test.
const maxClientCerts = 256

// tlsCache holds the client certificates and CA bundles a script uses and
// the TLS settings made of them, shared by all its users. A key pair is
// parsed once, not per request, and each distinct setting is one
// *httpclient.TLSConfig, which is what keeps a user's connections apart
// per setting.
type tlsCache struct {
	mu      sync.Mutex
	certs   map[[2]string]*tls.Certificate
	cas     map[string]*x509.CertPool
	configs map[tlsKey]*httpclient.TLSConfig
}

// tlsKey is one TLS setting: verify= (with its CA bundle) and cert=.
type tlsKey struct {
	verify int8
	ca     *x509.CertPool
	cert   *tls.Certificate
}

// setCookiesAndTLS applies cookies=, verify= and cert= to req; verify=
// and cert= replace those of the user class.
func (v *VU) setCookiesAndTLS(fn string, req *httpclient.Request, a *reqArgs) error {
	if c := a.kw[kwCookies]; c != nil {
		var err error
		if req.Cookies, err = cookieArgs(c); err != nil {
			return fmt.Errorf("%s: cookies: %w", fn, err)
		}
	}
	req.TLS = v.Class.TLS
	verifyArg, certArg := a.kw[kwVerify], a.kw[kwCert]
	if verifyArg == nil && certArg == nil {
		return nil
	}
	k, err := v.script.tlsKey(v.Class.tls, verifyArg, certArg)
	if err != nil {
		return fmt.Errorf("%s: %w", fn, err)
	}
	req.TLS = v.script.tlsConfig(k)
	return nil
}

// checkVerify checks the type of a verify= argument.
func checkVerify(v starlark.Value) error {
	switch v.(type) {
	case starlark.Bool, starlark.String:
		return nil
	}
	return fmt.Errorf("verify must be True, False or a CA bundle (PEM text or a file of the script), got %s", v.Type())
}

// tlsKey is base with the verify= and cert= arguments given (nil: keep
// base's).
func (s *Script) tlsKey(base tlsKey, verify, cert starlark.Value) (tlsKey, error) {
	k := base
	if verify != nil {
		if err := checkVerify(verify); err != nil {
			return k, err
		}
		k.verify, k.ca = verifyOn, nil
		switch x := verify.(type) {
		case starlark.Bool:
			if !x {
				k.verify = verifyOff
			}
		case starlark.String:
			ca, err := s.caBundle(string(x))
			if err != nil {
				return k, fmt.Errorf("verify: %w", err)
			}
			k.ca = ca
		}
	}
	if cert != nil {
		c, err := s.certificate(cert)
		if err != nil {
			return k, fmt.Errorf("cert: %w", err)
		}
		k.cert = c
	}
	return k, nil
}

// resolveTLS reads a class's verify= and cert= once the script's files
// are known (both may name files of the bundle).
func (s *Script) resolveTLS(c *UserClass) error {
	if c.verifyArg == nil && c.certArg == nil {
		return nil
	}
	k, err := s.tlsKey(tlsKey{}, c.verifyArg, c.certArg)
	if err != nil {
		return err
	}
	c.tls, c.TLS = k, s.tlsConfig(k)
	return nil
}

// caBundle reads verify="...": the CA certificates to trust instead of
// the system's, as PEM text or the path of a file of the bundle.
func (s *Script) caBundle(v string) (*x509.CertPool, error) {
	s.tls.mu.Lock()
	defer s.tls.mu.Unlock()
	if p := s.tls.cas[v]; p != nil {
		return p, nil
	}
	if len(s.tls.cas) >= maxClientCerts {
		return nil, fmt.Errorf("a test may use at most %d CA bundles", maxClientCerts)
	}
	b, err := s.pemOrFile(v)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, errors.New("no PEM certificate in the CA bundle")
	}
	if s.tls.cas == nil {
		s.tls.cas = map[string]*x509.CertPool{}
	}
	s.tls.cas[v] = pool
	return pool, nil
}

// certificate reads cert=: a (certificate, key) pair, or one string
// holding both, each the PEM text itself or the path of a file of the
// script's bundle.
func (s *Script) certificate(v starlark.Value) (*tls.Certificate, error) {
	var pair [2]string
	switch x := v.(type) {
	case starlark.String:
		pair = [2]string{string(x), string(x)}
	case starlark.Tuple, *starlark.List:
		seq := x.(starlark.Indexable)
		var ok1, ok2 bool
		if seq.Len() == 2 {
			pair[0], ok1 = starlark.AsString(seq.Index(0))
			pair[1], ok2 = starlark.AsString(seq.Index(1))
		}
		if !ok1 || !ok2 {
			return nil, errors.New("must be a (certificate, key) pair of strings: PEM texts or files of the script")
		}
	default:
		return nil, fmt.Errorf("must be a (certificate, key) pair of strings, got %s", v.Type())
	}
	s.tls.mu.Lock()
	defer s.tls.mu.Unlock()
	if c := s.tls.certs[pair]; c != nil {
		return c, nil
	}
	if len(s.tls.certs) >= maxClientCerts {
		return nil, fmt.Errorf("a test may use at most %d client certificates", maxClientCerts)
	}
	var pem [2][]byte
	for i, p := range pair {
		b, err := s.pemOrFile(p)
		if err != nil {
			return nil, err
		}
		pem[i] = b
	}
	c, err := tls.X509KeyPair(pem[0], pem[1])
	if err != nil {
		return nil, fmt.Errorf("not a certificate and its private key: %w", err)
	}
	if s.tls.certs == nil {
		s.tls.certs = map[[2]string]*tls.Certificate{}
	}
	s.tls.certs[pair] = &c
	return &c, nil
}

// pemOrFile is p itself if it is PEM text, else the content of the
// bundle's file p.
func (s *Script) pemOrFile(p string) ([]byte, error) {
	if strings.Contains(p, "-----BEGIN ") {
		return []byte(p), nil
	}
	name, err := resolveLoad("", p)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", p, err)
	}
	b, ok := s.Files[name]
	if !ok {
		return nil, fmt.Errorf("%q is not among the script's files: read it at the top level with "+
			"data.read(%q) so that it ships with the script to workers, or pass the PEM text", p, p)
	}
	return b, nil
}

// tlsConfig is the shared TLS setting for k.
func (s *Script) tlsConfig(k tlsKey) *httpclient.TLSConfig {
	s.tls.mu.Lock()
	defer s.tls.mu.Unlock()
	if c := s.tls.configs[k]; c != nil {
		return c
	}
	c := &httpclient.TLSConfig{Certificate: k.cert, RootCAs: k.ca}
	if k.verify != verifyDefault {
		skip := k.verify == verifyOff
		c.SkipVerify = &skip
	}
	if s.tls.configs == nil {
		s.tls.configs = map[tlsKey]*httpclient.TLSConfig{}
	}
	s.tls.configs[k] = c
	return c
}
