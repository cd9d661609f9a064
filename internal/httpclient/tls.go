package httpclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// TLSConfig replaces the client's TLS settings for some requests (a user
// class's or a request's verify= and cert=). Each user keeps separate
// connections per *TLSConfig, so a connection made with one client
// certificate never carries a request meant for another: callers share
// one value per distinct setting. A TLSConfig is not changed once used.
type TLSConfig struct {
	// SkipVerify, when set, replaces Options.InsecureSkipVerify.
	SkipVerify *bool
	// Certificate is the client certificate to present, if any.
	Certificate *tls.Certificate
	// RootCAs, when set, are the CAs trusted instead of the system's.
	RootCAs *x509.CertPool
}

// config is the tls.Config for a connection to serverName ("" for
// net/http, which fills it in).
func (c *TLSConfig) config(o Options, serverName string) *tls.Config {
	cfg := &tls.Config{InsecureSkipVerify: o.InsecureSkipVerify, ServerName: serverName}
	if c == nil {
		return cfg
	}
	if c.SkipVerify != nil {
		cfg.InsecureSkipVerify = *c.SkipVerify
	}
	if c.Certificate != nil {
		cfg.Certificates = []tls.Certificate{*c.Certificate}
	}
	cfg.RootCAs = c.RootCAs
	return cfg
}

// explainTLS adds how to proceed to a certificate verification error,
// which is what a test against a staging server with a self-signed
// certificate runs into first.
func explainTLS(err error) error {
	var ve *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	if errors.As(err, &ve) || errors.As(err, &ua) || errors.As(err, &he) {
		return fmt.Errorf("%w (verify=False or --insecure-skip-verify skips this check)", err)
	}
	return err
}
