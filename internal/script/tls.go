package script

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/stampede-load/stampede/internal/httpclient"
	"go.starlark.net/starlark"
)

// verify= as given: not given, True, False.
const (
	verifyDefault int8 = iota
	verifyOn
	verifyOff
)

// maxClientCerts bounds the client certificates a script may use: each is
// parsed once and kept for the whole test.
const maxClientCerts = 256

// tlsCache holds the client certificates a script uses and the TLS
// settings made of them, shared by all its users. A key pair is parsed
// once, not per request, and each distinct setting is one
// *httpclient.TLSConfig, which is what keeps a user's connections apart
// per setting.
type tlsCache struct {
	mu      sync.Mutex
	certs   map[[2]string]*tls.Certificate
	configs map[tlsKey]*httpclient.TLSConfig
}

type tlsKey struct {
	verify int8
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
	verify, cert := v.Class.verify, v.Class.cert
	var err error
	if verifyArg != nil {
		if verify, err = verifyValue(verifyArg); err != nil {
			return fmt.Errorf("%s: %w", fn, err)
		}
	}
	if certArg != nil {
		if cert, err = v.script.certificate(certArg); err != nil {
			return fmt.Errorf("%s: cert: %w", fn, err)
		}
	}
	req.TLS = v.script.tlsConfig(verify, cert)
	return nil
}

func verifyValue(v starlark.Value) (int8, error) {
	b, ok := v.(starlark.Bool)
	if !ok {
		return 0, fmt.Errorf("verify must be True or False, got %s (a CA bundle is not supported: use --insecure-skip-verify or verify=False)", v.Type())
	}
	if b {
		return verifyOn, nil
	}
	return verifyOff, nil
}

// resolveTLS reads a class's verify= and cert= once the script's files
// are known (cert= may name files of the bundle).
func (s *Script) resolveTLS(c *UserClass) error {
	if c.verifyArg != nil {
		v, err := verifyValue(c.verifyArg)
		if err != nil {
			return err
		}
		c.verify = v
	}
	if c.certArg != nil {
		cert, err := s.certificate(c.certArg)
		if err != nil {
			return fmt.Errorf("cert: %w", err)
		}
		c.cert = cert
	}
	if c.verify != verifyDefault || c.cert != nil {
		c.TLS = s.tlsConfig(c.verify, c.cert)
	}
	return nil
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

// tlsConfig is the shared TLS setting for verify and cert.
func (s *Script) tlsConfig(verify int8, cert *tls.Certificate) *httpclient.TLSConfig {
	k := tlsKey{verify, cert}
	s.tls.mu.Lock()
	defer s.tls.mu.Unlock()
	if c := s.tls.configs[k]; c != nil {
		return c
	}
	c := &httpclient.TLSConfig{Certificate: cert}
	if verify != verifyDefault {
		skip := verify == verifyOff
		c.SkipVerify = &skip
	}
	if s.tls.configs == nil {
		s.tls.configs = map[tlsKey]*httpclient.TLSConfig{}
	}
	s.tls.configs[k] = c
	return c
}
