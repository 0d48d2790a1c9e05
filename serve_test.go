package wss

// Dispatcher.Serve: handshakes read and answered by the event loops, and
// the net/http fallback for other listeners and dispatchers. The
// conformance suite runs through Serve as its eventloop-serve mode; these
// tests cover what only Serve does.

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// serveModes are the dispatchers Serve is tested on: event loops, which
// answer handshakes themselves, and goroutine mode, which hands them to
// net/http.
var serveModes = []testMode{
	{"eventloop", DispatcherConfig{Mode: ModeEventLoop, Loops: 2}},
	{"eventloop-offloop", DispatcherConfig{Mode: ModeEventLoop, Loops: 2, OffLoop: true}},
	{"goroutine", DispatcherConfig{Mode: ModeGoroutine}},
}

// serveOn starts d.Serve on 127.0.0.1:0 and returns the address; when the
// test ends it closes the listener, checks that Serve returned an error
// wrapping net.ErrClosed, and shuts d down.
func serveOn(t *testing.T, mode testMode, cfg *Config, newHandler func(*Request) (Handler, error)) (string, *Dispatcher) {
	t.Helper()
	checkGoroutines(t)
	if !eventLoopSupported && mode.cfg.Mode == ModeEventLoop {
		t.Skip("no event loops on this system")
	}
	d, err := NewDispatcher(&mode.cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveListener(t, d, ln, cfg, newHandler)
	return ln.Addr().String(), d
}

// serveListener serves ln on d until the test ends; then it closes ln,
// checks that Serve returned an error wrapping net.ErrClosed, and shuts d
// down.
func serveListener(t *testing.T, d *Dispatcher, ln net.Listener, cfg *Config, newHandler func(*Request) (Handler, error)) {
	t.Helper()
	served := make(chan error, 1)
	go func() { served <- d.Serve(ln, cfg, newHandler) }()
	t.Cleanup(func() {
		ln.Close()
		if err := <-served; !errors.Is(err, net.ErrClosed) {
			t.Errorf("Serve returned %v, want an error wrapping net.ErrClosed", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
}

func newEcho(*Request) (Handler, error) {
	return HandlerFuncs{Frame: func(c *Conn, data []byte, typ MessageType) { _ = c.Write(data, typ) }}, nil
}

// A request that arrives in pieces, however it is cut, is gathered and
// answered, and frames behind it in its last piece are served.
func TestServe_RequestInPieces(t *testing.T) {
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			addr, _ := serveOn(t, m, nil, newEcho)
			req := validRequest(addr).bytes()
			end := len(req) - 4 // where the empty line starts
			cuts := []struct {
				name string
				at   []int
			}{
				{"byte by byte", func() []int {
					var at []int
					for i := 1; i < len(req); i++ {
						at = append(at, i)
					}
					return at
				}()},
				{"inside the empty line", []int{end + 1, end + 3}},
				{"after the request line", []int{strings.Index(string(req), "\r\n") + 2}},
			}
			for _, cut := range cuts {
				t.Run(cut.name, func(t *testing.T) {
					c := dialRaw(t, addr)
					prev := 0
					for _, at := range cut.at {
						c.write(req[prev:at])
						prev = at
					}
					c.write(append(req[prev:], clientFrame(textFin, []byte("after"))...))
					c.expect([]byte(acceptResponse))
					c.expect(serverFrame(opText, []byte("after")))
				})
			}
		})
	}
}

// A request head over MaxHeaderBytes gets 431 whether it comes in one
// piece or several, and one just under it passes.
func TestServe_HeaderBoundInPieces(t *testing.T) {
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			const limit = 1024
			addr, _ := serveOn(t, m, &Config{MaxHeaderBytes: limit}, newEcho)
			over := validRequest(addr).add("X-Padding", strings.Repeat("a", limit)).bytes()
			c := dialRaw(t, addr)
			c.write(over[:300])
			c.write(over[300:])
			if resp := readResponse(t, c); resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
				t.Errorf("status %d, want 431", resp.StatusCode)
			}

			q := validRequest(addr)
			q.add("X-Padding", strings.Repeat("a", limit+2-len(q.bytes())-len("X-Padding: \r\n")))
			under := q.bytes()
			if len(under)-2 != limit {
				t.Fatalf("test request head is %d bytes, want %d", len(under)-2, limit)
			}
			c = dialRaw(t, addr)
			c.write(under[:500])
			c.write(under[500:])
			c.expect([]byte(acceptResponse))
		})
	}
}

func readResponse(t testing.TB, c *rawClient) *http.Response {
	t.Helper()
	c.deadline()
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	resp.Body.Close()
	return resp
}

// A client that sends nothing, or part of a request, is dropped after
// HandshakeTimeout counted from the accept: trickling bytes does not
// extend it (slowloris).
func TestServe_HandshakeTimeout(t *testing.T) {
	for _, m := range serveModes[:2] { // net/http's own timeout is its own
		t.Run(m.name, func(t *testing.T) {
			const timeout = 300 * time.Millisecond
			addr, d := serveOn(t, m, &Config{HandshakeTimeout: timeout}, newEcho)
			silent := dialRaw(t, addr)
			trickle := dialRaw(t, addr)
			req := validRequest(addr).bytes()
			start := time.Now()
			// One byte every timeout/6 would take far longer than the
			// timeout to finish the request.
			tick := time.NewTicker(timeout / 6)
			defer tick.Stop()
			for i := 0; ; i++ {
				if _, err := trickle.nc.Write(req[i : i+1]); err != nil {
					break // dropped
				}
				select {
				case <-tick.C:
				case <-time.After(testTimeout):
					t.Fatal("ticker stalled")
				}
				if i == len(req)-2 {
					t.Fatal("the whole request trickled in without a drop")
				}
			}
			trickle.expectEOF()
			silent.expectEOF()
			if took := time.Since(start); took < timeout {
				t.Errorf("dropped after %v, before HandshakeTimeout %v", took, timeout)
			}
			waitFor(t, "the dropped connections to end", func() bool { return d.Len() == 0 })
		})
	}
}

// waitFor polls cond until it holds, failing after testTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling a bounded wait, not synchronisation
	}
}

// newHandler sees the request: its target, its header fields (matched
// case-insensitively), the client's address and, on demand, the request
// as net/http parses it. A nil Handler refuses it with 403.
func TestServe_Request(t *testing.T) {
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			type seen struct {
				target, custom, missing, host, remote, httpPath, httpQuery string
			}
			got := make(chan seen, 2)
			addr, _ := serveOn(t, m, nil, func(r *Request) (Handler, error) {
				s := seen{target: r.Target(), custom: r.Header("x-CUSTOM"), missing: r.Header("X-Absent"), host: r.Header("Host")}
				if a := r.RemoteAddr(); a != nil {
					s.remote = a.String()
				}
				if hr, err := r.HTTP(); err == nil {
					s.httpPath, s.httpQuery = hr.URL.Path, hr.URL.Query().Get("room")+"|"+hr.Header.Get("X-Custom")
				}
				got <- s
				if r.Header("X-Refuse") != "" {
					return nil, nil
				}
				return newEcho(r)
			})
			q := validRequest(addr)
			q.line = "GET /chat?room=go HTTP/1.1"
			q.add("X-Custom", "  a value  ")
			c := dialRaw(t, addr)
			c.write(q.bytes())
			c.expect([]byte(acceptResponse))
			want := seen{"/chat?room=go", "a value", "", addr, c.nc.LocalAddr().String(), "/chat", "go|a value"}
			if s := <-got; s != want {
				t.Errorf("newHandler saw\n%+v\nwant\n%+v", s, want)
			}

			c = dialRaw(t, addr)
			c.write(q.add("X-Refuse", "1").bytes())
			resp := readResponse(t, c)
			if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Sec-WebSocket-Accept") != "" {
				t.Errorf("refused request answered %d with accept %q, want 403 and none", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Accept"))
			}
			<-got
		})
	}
}

// OnOpen comes once, before any other call of the Handler, in every mode
// and through Upgrade as well as Serve.
func TestServe_OpenBeforeFrames(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		var mu sync.Mutex
		var calls []string
		closed := make(chan struct{})
		h := HandlerFuncs{
			Open: func(c *Conn) { mu.Lock(); calls = append(calls, "open"); mu.Unlock() },
			Frame: func(c *Conn, data []byte, typ MessageType) {
				mu.Lock()
				calls = append(calls, "frame "+string(data))
				mu.Unlock()
			},
			Close: func(c *Conn, status StatusCode) {
				mu.Lock()
				calls = append(calls, "close")
				mu.Unlock()
				close(closed)
			},
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan struct{})
		srv := &http.Server{Handler: HTTPHandler(d, nil, func(*Request) (Handler, error) { return h, nil })}
		go func() {
			defer close(served)
			if viaServe(t) {
				_ = d.Serve(ln, nil, func(*Request) (Handler, error) { return h, nil })
			} else {
				_ = srv.Serve(ln)
			}
		}()
		defer func() { srv.Close(); ln.Close(); <-served }()
		c := dialRaw(t, ln.Addr().String())
		// The frames arrive with the request, so that a handler called
		// before OnOpen would show.
		c.write(append(validRequest(ln.Addr().String()).bytes(), append(clientFrame(textFin, []byte("1")), clientFrame(textFin, []byte("2"))...)...))
		c.expect([]byte(acceptResponse))
		c.nc.Close()
		select {
		case <-closed:
		case <-time.After(testTimeout):
			t.Fatal("OnClose not called")
		}
		mu.Lock()
		defer mu.Unlock()
		if got := strings.Join(calls, ", "); got != "open, frame 1, frame 2, close" {
			t.Errorf("calls: %s", got)
		}
	})
}

// Shutdown drops connections still in their handshake at once: it does
// not wait HandshakeTimeout for them.
func TestServe_ShutdownDuringHandshake(t *testing.T) {
	addr, d := serveOn(t, serveModes[0], &Config{HandshakeTimeout: time.Hour}, newEcho) // event loops: handshakes of their own
	c := dialRaw(t, addr)
	c.write(validRequest(addr).bytes()[:20])
	waitFor(t, "the connection to be served", func() bool { return d.Len() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := d.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	c.expectEOF()
}

// Reading a request and answering it allocate nothing: a server that does
// not look at requests leaves no garbage per handshake. (The Conn itself
// and its timeout entry are the connection's memory, not garbage.)
func TestServe_HandshakeAllocations(t *testing.T) {
	req := validRequest("example.com:80").add("Origin", "http://example.com:80").
		add("User-Agent", "Mozilla/5.0 (X11; Linux x86_64)").add("Sec-WebSocket-Protocol", "chat, superchat").bytes()
	head := req[:len(req)-2]
	cfg := &Config{Subprotocols: []string{"superchat"}}
	var out [256]byte
	allocs := testing.AllocsPerRun(100, func() {
		var f handshakeFields
		if _, err := parseHead(head, &f, cfg); err != nil {
			t.Fatal(err)
		}
		key, err := checkUpgrade(&f, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = appendAccept(out[:0], key, f.subprotocol(cfg.Subprotocols), "", nil)
	})
	// url.Parse of the Origin allocates; browsers send one, other clients
	// need not.
	if allocs > 1 {
		t.Errorf("%v allocations per handshake, want at most 1 (the Origin's URL)", allocs)
	}
	noOrigin := validRequest("example.com").bytes()
	noOrigin = noOrigin[:len(noOrigin)-2]
	if allocs := testing.AllocsPerRun(100, func() {
		var f handshakeFields
		if _, err := parseHead(noOrigin, &f, cfg); err != nil {
			t.Fatal(err)
		}
		key, _ := checkUpgrade(&f, cfg, nil)
		_ = appendAccept(out[:0], key, "", "", nil)
	}); allocs != 0 {
		t.Errorf("%v allocations per handshake without Origin, want 0", allocs)
	}
}

// parseHead refuses what HTTP/1.1 does not allow in a request head, with
// 400, and takes what it allows.
func TestServe_ParseHead(t *testing.T) {
	cases := []struct {
		name, head string
		ok         bool
	}{
		{"valid", "GET /x HTTP/1.1\r\nHost: h\r\n", true},
		{"no fields", "GET /x HTTP/1.1\r\n", true},
		{"value with tab and obs-text", "GET /x HTTP/1.1\r\nX: a\tb\xff\r\n", true},
		{"empty value", "GET /x HTTP/1.1\r\nX:\r\n", true},
		{"no target", "GET  HTTP/1.1\r\n", false},
		{"no version", "GET /x\r\n", false},
		{"bad version", "GET /x HTTP/1.x\r\n", false},
		{"long version", "GET /x HTTP/1.10\r\n", false},
		{"lower-case HTTP", "GET /x http/1.1\r\n", false},
		{"method not a token", "G(T /x HTTP/1.1\r\n", false},
		{"space before colon", "GET /x HTTP/1.1\r\nHost : h\r\n", false},
		{"folded line", "GET /x HTTP/1.1\r\nX: a\r\n b\r\n", false},
		{"no colon", "GET /x HTTP/1.1\r\nHost h\r\n", false},
		{"empty name", "GET /x HTTP/1.1\r\n: h\r\n", false},
		{"bare LF", "GET /x HTTP/1.1\nHost: h\r\n", false},
		{"bare CR in value", "GET /x HTTP/1.1\r\nX: a\rb\r\n", false},
		{"NUL in value", "GET /x HTTP/1.1\r\nX: a\x00b\r\n", false},
		{"DEL in value", "GET /x HTTP/1.1\r\nX: a\x7fb\r\n", false},
		{"control in target", "GET /\x01 HTTP/1.1\r\n", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var f handshakeFields
			_, err := parseHead([]byte(tc.head), &f, &defaultConfig)
			if ok := err == nil; ok != tc.ok {
				t.Fatalf("parseHead(%q) error %v, want ok=%v", tc.head, err, tc.ok)
			}
			var he *handshakeError
			if err != nil && (!errors.As(err, &he) || he.status != http.StatusBadRequest) {
				t.Errorf("error %v is not a 400 handshake error", err)
			}
		})
	}
}

// FuzzParseHead: no input makes parseHead panic, and a head that both it
// and net/http take reads the same: method, target, version and the first
// value of every field. (net/http refuses some targets and Host values
// that the handshake has no need to parse.) A handshake it accepts has no
// content as net/http frames it (RFC 9112 section 6.3), and one whose
// Content-Length net/http refuses is refused. A bare LF, which Serve refuses
// before the head ends, is never in a head parseHead takes.
func FuzzParseHead(f *testing.F) {
	const upgrade = "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + sampleKey + "\r\n"
	f.Add([]byte("GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nX: a\tb\r\nY:\r\n"))
	f.Add([]byte("POST http://h/x?y HTTP/1.0\r\nhost: h\r\n"))
	f.Add([]byte(upgrade))
	f.Add([]byte(upgrade + "Content-Length: 00\r\ncontent-length: 00\r\n"))
	f.Add([]byte(upgrade + "Content-Length: 6\r\n"))
	f.Add([]byte(upgrade + "Content-Length: 0\r\nContent-Length: 0, 0\r\n"))
	f.Add([]byte(upgrade + "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n"))
	f.Add([]byte(strings.ReplaceAll(upgrade, "\r\n", "\n")))
	f.Add([]byte(upgrade + "X: a\rb\r\n"))
	f.Fuzz(func(t *testing.T, head []byte) {
		var fl handshakeFields
		target, err := parseHead(head, &fl, &defaultConfig)
		if bareLF(head, 0) && err == nil {
			t.Fatalf("parseHead took a bare LF")
		}
		if err != nil {
			return
		}
		if bareLF(append(head, "\r\n"...), 0) {
			t.Fatalf("bareLF refuses a head parseHead takes")
		}
		key, uerr := checkUpgrade(&fl, &defaultConfig, nil)
		if uerr == nil && len(key) != 24 {
			t.Fatalf("accepted key %q", key)
		}
		hr, herr := http.ReadRequest(bufio.NewReader(strings.NewReader(string(head) + "\r\n")))
		if herr != nil {
			if uerr == nil && strings.Contains(herr.Error(), "Content-Length") {
				t.Fatalf("accepted a head net/http refuses: %v", herr)
			}
			return
		}
		if uerr == nil && (hr.ContentLength != 0 || len(hr.TransferEncoding) > 0) {
			t.Fatalf("accepted a handshake with content: Content-Length %d, Transfer-Encoding %q",
				hr.ContentLength, hr.TransferEncoding)
		}
		if hr.Method != fl.method || hr.RequestURI != string(target) || hr.ProtoMajor != fl.major || hr.ProtoMinor != fl.minor {
			t.Fatalf("parseHead: %s %q %d.%d; net/http: %s %q %d.%d", fl.method, target, fl.major, fl.minor,
				hr.Method, hr.RequestURI, hr.ProtoMajor, hr.ProtoMinor)
		}
		if fl.size != len(head) {
			t.Fatalf("size %d, head %d bytes", fl.size, len(head))
		}
		r := &Request{head: head, target: target}
		for name := range hr.Header {
			if got, want := r.Header(name), hr.Header.Get(name); got != want {
				t.Fatalf("field %s: %q, net/http %q", name, got, want)
			}
		}
	})
}

// At MaxConnections a complete request is answered 503 with Retry-After,
// before newHandler is asked.
func TestServe_MaxConnections(t *testing.T) {
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			var calls atomic.Int32
			m.cfg.MaxConnections = 1
			addr, _ := serveOn(t, m, nil, func(r *Request) (Handler, error) {
				calls.Add(1)
				return newEcho(r)
			})
			first := dialRaw(t, addr).connect(sampleKey)
			first.send(textFin, []byte("x"))
			first.expect(serverFrame(opText, []byte("x")))

			c := dialRaw(t, addr)
			c.write(validRequest(addr).bytes())
			resp := readResponse(t, c)
			if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
				t.Errorf("answered %d with Retry-After %q, want 503 and 1", resp.StatusCode, resp.Header.Get("Retry-After"))
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("newHandler called %d times, want 1", n)
			}
		})
	}
}
