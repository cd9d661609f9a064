package httpclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// stdClient is the net/http client: HTTP/2 where the server offers it,
// proxies from the environment.
type stdClient struct {
	opts Options
	c    *http.Client
	tr   *http.Transport
	// trs are the transports of requests with TLS settings of their own:
	// a transport has one TLS configuration.
	trs map[*TLSConfig]*http.Transport
	jar requestJar
}

func newStdClient(o Options) *stdClient {
	s := &stdClient{opts: o, jar: requestJar{Jar: new(Jar)}}
	s.tr = newTransport((*TLSConfig)(nil).config(o, ""))
	s.c = &http.Client{Transport: s.tr, Jar: &s.jar, CheckRedirect: checkRedirect}
	return s
}

// checkRedirect is net/http's default policy, and like requests (and the
// fasthttp client) it drops credentials on a redirect to another origin:
// net/http keeps them for another port of the same host.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return ErrTooManyRedirects
	}
	if prev := via[len(via)-1].URL; prev.Scheme != req.URL.Scheme || prev.Host != req.URL.Host {
		for _, k := range []string{"Authorization", "Proxy-Authorization", "Cookie"} {
			req.Header.Del(k)
		}
	}
	return nil
}

func newTransport(cfg *tls.Config) *http.Transport {
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		TLSClientConfig:     cfg,
	}
}

// requestJar is the user's Jar as net/http sees it, plus the cookies of
// the request in flight (Request.Cookies) for the request's origin.
type requestJar struct {
	*Jar
	extra  []Header
	origin string // scheme://host of the request in flight
}

func (rj *requestJar) Cookies(u *url.URL) []*http.Cookie {
	jar := rj.Jar.Cookies(u)
	if len(rj.extra) == 0 || u.Scheme+"://"+u.Host != rj.origin {
		return jar
	}
	out := make([]*http.Cookie, 0, len(rj.extra)+len(jar))
	for _, c := range rj.extra {
		out = append(out, &http.Cookie{Name: c.Key, Value: c.Value})
	}
	for _, c := range jar {
		if !overridden(rj.extra, c.Name) {
			out = append(out, c)
		}
	}
	return out
}

func (s *stdClient) Do(ctx context.Context, r *Request) (*Response, error) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = s.opts.Timeout
	}
	start := r.Start
	if start.IsZero() {
		start = time.Now()
	}
	ctx, cancel := context.WithDeadline(ctx, start.Add(timeout))
	defer cancel()
	var body io.Reader
	if len(r.Body) > 0 {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return nil, err
	}
	if s.opts.UserAgent != "" {
		req.Header.Set("User-Agent", s.opts.UserAgent)
	}
	for _, h := range r.Header {
		if http.CanonicalHeaderKey(h.Key) == "Host" {
			req.Host = h.Value
			continue
		}
		req.Header.Set(h.Key, h.Value)
	}
	client := s.c
	if !r.FollowRedirects || r.TLS != nil {
		c := *s.c
		if !r.FollowRedirects {
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		}
		if r.TLS != nil {
			c.Transport = s.transport(r.TLS)
		}
		client = &c
	}
	if len(r.Cookies) > 0 {
		s.jar.extra, s.jar.origin = r.Cookies, req.URL.Scheme+"://"+req.URL.Host
		defer func() { s.jar.extra, s.jar.origin = nil, "" }()
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return nil, &TimeoutError{After: timeout}
		}
		return nil, explainTLS(unwrapURLError(err))
	}
	defer resp.Body.Close()
	max := s.opts.limit()
	w := &capWriter{max: max}
	rb := io.Reader(resp.Body)
	if max >= 0 && resp.Uncompressed {
		// net/http inflates this body itself: stop reading at the cap
		// (one byte past, to know there was more) rather than inflate a
		// bomb to drop it; closing the body early closes the connection.
		rb = io.LimitReader(rb, max+1)
	}
	// Past the cap the rest is read and dropped, so the connection is
	// reused and the response time covers the whole body.
	if _, err = io.Copy(w, rb); err != nil {
		if ctx.Err() != nil {
			return nil, &TimeoutError{After: timeout}
		}
		return nil, err
	}
	b, truncated := w.b, w.truncated
	if ce := resp.Header.Get("Content-Encoding"); !resp.Uncompressed && ce != "" {
		// net/http only decodes what it asked for itself; a script that
		// sets Accept-Encoding gets the body decoded all the same.
		if dec, cut, derr := decodeBody(ce, b, max); derr == nil {
			b, truncated = dec, truncated || cut
		}
	}
	return &Response{
		Status: resp.StatusCode, Proto: resp.Proto, URL: resp.Request.URL.String(),
		Body: b, Elapsed: time.Since(start), header: resp.Header, Truncated: truncated,
	}, nil
}

// unwrapURLError drops net/http's `Get "url": ` prefix: the stats entry
// already names the request.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// transport returns the transport for requests with TLS settings tc.
func (s *stdClient) transport(tc *TLSConfig) *http.Transport {
	tr := s.trs[tc]
	if tr == nil {
		if s.trs == nil {
			s.trs = map[*TLSConfig]*http.Transport{}
		}
		tr = newTransport(tc.config(s.opts, ""))
		s.trs[tc] = tr
	}
	return tr
}

func (s *stdClient) Jar() *Jar { return s.jar.Jar }

func (s *stdClient) CloseIdle() {
	s.tr.CloseIdleConnections()
	for _, tr := range s.trs {
		tr.CloseIdleConnections()
	}
}
