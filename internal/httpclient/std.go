package httpclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"time"
)

// stdClient is the net/http client: HTTP/2 where the server offers it,
// proxies from the environment.
type stdClient struct {
	opts Options
	c    *http.Client
	tr   *http.Transport
}

func newStdClient(o Options) *stdClient {
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: o.InsecureSkipVerify},
	}
	j, _ := cookiejar.New(nil)
	return &stdClient{opts: o, tr: tr, c: &http.Client{Transport: tr, Jar: j}}
}

func (s *stdClient) Do(ctx context.Context, r *Request) (*Response, error) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = s.opts.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
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
	if !r.FollowRedirects {
		c := *s.c
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		client = &c
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return nil, &TimeoutError{After: timeout}
		}
		return nil, unwrapURLError(err)
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

func (s *stdClient) CloseIdle() { s.tr.CloseIdleConnections() }
