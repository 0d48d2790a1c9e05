package wss

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// DialOptions holds the settings of Dial; the zero value (or nil) uses the
// defaults.
type DialOptions struct {
	// Config holds the connection's settings. For a client, Subprotocols
	// are offered in order of preference, Compression is offered, and
	// HandshakeTimeout bounds the whole opening handshake (TCP, TLS and
	// HTTP) when the context has no earlier deadline.
	Config *Config
	// Dispatcher serves the connection; nil means the default one.
	Dispatcher *Dispatcher
	// Header holds extra request header fields, such as Origin,
	// Authorization or Cookie. Fields the handshake sets itself are
	// ignored.
	Header http.Header
	// TLSConfig is used for wss:// URLs; nil means the defaults with the
	// URL's host as ServerName.
	TLSConfig *tls.Config
	// NetDialContext, if set, opens the TCP connection, to the server or
	// to the proxy.
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Proxy, if set, returns the proxy to reach the server through, as in
	// net/http's Transport: http.ProxyFromEnvironment fits. It is called
	// with a GET request for the URL with scheme http for ws and https for
	// wss, so that HTTP_PROXY, HTTPS_PROXY and NO_PROXY apply. A nil URL
	// means no proxy. Schemes: http (a CONNECT tunnel, with Basic
	// Proxy-Authorization from the URL's user information), socks5 (RFC
	// 1928, the host name resolved here) and socks5h (resolved by the
	// proxy), both with RFC 1929 username and password from the URL's user
	// information. A proxy that refuses the tunnel with an HTTP status is
	// a *HandshakeError with Proxy set. Called once per Dial, on Dial's
	// goroutine.
	Proxy func(*http.Request) (*url.URL, error)
}

// handshakeHeaders are the request fields Dial sets itself.
var handshakeHeaders = map[string]bool{
	"Host": true, "Upgrade": true, "Connection": true, "Sec-Websocket-Key": true,
	"Sec-Websocket-Version": true, "Sec-Websocket-Protocol": true, "Sec-Websocket-Extensions": true,
}

// Dial opens a client connection to a ws:// or wss:// URL, served like a
// server connection: h receives its messages and its end, Write, Ping and
// Close send. It runs the opening handshake of RFC 6455 section 4.1 and
// checks the server's answer strictly: status 101, the Upgrade and
// Connection fields, the accept hash, and no subprotocol or extension that
// was not offered; any failure returns an error wrapping ErrHandshake and
// closes the connection. An answer that was read but not accepted is a
// *HandshakeError, with the status, the header fields and the first KiB
// of the body. ctx bounds the handshake only.
func Dial(ctx context.Context, rawURL string, h Handler, opts *DialOptions) (*Conn, error) {
	if opts == nil {
		opts = &DialOptions{}
	}
	cfg := opts.Config.orDefault()
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("wss: dial: %w", err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return nil, fmt.Errorf("wss: dial: scheme %q is not ws or wss", u.Scheme)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.handshakeTimeout())
	defer cancel()
	nc, err := dialURL(ctx, u, opts)
	if err != nil {
		return nil, fmt.Errorf("wss: dial: %w", err)
	}
	uc, err := clientHandshake(ctx, nc, u, cfg, opts.Header)
	if err != nil {
		nc.Close()
		if he, ok := err.(*HandshakeError); ok {
			return nil, fmt.Errorf("wss: dial: %w", he)
		}
		return nil, fmt.Errorf("wss: dial: %w: %w", ErrHandshake, err)
	}
	c := newConn(h, opts.Dispatcher, cfg)
	c.client = true
	if err := c.connect(uc); err != nil {
		return nil, err
	}
	return c, nil
}

// dialURL opens the TCP (and for wss, TLS) connection to u's host.
func dialURL(ctx context.Context, u *url.URL, opts *DialOptions) (net.Conn, error) {
	addr := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "wss" {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	dial := opts.NetDialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	var proxy *url.URL
	if opts.Proxy != nil {
		var err error
		if proxy, err = opts.Proxy(proxyRequest(u)); err != nil {
			return nil, fmt.Errorf("choosing a proxy: %w", err)
		}
	}
	var nc net.Conn
	var err error
	if proxy != nil {
		nc, err = dialProxy(ctx, proxy, addr, dial)
	} else {
		nc, err = dial(ctx, "tcp", addr)
	}
	if err != nil || u.Scheme == "ws" {
		return nc, err
	}
	tc := opts.TLSConfig.Clone()
	if tc == nil {
		tc = &tls.Config{}
	}
	if tc.ServerName == "" {
		tc.ServerName = u.Hostname()
	}
	tc.NextProtos = []string{"http/1.1"} // the upgrade needs HTTP/1.1
	conn := tls.Client(nc, tc)
	if err := conn.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return conn, nil
}

// clientHandshake sends the opening request on nc and checks the answer.
func clientHandshake(ctx context.Context, nc net.Conn, u *url.URL, cfg *Config, extra http.Header) (*upgradedConn, error) {
	stop := deadlineFrom(ctx, nc)
	defer stop()

	var raw [16]byte
	_, _ = rand.Read(raw[:])
	key := base64.StdEncoding.EncodeToString(raw[:])
	req := &http.Request{Method: http.MethodGet, URL: u, Header: make(http.Header), Host: u.Host}
	for k, vs := range extra {
		if k = http.CanonicalHeaderKey(k); !handshakeHeaders[k] {
			req.Header[k] = vs
		}
	}
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", key)
	req.Header.Set("Sec-WebSocket-Version", "13")
	if len(cfg.Subprotocols) > 0 {
		req.Header.Set("Sec-WebSocket-Protocol", strings.Join(cfg.Subprotocols, ", "))
	}
	if cfg.Compression != nil {
		req.Header.Set("Sec-WebSocket-Extensions", cfg.Compression.clientOffer().String())
	}
	if err := req.Write(nc); err != nil {
		return nil, err
	}
	br, resp, err := readResponseHead(nc, req, cfg.maxHeaderBytes())
	if err != nil {
		return nil, err
	}
	uc, err := checkResponse(resp, key, cfg)
	if err != nil {
		if resp.StatusCode != http.StatusSwitchingProtocols {
			err = nil // the status says why
		}
		return nil, handshakeRefusal(resp, nil, err)
	}
	if stop(); ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err := nc.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	uc.Conn, uc.pending = nc, buffered(br)
	return uc, nil
}

// checkResponse applies RFC 6455 section 4.1 to the server's answer.
func checkResponse(resp *http.Response, key string, cfg *Config) (*upgradedConn, error) {
	switch {
	case resp.StatusCode != http.StatusSwitchingProtocols:
		return nil, fmt.Errorf("server answered %s", resp.Status)
	case !headerHasToken(resp.Header, "Upgrade", "websocket"):
		return nil, fmt.Errorf(`response lacks "Upgrade: websocket"`)
	case !headerHasToken(resp.Header, "Connection", "upgrade"):
		return nil, fmt.Errorf(`response lacks "Connection: Upgrade"`)
	case resp.Header.Get("Sec-WebSocket-Accept") != acceptKey(key):
		return nil, fmt.Errorf("wrong Sec-WebSocket-Accept %q", resp.Header.Get("Sec-WebSocket-Accept"))
	}
	uc := &upgradedConn{}
	switch protos := resp.Header.Values("Sec-WebSocket-Protocol"); {
	case len(protos) > 1:
		return nil, fmt.Errorf("server chose several subprotocols %q", protos)
	case len(protos) == 1:
		uc.subprotocol = strings.TrimSpace(protos[0])
		if !slices.Contains(cfg.Subprotocols, uc.subprotocol) {
			return nil, fmt.Errorf("server chose subprotocol %q, which was not offered", uc.subprotocol)
		}
	}
	var err error
	if uc.deflate, err = acceptDeflateResponse(resp.Header, cfg.Compression); err != nil {
		return nil, err
	}
	return uc, nil
}

// keySource hands out mask keys from crypto/rand, 64 keys per read, so
// masking does not cost a system call per frame.
type keySource struct {
	buf [256]byte
	off int
}

var keySources = sync.Pool{New: func() any { return &keySource{off: 256} }}

// newMaskKey returns a fresh, unpredictable mask key.
func newMaskKey() uint32 {
	ks := keySources.Get().(*keySource)
	if ks.off == len(ks.buf) {
		_, _ = rand.Read(ks.buf[:]) // never fails (crypto/rand, Go 1.24+)
		ks.off = 0
	}
	key := binary.LittleEndian.Uint32(ks.buf[ks.off:])
	ks.off += 4
	keySources.Put(ks)
	return key
}
