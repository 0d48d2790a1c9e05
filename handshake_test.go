package wss

// Opening handshake conformance (RFC 6455 sections 4.2.1 and 4.2.2), over
// real sockets, byte for byte.

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestRFC6455_4_2_2_HandshakeAcceptExact checks the 101 response to RFC 6455's
// sample request, byte for byte, and that the connection then works.
func TestRFC6455_4_2_2_HandshakeAcceptExact(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		c := dialRaw(t, srv.addr).connect(sampleKey)
		c.send(textFin, []byte("hi"))
		c.expect(serverFrame(opText, []byte("hi")))
		c.nc.Close()
		_, rec := srv.next(t)
		rec.wantClose(t, StatusConnLost)
	})
}

// TestRFC6455_4_2_1_HandshakeTokensAccepted: the Upgrade and Connection header
// fields are token lists matched case-insensitively (RFC 6455 section
// 4.2.1 items 3 and 4, RFC 7230 section 6.1), and the other fields may vary
// in ways the RFC allows.
func TestRFC6455_4_2_1_HandshakeTokensAccepted(t *testing.T) {
	cases := []struct {
		name string
		edit func(q *request)
	}{
		{"upgrade mixed case", func(q *request) { q.set("Upgrade", "WebSocket") }},
		{"upgrade in a list", func(q *request) { q.set("Upgrade", "h2c, websocket") }},
		{"upgrade on a second line", func(q *request) { q.set("Upgrade", "h2c").add("Upgrade", "websocket") }},
		{"connection lower case", func(q *request) { q.set("Connection", "upgrade") }},
		{"connection in a list", func(q *request) { q.set("Connection", "keep-alive, Upgrade") }},
		{"connection list without spaces", func(q *request) { q.set("Connection", "Keep-Alive,UPGRADE") }},
		{"connection list with tabs", func(q *request) { q.set("Connection", "keep-alive,\tupgrade\t") }},
		{"connection on a second line", func(q *request) { q.set("Connection", "keep-alive").add("Connection", "Upgrade") }},
		{"header names in other case", func(q *request) {
			q.del("Sec-WebSocket-Key").add("sec-websocket-key", sampleKey)
		}},
		{"extension offered and ignored", func(q *request) { q.add("Sec-WebSocket-Extensions", "permessage-foo") }},
		{"HTTP/1.1 is the minimum, later minor versions pass", func(q *request) { q.line = "GET /chat HTTP/1.2" }},
		{"absolute request URI", func(q *request) { q.line = "GET http://" + hostOf(q) + "/chat HTTP/1.1" }},
	}
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				q := validRequest(srv.addr)
				tc.edit(q)
				expectAccepted(t, srv, q, func(c *rawClient) {
					c.send(binFin, []byte{1, 2, 3})
					c.expect(serverFrame(opBinary, []byte{1, 2, 3}))
				})
			})
		}
	})
}

func hostOf(q *request) string {
	for _, h := range q.headers {
		if h[0] == "Host" {
			return h[1]
		}
	}
	return ""
}

// rejection is a handshake the server must refuse, and how.
type rejection struct {
	name   string
	edit   func(q *request)
	status int
	reason string // part of the body
	header [2]string
	// byNetHTTP: net/http itself refuses the request before the handler.
	byNetHTTP bool
}

// TestRFC6455_4_2_1_HandshakeRejected: every request that breaks section 4.2.1 is
// answered with a clear HTTP error status and body, never 101.
func TestRFC6455_4_2_1_HandshakeRejected(t *testing.T) {
	key15 := "AAAAAAAAAAAAAAAAAAAA"     // 15 bytes
	key17 := "AAAAAAAAAAAAAAAAAAAAAAA=" // 17 bytes
	cases := []rejection{
		{name: "POST", edit: func(q *request) { q.line = "POST /chat HTTP/1.1" }, status: 405, reason: "GET", header: [2]string{"Allow", "GET"}},
		{name: "PUT", edit: func(q *request) { q.line = "PUT /chat HTTP/1.1" }, status: 405, reason: "GET", header: [2]string{"Allow", "GET"}},
		{name: "CONNECT", edit: func(q *request) { q.line = "CONNECT " + hostOf(q) + " HTTP/1.1" }, status: 405, reason: "GET"},
		{name: "HTTP/1.0", edit: func(q *request) { q.line = "GET /chat HTTP/1.0" }, status: 400, reason: "HTTP/1.1"},
		{name: "no Host", edit: func(q *request) { q.del("Host") }, status: 400, reason: "Host", byNetHTTP: true},
		{name: "empty Host", edit: func(q *request) { q.set("Host", "") }, status: 400, reason: "Host"},
		{name: "no Upgrade", edit: func(q *request) { q.del("Upgrade") }, status: 400, reason: "Upgrade"},
		{name: "Upgrade other protocol", edit: func(q *request) { q.set("Upgrade", "h2c") }, status: 400, reason: "Upgrade"},
		{name: "Upgrade token prefix only", edit: func(q *request) { q.set("Upgrade", "websocket2") }, status: 400, reason: "Upgrade"},
		{name: "no Connection", edit: func(q *request) { q.del("Connection") }, status: 400, reason: "Connection"},
		{name: "Connection keep-alive only", edit: func(q *request) { q.set("Connection", "keep-alive") }, status: 400, reason: "Connection"},
		{name: "Connection token substring", edit: func(q *request) { q.set("Connection", "upgraded") }, status: 400, reason: "Connection"},
		{name: "no version", edit: func(q *request) { q.del("Sec-WebSocket-Version") }, status: 400, reason: "Version", header: [2]string{"Sec-WebSocket-Version", "13"}},
		{name: "version 8", edit: func(q *request) { q.set("Sec-WebSocket-Version", "8") }, status: 426, reason: "13", header: [2]string{"Sec-WebSocket-Version", "13"}},
		{name: "version 14", edit: func(q *request) { q.set("Sec-WebSocket-Version", "14") }, status: 426, reason: "13", header: [2]string{"Sec-WebSocket-Version", "13"}},
		{name: "version list", edit: func(q *request) { q.set("Sec-WebSocket-Version", "8, 13") }, status: 426, reason: "13", header: [2]string{"Sec-WebSocket-Version", "13"}},
		{name: "version twice", edit: func(q *request) { q.add("Sec-WebSocket-Version", "8") }, status: 426, reason: "13", header: [2]string{"Sec-WebSocket-Version", "13"}},
		{name: "no key", edit: func(q *request) { q.del("Sec-WebSocket-Key") }, status: 400, reason: "Key"},
		{name: "key not base64", edit: func(q *request) { q.set("Sec-WebSocket-Key", "not base64 at all!") }, status: 400, reason: "Key"},
		{name: "key of 15 bytes", edit: func(q *request) { q.set("Sec-WebSocket-Key", key15) }, status: 400, reason: "16 bytes"},
		{name: "key of 17 bytes", edit: func(q *request) { q.set("Sec-WebSocket-Key", key17) }, status: 400, reason: "16 bytes"},
		{name: "key without padding", edit: func(q *request) { q.set("Sec-WebSocket-Key", strings.TrimRight(sampleKey, "=")) }, status: 400, reason: "16 bytes"},
		{name: "two keys", edit: func(q *request) { q.add("Sec-WebSocket-Key", sampleKey) }, status: 400, reason: "Key"},
		{name: "header over the bound", edit: func(q *request) { q.add("X-Padding", strings.Repeat("a", defaultMaxHeaderBytes)) }, status: 431, reason: "too large"},
		{name: "many headers over the bound", edit: func(q *request) {
			for range 200 {
				q.add("X-Padding", strings.Repeat("b", 40))
			}
		}, status: 431, reason: "too large"},
		{name: "cross origin", edit: func(q *request) { q.set("Origin", "http://evil.example") }, status: 403, reason: "origin"},
	}
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				q := validRequest(srv.addr)
				tc.edit(q)
				expectRejected(t, srv, q, tc)
			})
		}
	})
}

// expectRejected sends q and checks the server answers with the error
// status, a body that says why, no 101 and no Sec-WebSocket-Accept, and
// that Upgrade returned an error wrapping ErrHandshake.
func expectRejected(t *testing.T, srv *testServer, q *request, want rejection) {
	t.Helper()
	c := dialRaw(t, srv.addr)
	c.write(q.bytes())
	c.deadline()
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	if resp.StatusCode != want.status {
		t.Errorf("status = %d, want %d (body %q)", resp.StatusCode, want.status, body)
	}
	if !strings.Contains(strings.ToLower(string(body)), strings.ToLower(want.reason)) {
		t.Errorf("body %q does not mention %q", body, want.reason)
	}
	if v := resp.Header.Get("Sec-WebSocket-Accept"); v != "" {
		t.Errorf("rejected handshake carries Sec-WebSocket-Accept %q", v)
	}
	if want.header[0] != "" && resp.Header.Get(want.header[0]) != want.header[1] {
		t.Errorf("header %s = %q, want %q", want.header[0], resp.Header.Get(want.header[0]), want.header[1])
	}
	if want.byNetHTTP || srv.viaServe {
		return // no Upgrade call to return an error
	}
	select {
	case err := <-srv.rejected:
		if !errors.Is(err, ErrHandshake) {
			t.Errorf("Upgrade error %v does not wrap ErrHandshake", err)
		}
	default:
		t.Errorf("Upgrade returned no error")
	}
}

// expectAccepted sends q to srv, checks the 101 response byte for byte,
// runs exchange (if not nil) over the connection, then hangs up and checks
// that OnClose reports the lost connection.
func expectAccepted(t *testing.T, srv *testServer, q *request, exchange func(c *rawClient)) {
	t.Helper()
	c := dialRaw(t, srv.addr)
	c.write(q.bytes())
	c.expect([]byte(acceptResponse))
	if exchange != nil {
		exchange(c)
	}
	c.nc.Close()
	_, rec := srv.next(t)
	rec.wantClose(t, StatusConnLost)
}

// TestRFC6455_4_2_1_HandshakeHeaderBound: Config.MaxHeaderBytes bounds the request
// header; a request under it passes.
func TestRFC6455_4_2_1_HandshakeHeaderBound(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, &Config{MaxHeaderBytes: 1024}, nil)
		q := validRequest(srv.addr).add("X-Padding", strings.Repeat("a", 1024))
		expectRejected(t, srv, q, rejection{status: 431, reason: "too large"})

		expectAccepted(t, srv, validRequest(srv.addr).add("X-Padding", strings.Repeat("a", 700)), nil)
	})
}

// TestRFC6455_4_2_2_HandshakeSubprotocol: the server picks, in its own order of
// preference, the first subprotocol the client offered, and answers with
// the client's exact token (RFC 6455 section 4.2.2 item 5.4; the client
// fails a connection whose subprotocol it did not offer, section 4.1).
func TestRFC6455_4_2_2_HandshakeSubprotocol(t *testing.T) {
	cases := []struct {
		name   string
		server []string
		offers []string // header lines
		want   string
	}{
		{"server order wins", []string{"v2.chat", "v1.chat"}, []string{"v1.chat, v2.chat"}, "v2.chat"},
		{"only common one", []string{"v2.chat", "v1.chat"}, []string{"v1.chat"}, "v1.chat"},
		{"offers on two lines", []string{"v2.chat", "v1.chat"}, []string{"v1.chat", "v2.chat"}, "v2.chat"},
		{"none in common", []string{"v2.chat"}, []string{"soap, wamp"}, ""},
		{"match is case-sensitive", []string{"chat"}, []string{"Chat"}, ""},
		{"server speaks none", nil, []string{"chat"}, ""},
		{"client offers none", []string{"chat"}, nil, ""},
	}
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				srv := startServer(t, d, &Config{Subprotocols: tc.server}, nil)
				q := validRequest(srv.addr)
				for _, o := range tc.offers {
					q.add("Sec-WebSocket-Protocol", o)
				}
				c := dialRaw(t, srv.addr)
				c.write(q.bytes())
				want := acceptResponse
				if tc.want != "" {
					want = strings.TrimSuffix(want, "\r\n") + "Sec-WebSocket-Protocol: " + tc.want + "\r\n\r\n"
				}
				c.expect([]byte(want))
				conn, rec := srv.next(t)
				if got := conn.Subprotocol(); got != tc.want {
					t.Errorf("Subprotocol() = %q, want %q", got, tc.want)
				}
				c.nc.Close()
				rec.wantClose(t, StatusConnLost)
			})
		}
	})
}

// TestHandshake_Origin: by default only requests without Origin or from the
// same host are accepted (RFC 6455 section 10.2); OriginPatterns and
// CheckOrigin allow others.
func TestHandshake_Origin(t *testing.T) {
	cases := []struct {
		name   string
		cfg    *Config
		origin string // "" sends none; "{host}" stands for the request's host
		ok     bool
	}{
		{"no origin", nil, "", true},
		{"same host", nil, "http://{host}", true},
		{"same host over https", nil, "https://{host}", true},
		{"same host other port", nil, "http://127.0.0.1:1", false},
		{"same host without port", nil, "http://127.0.0.1", false},
		{"other host", nil, "http://evil.example", false},
		{"opaque origin", nil, "null", false},
		{"garbage", nil, "::", false},
		{"pattern match", &Config{OriginPatterns: []string{"*.example.com"}}, "https://app.example.com", true},
		{"pattern case-insensitive", &Config{OriginPatterns: []string{"*.example.com"}}, "https://APP.Example.com", true},
		{"pattern no match", &Config{OriginPatterns: []string{"*.example.com"}}, "https://example.org", false},
		{"pattern with port", &Config{OriginPatterns: []string{"localhost:*"}}, "http://localhost:3000", true},
		{"pattern all", &Config{OriginPatterns: []string{"*"}}, "https://anything.test", true},
		{"pattern keeps same host", &Config{OriginPatterns: []string{"*.example.com"}}, "http://{host}", true},
		{"check origin allows", &Config{CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "https://ok.test" }}, "https://ok.test", true},
		{"check origin refuses", &Config{CheckOrigin: func(r *http.Request) bool { return false }}, "http://{host}", false},
		{"check origin not asked without origin", &Config{CheckOrigin: func(r *http.Request) bool { return false }}, "", true},
	}
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				srv := startServer(t, d, tc.cfg, nil)
				q := validRequest(srv.addr)
				if tc.origin != "" {
					q.set("Origin", strings.ReplaceAll(tc.origin, "{host}", srv.addr))
				}
				if !tc.ok {
					expectRejected(t, srv, q, rejection{status: 403, reason: "origin"})
					return
				}
				expectAccepted(t, srv, q, nil)
			})
		}
	})
}

// TestHandshake_OriginDefaultPorts: a port left out of the Origin or the
// Host is its scheme's default (RFC 6454 section 4, RFC 7230 section 5.4),
// so "http://h" is the origin of a request to "h:80", and no other port.
// The requests arrive over plain TCP: a Host's default port is 80.
func TestHandshake_OriginDefaultPorts(t *testing.T) {
	cases := []struct {
		name, host, origin string
		ok                 bool
	}{
		{"default port in Host only", "example.com:80", "http://example.com", true},
		{"default port in Origin only", "example.com", "http://example.com:80", true},
		{"https default port in Host", "EXAMPLE.com:443", "https://example.com", true},
		{"ws scheme default", "example.com", "ws://example.com", true},
		// The same name with no port on either side matches whatever the
		// schemes, as it always has: behind a proxy that ends TLS, an https
		// page's request arrives over plain TCP.
		{"https origin, Host without port", "example.com", "https://example.com", true},
		{"http default to port 443", "example.com:443", "http://example.com", false},
		{"other port", "example.com:8080", "http://example.com", false},
		{"other name, default ports", "example.org:80", "http://example.com", false},
		{"IPv6 default port", "[::1]:80", "http://[::1]", true},
		{"opaque scheme has no default", "example.com:80", "data://example.com", false},
	}
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				q := validRequest(srv.addr).set("Host", tc.host).set("Origin", tc.origin)
				if !tc.ok {
					expectRejected(t, srv, q, rejection{status: 403, reason: "origin"})
					return
				}
				expectAccepted(t, srv, q, nil)
			})
		}
	})
}

// TestHandshake_EarlyFrames: frames the client sends right behind its
// request, in the same segment, are not lost to the HTTP server's buffer.
func TestHandshake_EarlyFrames(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		c := dialRaw(t, srv.addr)
		b := validRequest(srv.addr).bytes()
		b = append(b, clientFrame(textFin, []byte("early"))...)
		b = append(b, clientFrame(binFin, []byte("bird"))...)
		c.write(b)
		c.expect([]byte(acceptResponse))
		c.expect(serverFrame(opText, []byte("early")))
		c.expect(serverFrame(opBinary, []byte("bird")))
		c.nc.Close()
		_, rec := srv.next(t)
		rec.wantClose(t, StatusConnLost)
	})
}

// upgradeFor upgrades r for h on d with cfg, as HTTPHandler does, and
// returns the connection or why there is none.
func upgradeFor(w http.ResponseWriter, r *http.Request, h Handler, d *Dispatcher, cfg *Config) (*Conn, error) {
	u := HTTPHandler(d, cfg, func(*Request) (Handler, error) { return h, nil }).(*upgradeHandler)
	return u.upgrade(w, r)
}

// TestHandshake_HTTPHandlerCarriesOver: on the net/http path the
// subprotocol and the bytes the client sent right after its request reach
// the connection.
func TestHandshake_HTTPHandlerCarriesOver(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		cfg := &Config{Subprotocols: []string{"chat"}}
		rec := newRecorder(nil)
		results := make(chan error, 2)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := upgradeFor(w, r, rec, d, cfg)
			if err == nil && c.Subprotocol() != "chat" {
				err = errors.New("subprotocol lost: " + c.Subprotocol())
			}
			results <- err
		})}
		served := make(chan struct{})
		go func() { defer close(served); _ = srv.Serve(l) }()
		t.Cleanup(func() { srv.Close(); <-served })

		c := dialRaw(t, l.Addr().String())
		c.write(append(validRequest(l.Addr().String()).set("Sec-WebSocket-Protocol", "chat").bytes(),
			clientFrame(textFin, []byte("early"))...))
		c.expect([]byte(strings.TrimSuffix(acceptResponse, "\r\n") + "Sec-WebSocket-Protocol: chat\r\n\r\n"))
		c.expect(serverFrame(opText, []byte("early")))
		if err := <-results; err != nil {
			t.Error(err)
		}
		c.nc.Close()
		rec.wantClose(t, StatusConnLost)
	})
}

// TestHandshake_HTTPHandlerRefuses: HTTPHandler answers 403 when the
// handler factory returns nil, and serves the connection otherwise.
func TestHandshake_HTTPHandlerRefuses(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		rec := newRecorder(nil)
		h := HTTPHandler(d, nil, func(r *Request) (Handler, error) {
			if r.Target() == "/no" {
				return nil, nil
			}
			return rec, nil
		})
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: h}
		served := make(chan struct{})
		go func() { defer close(served); _ = srv.Serve(l) }()
		t.Cleanup(func() { srv.Close(); <-served })
		addr := l.Addr().String()

		c := dialRaw(t, addr)
		q := validRequest(addr)
		q.line = "GET /no HTTP/1.1"
		c.write(q.bytes())
		resp, err := http.ReadResponse(bufio.NewReader(c.br), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d, want 403", resp.StatusCode)
		}

		c = dialRaw(t, addr).connect(sampleKey)
		c.send(textFin, []byte("yes"))
		c.expect(serverFrame(opText, []byte("yes")))
		c.nc.Close()
		rec.wantClose(t, StatusConnLost)
	})
}

// TestHandshake_SubprotocolOfRequestConfig: on the net/http path, a
// subprotocol negotiated with the Config newHandler gave (Request.SetConfig),
// which the listener's does not list, is answered and still reported after
// the connection has ended.
func TestHandshake_SubprotocolOfRequestConfig(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		conns := make(chan *Conn, 1)
		rec := newRecorder(nil)
		own := &Config{Subprotocols: []string{"x"}}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: HTTPHandler(d, nil, func(r *Request) (Handler, error) {
			r.SetConfig(own)
			return HandlerFuncs{Frame: rec.OnFrame, Close: rec.OnClose, Open: func(c *Conn) { conns <- c }}, nil
		})}
		served := make(chan struct{})
		go func() { defer close(served); _ = srv.Serve(l) }()
		t.Cleanup(func() { srv.Close(); <-served })

		c := dialRaw(t, l.Addr().String())
		c.write(validRequest(l.Addr().String()).set("Sec-WebSocket-Protocol", "x").bytes())
		c.expect([]byte(strings.TrimSuffix(acceptResponse, "\r\n") + "Sec-WebSocket-Protocol: x\r\n\r\n"))
		sc := <-conns
		c.nc.Close()
		rec.wantClose(t, StatusConnLost)
		if got := sc.Subprotocol(); got != "x" {
			t.Errorf("Subprotocol() after the end = %q, want %q", got, "x")
		}
	})
}
