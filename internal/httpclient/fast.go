package httpclient

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// fastClient is the default HTTP/1.1 client, on fasthttp. Each user has its
// own connections per origin (hostConns), so connections are never shared between users
// (as with a browser per user, and as Locust does).
type fastClient struct {
	opts    Options
	hosts   map[connKey]*hostConns
	lastKey connKey
	last    *hostConns
	jar     Jar
}

// connKey tells a user's connection pools apart: by origin, and by TLS
// settings (a client certificate or verification choice of its own).
type connKey struct {
	origin string
	tls    *TLSConfig
}

func newFastClient(o Options) *fastClient {
	return &fastClient{opts: o}
}

// origin splits "scheme://host[:port]/..." into its scheme+host key, the
// dial address and whether it is TLS, without a full URL parse.
func origin(rawURL string) (key, addr string, isTLS bool, err error) {
	i := strings.Index(rawURL, "://")
	if i <= 0 {
		return "", "", false, fmt.Errorf("URL %q has no scheme", rawURL)
	}
	scheme := strings.ToLower(rawURL[:i])
	rest := rawURL[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host := rest[:end]
	if at := strings.LastIndexByte(host, '@'); at >= 0 {
		host = host[at+1:]
	}
	if host == "" {
		return "", "", false, fmt.Errorf("URL %q has no host", rawURL)
	}
	switch scheme {
	case "http":
	case "https":
		isTLS = true
	default:
		return "", "", false, fmt.Errorf("URL %q: unsupported scheme %q", rawURL, scheme)
	}
	addr = host
	if !hasPort(host) {
		if isTLS {
			addr += ":443"
		} else {
			addr += ":80"
		}
	}
	return rawURL[:i+3+end], addr, isTLS, nil
}

// sameOriginAs reports whether rawURL starts with key, an origin that
// origin returned, followed by its end or a path, query or fragment.
func sameOriginAs(rawURL, key string) bool {
	if !strings.HasPrefix(rawURL, key) {
		return false
	}
	if len(rawURL) == len(key) {
		return true
	}
	switch rawURL[len(key)] {
	case '/', '?', '#':
		return true
	}
	return false
}

func hasPort(host string) bool {
	c := strings.LastIndexByte(host, ':')
	return c >= 0 && c > strings.LastIndexByte(host, ']')
}

func (c *fastClient) hostClient(rawURL string, tc *TLSConfig) (*hostConns, error) {
	if c.last != nil && tc == c.lastKey.tls && sameOriginAs(rawURL, c.lastKey.origin) {
		return c.last, nil // the common case, without parsing the URL
	}
	o, addr, isTLS, err := origin(rawURL)
	if err != nil {
		return nil, err
	}
	key := connKey{o, tc}
	if c.last != nil && key == c.lastKey {
		return c.last, nil
	}
	hc := c.hosts[key]
	if hc == nil {
		hc = &hostConns{addr: addr, isTLS: isTLS}
		if isTLS {
			hc.tls = tc.config(c.opts, hostname(addr))
		}
		// Most users talk to one origin, kept in last: the map is only
		// made for a second one (it costs an idle user ~300 bytes).
		if c.last != nil {
			if c.hosts == nil {
				c.hosts = map[connKey]*hostConns{c.lastKey: c.last}
			}
			c.hosts[key] = hc
		}
	}
	c.lastKey, c.last = key, hc
	return hc, nil
}

func (c *fastClient) Do(ctx context.Context, r *Request) (*Response, error) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = c.opts.Timeout
	}
	start := r.Start
	if start.IsZero() {
		start = time.Now()
	}
	deadline := start.Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if strings.ContainsFunc(r.URL, isCTL) {
		// fasthttp would write it into the request line: a URL taken from
		// a response could add headers or a whole request (net/http
		// refuses it too)
		return nil, ErrControlCharInURL
	}
	method, target, body := r.Method, r.URL, r.Body
	hdr, cookies := r.Header, r.Cookies
	for hops := 0; ; hops++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		resp, err := c.once(method, target, hdr, cookies, body, r.TLS, start, deadline)
		if err != nil {
			if isTimeout(err) {
				err = &TimeoutError{After: timeout}
			}
			return nil, err
		}
		if !r.FollowRedirects || !isRedirect(resp.Status) {
			resp.Elapsed = time.Since(start)
			return resp, nil
		}
		loc := resp.Header().Get("Location")
		if loc == "" {
			resp.Elapsed = time.Since(start)
			return resp, nil
		}
		if hops+1 >= maxRedirects {
			return nil, ErrTooManyRedirects
		}
		next, err := resolve(target, loc)
		if err != nil {
			return nil, err
		}
		var keepBody bool
		method, keepBody = redirectMethod(resp.Status, method)
		if !keepBody {
			body = nil
		}
		if !sameOrigin(target, next) {
			// as net/http and requests: credentials meant for one server
			// do not follow a redirect to another
			hdr, cookies = withoutCredentials(hdr), nil
		}
		target = next
	}
}

func (c *fastClient) once(method, target string, hdr, cookies []Header, body []byte, tc *TLSConfig, start, deadline time.Time) (*Response, error) {
	hc, err := c.hostClient(target, tc)
	if err != nil {
		return nil, err
	}
	// Pooled, not per user: 10,000 idle users should not each hold a
	// request and a response buffer.
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(target)
	req.Header.SetMethod(method)
	if c.opts.UserAgent != "" {
		req.Header.SetUserAgent(c.opts.UserAgent)
	}
	for _, h := range hdr {
		if strings.EqualFold(h.Key, "Host") {
			// fasthttp takes Host from the URL unless told otherwise
			req.UseHostHeader = true
			req.Header.SetHost(h.Value)
			continue
		}
		req.Header.Set(h.Key, h.Value)
	}
	// an explicit Cookie header replaces the jar's and cookies=
	if len(req.Header.Peek("Cookie")) == 0 {
		if ck := c.jar.header(target, cookies); ck != "" {
			req.Header.Set("Cookie", ck)
		}
	}
	if len(body) > 0 {
		req.SetBodyRaw(body)
	}
	req.Header.DisableNormalizing()
	req.URI().DisablePathNormalizing = true
	resp.Header.DisableNormalizing()
	max := c.opts.limit()
	buf, n, truncated, err := hc.do(req, resp, start, deadline, max)
	if err != nil {
		return nil, err
	}
	out := &Response{Status: resp.StatusCode(), URL: target, Proto: "HTTP/1.1", Truncated: truncated}
	// One allocation holds the header block and the body.
	out.raw, out.Body = buf[:n:n], buf[n:]
	if ce := resp.Header.ContentEncoding(); len(ce) > 0 && string(ce) != "identity" {
		if dec, cut, err := decodeBody(string(ce), out.Body, max); err == nil {
			out.Body, out.Truncated = dec, truncated || cut
		}
	}
	var setCookies [][]byte
	for _, v := range resp.Header.Cookies() {
		setCookies = append(setCookies, v)
	}
	if len(setCookies) > 0 {
		c.jar.setLines(target, setCookies)
	}
	return out, nil
}

func (c *fastClient) Jar() *Jar { return &c.jar }

func (c *fastClient) CloseIdle() {
	if c.last != nil {
		c.last.closeIdle()
	}
	for _, hc := range c.hosts {
		hc.closeIdle()
	}
}
