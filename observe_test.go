package wss

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// observed counts what an Observer is told, the way an application would:
// atomics on the message path. Refusals and closes also go to channels,
// so that tests wait for them instead of polling.
type observed struct {
	opened, rcvMsgs, rcvBytes, sentMsgs, sentBytes atomic.Int64
	queued, queuedIn                               atomic.Int64 // the sum of Queued's deltas, and of its positive ones

	refused chan string
	closed  chan StatusCode
	drained chan struct{} // a send each time the queued sum returns to 0
}

func newObserved() *observed {
	return &observed{refused: make(chan string, 64), closed: make(chan StatusCode, 256), drained: make(chan struct{}, 1)}
}

func (o *observed) observer() *Observer {
	return &Observer{
		Opened:   func() { o.opened.Add(1) },
		Refused:  func(reason string) { o.refused <- reason },
		Received: func(n int) { o.rcvMsgs.Add(1); o.rcvBytes.Add(int64(n)) },
		Sent:     func(n int) { o.sentMsgs.Add(1); o.sentBytes.Add(int64(n)) },
		Closed:   func(status StatusCode) { o.closed <- status },
		Queued: func(delta int) {
			if delta > 0 {
				o.queuedIn.Add(int64(delta))
			}
			if o.queued.Add(int64(delta)) == 0 {
				select {
				case o.drained <- struct{}{}:
				default:
				}
			}
		},
	}
}

// next returns the next value of ch, failing the test after 10 s.
func next[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10 s", what)
		panic("unreachable")
	}
}

// noMore fails the test if ch holds a value.
func noMore[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Errorf("unexpected %s: %v", what, v)
	default:
	}
}

// observedPath is a dispatcher mode and an accept path.
type observedPath struct {
	name     string
	mode     Mode
	viaServe bool // Dispatcher.Serve; else NewServer with an HTTPHandler
}

var observedPaths = []observedPath{
	{"goroutine/http", ModeGoroutine, false},
	{"goroutine/serve", ModeGoroutine, true}, // Serve through net/http
	{"eventloop/http", ModeEventLoop, false},
	{"eventloop/serve", ModeEventLoop, true}, // Serve's loops parse the handshake
}

// forEachObservedPath runs f with a Dispatcher of p's mode whose Observer
// counts into o, serving newHandler on p's accept path at the address it
// gets; the server and the Dispatcher stop when the subtest ends.
func forEachObservedPath(t *testing.T, dcfg DispatcherConfig, cfg *Config,
	newHandler func(path string) Handler, f func(t *testing.T, p observedPath, o *observed, addr string)) {
	for _, p := range observedPaths {
		t.Run(p.name, func(t *testing.T) {
			if p.mode == ModeEventLoop && !eventLoopSupported {
				t.Skip("no event loops on this system")
			}
			o := newObserved()
			dc := dcfg
			dc.Mode, dc.Loops, dc.Observer = p.mode, 2, o.observer()
			d, err := NewDispatcher(&dc)
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			choose := func(r *Request) (Handler, error) { return newHandler(r.Target()), nil }
			srv := NewServer("", HTTPHandler(d, cfg, choose), cfg)
			served := make(chan struct{})
			go func() {
				defer close(served)
				if p.viaServe {
					_ = d.Serve(ln, cfg, choose)
				} else {
					_ = srv.Serve(ln)
				}
			}()
			t.Cleanup(func() {
				srv.Close()
				ln.Close()
				<-served
				_ = d.Close()
			})
			f(t, p, o, ln.Addr().String())
		})
	}
}

// clientDispatcher returns an event-loop Dispatcher for test clients, if
// the system has one, closed when the test ends.
func clientDispatcher(t *testing.T) *Dispatcher {
	d, err := NewDispatcher(&DispatcherConfig{Mode: ModeEventLoop, Loops: 1})
	if err != nil {
		d, err = NewDispatcher(&DispatcherConfig{Mode: ModeGoroutine})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// echoObserved is the server side of the counting tests: it echoes every
// message, and tells closed (if not nil) when it has ended.
func echoObserved(closed chan<- StatusCode) Handler {
	return HandlerFuncs{
		Frame: func(c *Conn, data []byte, typ MessageType) { _ = c.Write(data, typ) },
		Close: func(_ *Conn, status StatusCode) {
			if closed != nil {
				closed <- status
			}
		},
	}
}

// The Observer counts every connection opened and closed (with its
// status), and every message and its payload bytes each way, exactly:
// payload bytes as written and received, without frame headers, and
// uncompressed when permessage-deflate is on.
func TestObserverCountsConnectionsMessagesAndBytes(t *testing.T) {
	const clients = 8
	sizes := []int{0, 1, 125, 126, 65535, 65536, 200_000}
	perClient := 0
	for _, n := range sizes {
		perClient += n
	}
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			var cfg *Config
			if compress {
				cfg = &Config{Compression: &CompressionConfig{}}
			}
			serverClosed := make(chan StatusCode, clients)
			forEachObservedPath(t, DispatcherConfig{}, cfg, func(string) Handler { return echoObserved(serverClosed) },
				func(t *testing.T, p observedPath, o *observed, addr string) {
					cd := clientDispatcher(t)
					echoes := make(chan []byte, clients*len(sizes))
					var conns []*Conn
					for range clients {
						c, err := Dial(context.Background(), "ws://"+addr+"/", HandlerFuncs{
							Frame: func(_ *Conn, data []byte, _ MessageType) { echoes <- bytes.Clone(data) },
						}, &DialOptions{Dispatcher: cd, Config: cfg})
						if err != nil {
							t.Fatal(err)
						}
						conns = append(conns, c)
					}
					for _, c := range conns {
						for _, n := range sizes {
							if err := c.Write(bytes.Repeat([]byte{'x'}, n), Binary); err != nil {
								t.Fatal(err)
							}
						}
					}
					got := 0
					for range clients * len(sizes) {
						got += len(next(t, echoes, "echo"))
					}
					if got != clients*perClient {
						t.Fatalf("echoed %d bytes, want %d", got, clients*perClient)
					}
					for _, c := range conns {
						if err := c.Close(StatusNormalClosure, ""); err != nil {
							t.Fatal(err)
						}
					}
					var statuses []StatusCode
					for range clients {
						next(t, serverClosed, "server OnClose")
						statuses = append(statuses, next(t, o.closed, "Closed"))
					}
					if want := slices.Repeat([]StatusCode{StatusNormalClosure}, clients); !slices.Equal(statuses, want) {
						t.Errorf("Closed statuses %v, want %v", statuses, want)
					}
					wantMsgs, wantBytes := int64(clients*len(sizes)), int64(clients*perClient)
					for _, c := range []struct {
						what      string
						got, want int64
					}{
						{"Opened", o.opened.Load(), clients},
						{"Received messages", o.rcvMsgs.Load(), wantMsgs},
						{"Received bytes", o.rcvBytes.Load(), wantBytes},
						{"Sent messages", o.sentMsgs.Load(), wantMsgs},
						{"Sent bytes", o.sentBytes.Load(), wantBytes},
						{"queued bytes left", o.queued.Load(), 0},
					} {
						if c.got != c.want {
							t.Errorf("%s: %d, want %d", c.what, c.got, c.want)
						}
					}
					noMore(t, o.refused, "refusal")
				})
		})
	}
}

// Refused is told why each connection was refused: "limit" for each one
// beyond MaxConnections (answered 503), and for none of those held.
func TestObserverRefusedBeyondLimit(t *testing.T) {
	const limit, beyond = 3, 4
	serverClosed := make(chan StatusCode, limit)
	forEachObservedPath(t, DispatcherConfig{MaxConnections: limit}, nil, func(string) Handler { return echoObserved(serverClosed) },
		func(t *testing.T, p observedPath, o *observed, addr string) {
			cd := clientDispatcher(t)
			var held []*Conn
			for range limit {
				c, err := Dial(context.Background(), "ws://"+addr+"/", HandlerFuncs{Frame: func(*Conn, []byte, MessageType) {}},
					&DialOptions{Dispatcher: cd})
				if err != nil {
					t.Fatal(err)
				}
				held = append(held, c)
			}
			for range beyond {
				_, err := Dial(context.Background(), "ws://"+addr+"/", HandlerFuncs{Frame: func(*Conn, []byte, MessageType) {}},
					&DialOptions{Dispatcher: cd})
				wantRefusal(t, err, http.StatusServiceUnavailable)
			}
			for range beyond {
				if r := next(t, o.refused, "refusal"); r != "limit" {
					t.Errorf("reason %q, want limit", r)
				}
			}
			for _, c := range held {
				_ = c.Close(StatusNormalClosure, "")
				next(t, serverClosed, "server OnClose")
				next(t, o.closed, "Closed")
			}
			noMore(t, o.refused, "refusal")
			if n := o.opened.Load(); n != limit {
				t.Errorf("Opened %d times, want %d", n, limit)
			}
		})
}

// wantRefusal fails the test unless err is a HandshakeError with status.
func wantRefusal(t *testing.T, err error, status int) {
	t.Helper()
	var he *HandshakeError
	if !errors.As(err, &he) || he.StatusCode != status {
		t.Fatalf("Dial: %v, want a HandshakeError with %d", err, status)
	}
}

// Refused tells the other reasons apart: "origin", "forbidden" (the
// Handler chooser said no), "handshake" (an invalid request), and on
// Serve's loops "timeout" for a request that never came. None of them
// counts as opened.
func TestObserverRefusedByReason(t *testing.T) {
	cfg := &Config{HandshakeTimeout: 300 * time.Millisecond}
	newHandler := func(path string) Handler {
		if path == "/no" {
			return nil
		}
		return echoObserved(nil)
	}
	forEachObservedPath(t, DispatcherConfig{}, cfg, newHandler, func(t *testing.T, p observedPath, o *observed, addr string) {
		cd := clientDispatcher(t)
		dial := func(path string, header http.Header) error {
			_, err := Dial(context.Background(), "ws://"+addr+path, HandlerFuncs{Frame: func(*Conn, []byte, MessageType) {}},
				&DialOptions{Dispatcher: cd, Config: cfg, Header: header})
			return err
		}
		wantReason := func(want string) {
			t.Helper()
			if r := next(t, o.refused, "refusal"); r != want {
				t.Errorf("reason %q, want %q", r, want)
			}
		}
		wantRefusal(t, dial("/", http.Header{"Origin": {"http://elsewhere.example"}}), http.StatusForbidden)
		wantReason("origin")
		wantRefusal(t, dial("/no", nil), http.StatusForbidden)
		wantReason("forbidden")
		rc := dialRaw(t, addr)
		rc.write([]byte("GET / HTTP/1.1\r\nHost: " + addr + "\r\n\r\n"))
		if status := readStatus(t, rc.nc); status != http.StatusBadRequest {
			t.Errorf("invalid request answered %d, want 400", status)
		}
		wantReason("handshake")
		if p.mode == ModeEventLoop && p.viaServe {
			silent := dialRaw(t, addr)
			if _, err := io.ReadAll(silent.nc); err != nil && !isReset(err) {
				t.Fatal(err)
			}
			wantReason("timeout")
		}
		noMore(t, o.refused, "refusal")
		if n := o.opened.Load(); n != 0 {
			t.Errorf("Opened %d times, want 0", n)
		}
	})
}

// readStatus reads an HTTP response's status code from nc.
func readStatus(t *testing.T, nc net.Conn) int {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [12]byte
	if _, err := io.ReadFull(nc, b[:]); err != nil {
		t.Fatal(err)
	}
	var status int
	if _, err := fmt.Sscanf(string(b[9:12]), "%d", &status); err != nil {
		t.Fatalf("response %q: %v", b, err)
	}
	return status
}

// Queued tells the output an event loop holds for a peer that does not
// read: it grows when a handler writes more than the socket takes, by no
// more than the frame, and returns to 0 once the peer has read it all, or
// once the connection ends with output still queued.
func TestObserverQueuedBytes(t *testing.T) {
	const size = 32 << 20 // more than loopback's socket buffers hold
	const frameLen = 10 + size
	for _, peerReads := range []bool{true, false} {
		t.Run(fmt.Sprintf("peerReads=%v", peerReads), func(t *testing.T) {
			written := make(chan error, 1)
			serverClosed := make(chan StatusCode, 1)
			newHandler := func(string) Handler {
				return HandlerFuncs{
					Frame: func(c *Conn, _ []byte, _ MessageType) { written <- c.Write(make([]byte, size), Binary) },
					Close: func(_ *Conn, status StatusCode) { serverClosed <- status },
				}
			}
			forEachObservedPath(t, DispatcherConfig{}, nil, newHandler, func(t *testing.T, p observedPath, o *observed, addr string) {
				if p.mode != ModeEventLoop {
					t.Skip("only event-loop connections queue output")
				}
				rc := dialRaw(t, addr).connect(sampleKey)
				rc.send(fin|byte(opBinary), []byte("go"))
				// A handler's Write returns once what the socket did not take is queued.
				if err := next(t, written, "Write"); err != nil {
					t.Fatal(err)
				}
				if q := o.queued.Load(); q <= 0 || q > frameLen {
					t.Fatalf("queued %d bytes after the Write, want 1 to %d", q, frameLen)
				}
				wantStatus := StatusConnLost
				if peerReads {
					rc.deadline()
					if n, err := io.CopyN(io.Discard, rc.br, frameLen); err != nil {
						t.Fatalf("read %d of %d bytes: %v", n, frameLen, err)
					}
					next(t, o.drained, "queue drained")
					if in := o.queuedIn.Load(); in > frameLen {
						t.Errorf("queued %d bytes in all, more than the frame's %d", in, frameLen)
					}
					rc.write(clientFrame(fin|byte(opClose), closePayload(StatusNormalClosure, "")))
					wantStatus = StatusNormalClosure
				} else {
					rc.nc.Close()
				}
				if s := next(t, o.closed, "Closed"); s != wantStatus {
					t.Errorf("Closed with %d, want %d", s, wantStatus)
				}
				next(t, serverClosed, "server OnClose")
				if q := o.queued.Load(); q != 0 {
					t.Errorf("%d bytes still counted queued after the end", q)
				}
			})
		})
	}
}

// An echo with an Observer set costs no allocation either: the hook's
// calls on the message path are a nil check and a call.
func TestEchoAllocationsWithObserver(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("round trips over loopback; allocation counts need the race detector off")
	}
	for _, m := range dispatcherModes() {
		t.Run(m.name, func(t *testing.T) {
			o := newObserved()
			dcfg := m.cfg
			dcfg.Observer = o.observer()
			e := newEchoRoundTrip(t, dcfg, 1<<10, Text)
			if allocs := e.allocsPerEcho(t); allocs != 0 {
				t.Errorf("%v allocations per echoed message, want 0", allocs)
			}
			// AllocsPerRun makes one more run than it measures.
			if got, want := o.rcvMsgs.Load(), int64(echoWarmups+echoRuns+1); got != want {
				t.Errorf("Received %d messages, want %d", got, want)
			}
		})
	}
}

// recordHandler is a slog.Handler that sends each record's message and
// attributes, as text, to a channel.
type recordHandler struct{ records chan string }

func (h recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h recordHandler) WithGroup(string) slog.Handler            { return h }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	s := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "remote" { // the port changes every run
			s += " " + a.String()
		}
		return true
	})
	h.records <- s
	return nil
}

// The Logger gets a Debug record for each refused connection and each
// connection dropped for a reason of its own (here a pong timeout), and
// net/http's errors through a Server from NewServer, at Warn.
func TestLoggerLogsRefusalsDropsAndHTTPErrors(t *testing.T) {
	logged := make(chan string, 16)
	dcfg := DispatcherConfig{Logger: slog.New(recordHandler{logged})}
	cfg := &Config{PingInterval: 100 * time.Millisecond, PongTimeout: 100 * time.Millisecond}
	newHandler := func(path string) Handler {
		if path == "/no" {
			return nil
		}
		return echoObserved(nil)
	}
	forEachObservedPath(t, dcfg, cfg, newHandler, func(t *testing.T, p observedPath, o *observed, addr string) {
		_, err := Dial(context.Background(), "ws://"+addr+"/no", HandlerFuncs{Frame: func(*Conn, []byte, MessageType) {}},
			&DialOptions{Dispatcher: clientDispatcher(t)})
		wantRefusal(t, err, http.StatusForbidden)
		if r, want := next(t, logged, "log record"), "DEBUG wss: connection refused reason=forbidden error=forbidden"; r != want {
			t.Errorf("logged %q, want %q", r, want)
		}
		dialRaw(t, addr).connect(sampleKey) // never answers the keepalive ping
		want := "DEBUG wss: connection dropped status=" + StatusPongTimeout.String()
		if r := next(t, logged, "log record"); r != want {
			t.Errorf("logged %q, want %q", r, want)
		}
		noMore(t, logged, "log record")
	})
	t.Run("net/http", func(t *testing.T) {
		d, err := NewDispatcher(&dcfg)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		NewServer("", HTTPHandler(d, nil, nil), nil).ErrorLog.Print("http: TLS handshake error")
		if r, want := next(t, logged, "log record"), "WARN http: TLS handshake error"; r != want {
			t.Errorf("logged %q, want %q", r, want)
		}
	})
}

// pieceEcho receives messages in pieces and sends each back through a
// Writer, a fragment per piece.
type pieceEcho struct {
	w      io.WriteCloser
	closed chan<- StatusCode
}

func (p *pieceEcho) OnFrame(*Conn, []byte, MessageType) {}
func (p *pieceEcho) OnClose(_ *Conn, status StatusCode) { p.closed <- status }
func (p *pieceEcho) OnFragment(c *Conn, data []byte, typ MessageType, final bool) {
	if p.w == nil {
		p.w, _ = c.Writer(typ)
	}
	_, _ = p.w.Write(data)
	if final {
		_ = p.w.Close()
		p.w = nil
	}
}

// A message received in pieces (FragmentHandler) counts once, with its
// whole size, and so does one sent through a Writer: here the server
// streams each message back, received from a Writer (uncompressed) or a
// Write (compressed when compression is on).
func TestObserverCountsMessagesInPieces(t *testing.T) {
	const messages = 3
	fragments := []int{1000, 70_000, 5}
	size := 0
	for _, n := range fragments {
		size += n
	}
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			var cfg *Config
			if compress {
				cfg = &Config{Compression: &CompressionConfig{}}
			}
			serverClosed := make(chan StatusCode, 1)
			forEachObservedPath(t, DispatcherConfig{}, cfg, func(string) Handler { return &pieceEcho{closed: serverClosed} },
				func(t *testing.T, p observedPath, o *observed, addr string) {
					echoes := make(chan int, messages)
					c, err := Dial(context.Background(), "ws://"+addr+"/", HandlerFuncs{
						Frame: func(_ *Conn, data []byte, _ MessageType) { echoes <- len(data) },
					}, &DialOptions{Dispatcher: clientDispatcher(t), Config: cfg})
					if err != nil {
						t.Fatal(err)
					}
					for i := range messages {
						if i == 1 { // whole, so compressed when compression is on
							if err := c.Write(make([]byte, size), Binary); err != nil {
								t.Fatal(err)
							}
							if n := next(t, echoes, "echo"); n != size {
								t.Fatalf("echo of %d bytes, want %d", n, size)
							}
							continue
						}
						w, err := c.Writer(Binary)
						if err != nil {
							t.Fatal(err)
						}
						for _, n := range fragments {
							if _, err := w.Write(make([]byte, n)); err != nil {
								t.Fatal(err)
							}
						}
						if err := w.Close(); err != nil {
							t.Fatal(err)
						}
						if n := next(t, echoes, "echo"); n != size {
							t.Fatalf("echo of %d bytes, want %d", n, size)
						}
					}
					_ = c.Close(StatusNormalClosure, "")
					next(t, serverClosed, "server OnClose")
					next(t, o.closed, "Closed")
					for _, c := range []struct {
						what      string
						got, want int64
					}{
						{"Received messages", o.rcvMsgs.Load(), messages},
						{"Received bytes", o.rcvBytes.Load(), messages * int64(size)},
						{"Sent messages", o.sentMsgs.Load(), messages},
						{"Sent bytes", o.sentBytes.Load(), messages * int64(size)},
					} {
						if c.got != c.want {
							t.Errorf("%s: %d, want %d", c.what, c.got, c.want)
						}
					}
				})
		})
	}
}
