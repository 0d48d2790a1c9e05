package wss

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wssgo/wss/internal/frame"
)

// fakeServer accepts one TCP connection, reads the handshake request and
// answers with respond's bytes; it then hands the connection to after, if
// set. It returns the ws:// URL.
func fakeServer(t *testing.T, respond func(req *http.Request) string, after func(net.Conn, *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(nc)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if _, err := io.WriteString(nc, respond(req)); err != nil {
			return
		}
		if after != nil {
			after(nc, br)
		}
	}()
	return "ws://" + ln.Addr().String() + "/"
}

// accept101 is a valid 101 answer with extra header lines.
func accept101(req *http.Request, extra string) string {
	return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + acceptKey(req.Header.Get("Sec-WebSocket-Key")) + "\r\n" + extra + "\r\n"
}

// TestRFC6455_4_1_ClientChecksResponse checks that Dial fails on
// every answer section 4.1 tells a client to reject, and on subprotocols
// and extensions it did not offer.
func TestRFC6455_4_1_ClientChecksResponse(t *testing.T) {
	tests := []struct {
		name    string
		cfg     *Config
		respond func(*http.Request) string
	}{
		{"status 200", nil, func(*http.Request) string { return "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" }},
		{"status 403", nil, func(*http.Request) string { return "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n" }},
		{"wrong accept", nil, func(*http.Request) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
		}},
		{"no Upgrade", nil, func(r *http.Request) string {
			return "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey(r.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n"
		}},
		{"no Connection", nil, func(r *http.Request) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: " + acceptKey(r.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n"
		}},
		{"subprotocol not offered", nil, func(r *http.Request) string { return accept101(r, "Sec-WebSocket-Protocol: chat\r\n") }},
		{"other subprotocol", &Config{Subprotocols: []string{"a"}}, func(r *http.Request) string { return accept101(r, "Sec-WebSocket-Protocol: b\r\n") }},
		{"extension not offered", nil, func(r *http.Request) string { return accept101(r, "Sec-WebSocket-Extensions: permessage-deflate\r\n") }},
		{"unknown extension", &Config{Compression: &CompressionConfig{}}, func(r *http.Request) string {
			return accept101(r, "Sec-WebSocket-Extensions: x-foo\r\n")
		}},
		{"bad deflate parameter", &Config{Compression: &CompressionConfig{}}, func(r *http.Request) string {
			return accept101(r, "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=20\r\n")
		}},
		{"not HTTP", nil, func(*http.Request) string { return "hello\r\n\r\n" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := fakeServer(t, tt.respond, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := Dial(ctx, url, NewInbox(1), &DialOptions{Config: tt.cfg})
			if !errors.Is(err, ErrHandshake) {
				t.Fatalf("Dial = %v, %v; want an error wrapping ErrHandshake", c, err)
			}
		})
	}
}

// TestDialRequest checks the request Dial sends: the fields of section
// 4.1, the offers, and the caller's extra fields.
func TestDialRequest(t *testing.T) {
	got := make(chan *http.Request, 1)
	url := fakeServer(t, func(r *http.Request) string {
		got <- r
		return accept101(r, "Sec-WebSocket-Protocol: b\r\n")
	}, nil)
	cfg := &Config{Subprotocols: []string{"a", "b"}, Compression: &CompressionConfig{ClientMaxWindowBits: 12}}
	hdr := http.Header{"Origin": {"http://example.com"}, "Sec-Websocket-Key": {"ignored"}, "X-Token": {"t"}}
	c, err := Dial(context.Background(), url+"path?q=1", NewInbox(1), &DialOptions{Config: cfg, Header: hdr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(StatusNormalClosure)
	r := <-got
	want := map[string]string{
		"Upgrade": "websocket", "Connection": "Upgrade", "Sec-Websocket-Version": "13",
		"Sec-Websocket-Protocol": "a, b", "Origin": "http://example.com", "X-Token": "t",
		"Sec-Websocket-Extensions": "permessage-deflate; client_max_window_bits=12",
	}
	for k, v := range want {
		if g := r.Header.Get(k); g != v {
			t.Errorf("%s: %q, want %q", k, g, v)
		}
	}
	if r.URL.RequestURI() != "/path?q=1" {
		t.Errorf("request URI %q", r.URL.RequestURI())
	}
	if key, err := base64Decode(r.Header.Get("Sec-WebSocket-Key")); err != nil || len(key) != 16 {
		t.Errorf("key %q", r.Header.Get("Sec-WebSocket-Key"))
	}
	if c.Subprotocol() != "b" {
		t.Errorf("subprotocol %q", c.Subprotocol())
	}
}

// TestClientMasksEveryFrameWithAFreshKey reads our client's frames raw:
// every frame is masked (RFC 6455 section 5.3), keys differ from frame to
// frame, and the payload unmasks to what was sent.
func TestClientMasksEveryFrameWithAFreshKey(t *testing.T) {
	const frames = 200
	keys := make(chan uint32, frames)
	bad := make(chan string, 1)
	url := fakeServer(t, func(r *http.Request) string { return accept101(r, "") }, func(nc net.Conn, br *bufio.Reader) {
		defer close(keys)
		for i := range frames {
			var b [frame.MaxHeaderLen]byte
			if _, err := io.ReadFull(br, b[:2]); err != nil {
				return
			}
			n := frame.HeaderLen(b[1])
			if _, err := io.ReadFull(br, b[2:n]); err != nil {
				return
			}
			h, _ := frame.ParseHeader(b[:n])
			p := make([]byte, h.Length)
			if _, err := io.ReadFull(br, p); err != nil {
				return
			}
			frame.Mask(h.Key, p)
			if !h.Masked || string(p) != "frame" || h.Op != opText {
				bad <- fmt.Sprintf("frame %d: masked %v, op %d, payload %q", i, h.Masked, h.Op, p)
				return
			}
			keys <- h.Key
		}
	})
	c, err := Dial(context.Background(), url, NewInbox(1), nil)
	if err != nil {
		t.Fatal(err)
	}
	for range frames {
		if err := c.Write([]byte("frame"), true); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[uint32]bool{}
	for k := range keys {
		seen[k] = true
	}
	select {
	case s := <-bad:
		t.Fatal(s)
	default:
	}
	if len(seen) < frames-1 { // a repeat among 200 random 32-bit keys is a 1 in 200,000 event
		t.Fatalf("%d distinct keys in %d frames", len(seen), frames)
	}
	c.drop(StatusConnLost)
}

// TestDialTLSAndClose runs a wss:// echo with compression, then the
// client's close handshake: OnClose sees the server's 1000 echo.
func TestDialTLSAndClose(t *testing.T) {
	d, err := NewDispatcher(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	echo := HandlerFuncs{Frame: func(c *Conn, data []byte, text bool) { _ = c.Write(data, text) }}
	cfg := &Config{Subprotocols: []string{"echo"}, Compression: &CompressionConfig{}}
	srv := httptest.NewTLSServer(HTTPHandler(d, cfg, func(*Request) (Handler, error) { return echo, nil }))
	defer srv.Close()
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in := NewInbox(1)
	url := "wss://" + strings.TrimPrefix(srv.URL, "https://")
	c, err := Dial(ctx, url, in, &DialOptions{Config: cfg, TLSConfig: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Subprotocol() != "echo" || c.dfl() == nil {
		t.Fatalf("subprotocol %q, compression %v", c.Subprotocol(), c.dfl())
	}
	msg := bytes.Repeat([]byte("over TLS "), 100)
	if err := c.Write(msg, false); err != nil {
		t.Fatal(err)
	}
	if m, err := in.Read(ctx); err != nil || !bytes.Equal(m.Data, msg) || m.Text {
		t.Fatalf("echo: %v", err)
	}
	if err := c.Close(StatusNormalClosure); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Read(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
	if st, ok := in.Status(); !ok || st != StatusNormalClosure {
		t.Fatalf("OnClose status %d (%v), want 1000", st, ok)
	}
}

// TestDialHandshakeTimeout checks that a server that never answers makes
// Dial fail after HandshakeTimeout.
func TestDialHandshakeTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, err := ln.Accept()
		if err == nil {
			accepted <- nc
		}
	}()
	start := time.Now()
	_, err = Dial(context.Background(), "ws://"+ln.Addr().String()+"/", NewInbox(1),
		&DialOptions{Config: &Config{HandshakeTimeout: 200 * time.Millisecond}})
	if !errors.Is(err, ErrHandshake) || time.Since(start) > 5*time.Second {
		t.Fatalf("Dial = %v after %v", err, time.Since(start))
	}
	(<-accepted).Close()
}

// TestDialErrors checks URLs Dial refuses before connecting.
func TestDialErrors(t *testing.T) {
	for _, u := range []string{"http://example.com/", "example.com", "ws://[::1"} {
		if _, err := Dial(context.Background(), u, NewInbox(1), nil); err == nil {
			t.Errorf("Dial(%q) succeeded", u)
		}
	}
}

func base64Decode(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(s)
}
