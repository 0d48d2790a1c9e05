package wss

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// proxyRequest is the request Dial hands to DialOptions.Proxy: the target
// URL with its scheme as net/http would name it (http for ws, https for
// wss), so that http.ProxyFromEnvironment picks HTTP_PROXY or HTTPS_PROXY
// and honours NO_PROXY.
func proxyRequest(u *url.URL) *http.Request {
	v := *u
	v.Scheme = map[string]string{"ws": "http", "wss": "https"}[u.Scheme]
	return &http.Request{Method: http.MethodGet, URL: &v, Host: v.Host, Header: make(http.Header)}
}

// dialProxy opens a tunnel to addr (host:port) through the proxy p,
// reaching p with dial.
func dialProxy(ctx context.Context, p *url.URL, addr string, dial dialFunc) (net.Conn, error) {
	port := p.Port()
	switch p.Scheme {
	case "http":
		port = cmp(port, "80")
	case "socks5", "socks5h":
		port = cmp(port, "1080")
	default:
		return nil, fmt.Errorf("proxy scheme %q is not http, socks5 or socks5h", p.Scheme)
	}
	nc, err := dial(ctx, "tcp", net.JoinHostPort(p.Hostname(), port))
	if err != nil {
		return nil, fmt.Errorf("proxy %s: %w", redacted(p), err)
	}
	stop := deadlineFrom(ctx, nc)
	defer stop()
	var tunnel net.Conn
	if p.Scheme == "http" {
		tunnel, err = connectHTTP(nc, p, addr)
	} else {
		tunnel, err = connectSOCKS5(ctx, nc, p, addr)
	}
	if err != nil {
		nc.Close()
		if _, ok := err.(*HandshakeError); ok {
			return nil, err
		}
		return nil, fmt.Errorf("proxy %s: %w", redacted(p), err)
	}
	return tunnel, nil
}

// dialFunc opens a network connection, as net.Dialer.DialContext does.
type dialFunc = func(ctx context.Context, network, addr string) (net.Conn, error)

// deadlineFrom makes nc's reads and writes fail once ctx is done: at its
// deadline, or when it is canceled. stop ends the watch (the deadline set
// stays); it reports false if ctx was already done.
func deadlineFrom(ctx context.Context, nc net.Conn) (stop func() bool) {
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	return context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
}

func cmp(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

// connectHTTP asks an HTTP proxy for a tunnel to addr with CONNECT (RFC
// 9110 section 9.3.6), with Basic credentials from p's user information.
func connectHTTP(nc net.Conn, p *url.URL, addr string) (net.Conn, error) {
	req := "CONNECT " + addr + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	if p.User != nil {
		pass, _ := p.User.Password()
		cred := base64.StdEncoding.EncodeToString([]byte(p.User.Username() + ":" + pass))
		req += "Proxy-Authorization: Basic " + cred + "\r\n"
	}
	if _, err := io.WriteString(nc, req+"\r\n"); err != nil {
		return nil, err
	}
	br, resp, err := readConnectResponse(nc)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, handshakeRefusal(resp, p, nil)
	}
	if br.Buffered() != 0 {
		// Neither a WebSocket server nor TLS speaks first.
		return nil, fmt.Errorf("bytes arrived through the tunnel before the request")
	}
	return nc, nil
}

// readConnectResponse reads a proxy's answer to CONNECT, at most
// defaultMaxHeaderBytes of head and the first KiB of a refusal's body.
// The body of a 2xx answer is the tunnel: it is left unread in the
// returned reader.
func readConnectResponse(r io.Reader) (*bufio.Reader, *http.Response, error) {
	return readResponseHead(r, &http.Request{Method: http.MethodConnect}, defaultMaxHeaderBytes)
}

// readResponseHead reads an HTTP/1.1 response to req from r, reading at
// most limit bytes for its head and refusalBodyLimit for the first part
// of its body, whatever the peer claims.
func readResponseHead(r io.Reader, req *http.Request, limit int) (*bufio.Reader, *http.Response, error) {
	lr := &io.LimitedReader{R: r, N: int64(limit + refusalBodyLimit)}
	br := bufio.NewReaderSize(lr, 4096)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		if lr.N == 0 {
			return nil, nil, fmt.Errorf("response head over %d bytes", limit)
		}
		return nil, nil, fmt.Errorf("reading the response: %w", err)
	}
	return br, resp, nil
}
