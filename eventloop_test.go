package wss

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// loopServer is an HTTP server upgrading every request on its own
// Dispatcher; it is shut down, and the Dispatcher closed, with the test.
type loopServer struct {
	d    *Dispatcher
	addr string
}

func startLoopServer(t testing.TB, dcfg DispatcherConfig, cfg *Config, newHandler func() Handler) *loopServer {
	t.Helper()
	d, err := NewDispatcher(&dcfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: HTTPHandler(d, cfg, func(*Request) (Handler, error) { return newHandler(), nil })}
	serve := func() { _ = srv.Serve(ln) }
	if viaServe(t) {
		serve = func() { _ = d.Serve(ln, cfg, func(*Request) (Handler, error) { return newHandler(), nil }) }
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		serve()
	}()
	t.Cleanup(func() {
		srv.Close()
		ln.Close()
		<-served
		if err := d.Close(); err != nil && !errors.Is(err, ErrShutdown) { // a test may close d itself
			t.Error(err)
		}
	})
	return &loopServer{d: d, addr: ln.Addr().String()}
}

// echoHandler echoes every message and reports OnClose's status.
type echoHandler struct {
	closed chan StatusCode
}

func newEchoHandler() *echoHandler { return &echoHandler{closed: make(chan StatusCode, 64)} }

func (h *echoHandler) OnFrame(c *Conn, data []byte, typ MessageType) { _ = c.Write(data, typ) }
func (h *echoHandler) OnClose(c *Conn, status StatusCode)            { h.closed <- status }

// Several frames in one read are all processed, in order (RFC 6455
// section 5: a frame boundary does not depend on reads).
func TestDispatcherManyFramesInOneRead(t *testing.T) {
	for _, m := range dispatcherModes() {
		t.Run(m.name, func(t *testing.T) {
			h := newEchoHandler()
			s := startLoopServer(t, m.cfg, nil, func() Handler { return h })
			rc := dialRaw(t, s.addr).connect(sampleKey)
			var burst []byte
			for i := range 200 {
				burst = append(burst, clientFrame(binFin, fmt.Appendf(nil, "msg %d", i))...)
			}
			rc.write(burst)
			for i := range 200 {
				rc.expect(serverFrame(opBinary, fmt.Appendf(nil, "msg %d", i)))
			}
		})
	}
}

// Headers and payloads split at every byte are reassembled.
func TestDispatcherFrameSplitAcrossReads(t *testing.T) {
	for _, m := range dispatcherModes() {
		t.Run(m.name, func(t *testing.T) {
			h := newEchoHandler()
			s := startLoopServer(t, m.cfg, nil, func() Handler { return h })
			rc := dialRaw(t, s.addr).connect(sampleKey)
			payload := bytes.Repeat([]byte("0123456789"), 30) // 16-bit length
			f := clientFrame(textFin, payload)
			f = append(f, clientFrame(binFin, []byte("tail"))...)
			f = append(f, clientFrame(pingFin, []byte("ping payload"))...)
			f = append(f, clientFrame(closeFin, append(closePayload(4002, ""), "split close"...))...)
			for i := range f {
				rc.write(f[i : i+1])
			}
			rc.expect(serverFrame(opText, payload))
			rc.expect(serverFrame(opBinary, []byte("tail")))
			rc.expect(serverFrame(opPong, []byte("ping payload")))
			rc.expect(serverClose(4002))
			if got := <-h.closed; got != 4002 {
				t.Errorf("OnClose status %d, want 4002", got)
			}
		})
	}
}

// A handler on a loop that writes to a peer which does not read must not
// stall the other connections of the loop; the queued output goes out, in
// order, once the peer reads.
func TestEventLoopSlowReaderDoesNotStallLoop(t *testing.T) {
	if !eventLoopSupported {
		t.Skip("no event loop on this system")
	}
	const big = 1 << 20
	h := newEchoHandler()
	s := startLoopServer(t, DispatcherConfig{Mode: ModeEventLoop, Loops: 1}, nil, func() Handler { return h })
	slow := dialRaw(t, s.addr).connect(sampleKey)
	// Enough echoes to fill both sockets' buffers many times over.
	go func() {
		for i := range 32 {
			msg := bytes.Repeat([]byte{byte('a' + i)}, big)
			if _, err := slow.nc.Write(clientFrame(binFin, msg)); err != nil {
				return // the test failed elsewhere and closed the socket
			}
		}
	}()
	fast := dialRaw(t, s.addr).connect(sampleKey)
	for i := range 50 {
		p := fmt.Appendf(nil, "ping %d", i)
		fast.send(binFin, p)
		fast.expect(serverFrame(opBinary, p))
	}
	for i := range 32 {
		slow.expect(serverFrame(opBinary, bytes.Repeat([]byte{byte('a' + i)}, big)))
	}
}

// A Write from a goroutine that is not a loop blocks until the peer takes
// the frame, and fails at WriteTimeout when it does not; OnClose then gets
// StatusWriteTimeout.
func TestDispatcherBlockingWriteTimesOut(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, &Config{WriteTimeout: 200 * time.Millisecond}, nil)
		dialRaw(t, srv.addr).connect(sampleKey) // and never read
		c, rec := srv.next(t)
		chunk := make([]byte, 1<<20)
		start := time.Now()
		var err error
		for i := 0; i < 256 && err == nil; i++ {
			err = c.Write(chunk, Binary)
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Write to a peer that does not read: %v, want a deadline error", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Write took %v to time out", d)
		}
		rec.wantClose(t, StatusWriteTimeout)
	})
}

// Close from another goroutine runs the close handshake; without an answer
// the connection is dropped at CloseTimeout.
func TestDispatcherCloseFromOtherGoroutine(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, &Config{CloseTimeout: 100 * time.Millisecond}, nil)

		answered := dialRaw(t, srv.addr).connect(sampleKey)
		c, rec := srv.next(t)
		if err := c.Close(4001, ""); err != nil {
			t.Fatal(err)
		}
		answered.expect(serverClose(4001))
		answered.send(closeFin, closePayload(4001, ""))
		if got := rec.waitClose(t); got != 4001 {
			t.Errorf("answered close: OnClose status %d, want 4001", got)
		}
		if _, err := answered.nextFrame(); err != io.EOF {
			t.Errorf("after the close handshake: %v, want EOF", err)
		}

		silent := dialRaw(t, srv.addr).connect(sampleKey)
		c, rec = srv.next(t)
		if err := c.Close(StatusNormalClosure, ""); err != nil {
			t.Fatal(err)
		}
		silent.expect(serverClose(StatusNormalClosure))
		if got := rec.waitClose(t); got != StatusCloseTimeout {
			t.Errorf("unanswered close: OnClose status %d, want %d", got, StatusCloseTimeout)
		}
		if _, err := silent.nextFrame(); err != io.EOF {
			t.Errorf("after the close timeout: %v, want EOF", err)
		}
	})
}

// Dispatcher.Close drops every connection with StatusShutdown and leaves
// no goroutine of the Dispatcher behind.
func TestDispatcherCloseEndsEverything(t *testing.T) {
	for _, m := range dispatcherModes() {
		t.Run(m.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			d, err := NewDispatcher(&m.cfg)
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			statuses := map[StatusCode]int{}
			var wg sync.WaitGroup
			h := HandlerFuncs{
				Frame: func(c *Conn, data []byte, typ MessageType) { _ = c.Write(data, typ) },
				Close: func(c *Conn, status StatusCode) {
					mu.Lock()
					statuses[status]++
					mu.Unlock()
					wg.Done()
				},
			}
			srv := &http.Server{Handler: HTTPHandler(d, nil, func(*Request) (Handler, error) { wg.Add(1); return h, nil })}
			served := make(chan struct{})
			go func() { defer close(served); _ = srv.Serve(ln) }()
			const n = 20
			clients := make([]*rawClient, n)
			for i := range clients {
				clients[i] = dialRaw(t, ln.Addr().String()).connect(sampleKey)
				clients[i].send(textFin, []byte("x"))
				clients[i].expect(serverFrame(opText, []byte("x")))
			}
			srv.Close()
			<-served
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			if statuses[StatusShutdown] != n {
				t.Errorf("OnClose statuses %v, want %d × %d", statuses, n, StatusShutdown)
			}
			for _, rc := range clients {
				if _, err := rc.nextFrame(); err == nil {
					t.Error("a connection is still open after Close")
				}
				rc.nc.Close()
			}
			// The loops have returned (Close waits for them); what is left
			// are goroutines of net/http and the test's sockets winding down.
			deadline := time.Now().Add(5 * time.Second)
			for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
				runtime.Gosched()
			}
			if after := runtime.NumGoroutine(); after > before {
				buf := make([]byte, 1<<16)
				t.Errorf("%d goroutines before, %d after Close:\n%s", before, after, buf[:runtime.Stack(buf, true)])
			}
			if s := upgradeAfterShutdown(t, d); s != http.StatusServiceUnavailable {
				t.Errorf("Upgrade after Close answered %d, want 503", s)
			}
		})
	}
}

// Writes from many goroutines at once never interleave frames.
func TestDispatcherConcurrentWrites(t *testing.T) {
	for _, m := range dispatcherModes() {
		t.Run(m.name, func(t *testing.T) {
			conns := make(chan *Conn, 1)
			h := HandlerFuncs{Frame: func(c *Conn, data []byte, typ MessageType) { conns <- c }}
			s := startLoopServer(t, m.cfg, nil, func() Handler { return h })
			rc := dialRaw(t, s.addr).connect(sampleKey)
			rc.send(textFin, []byte("go"))
			c := <-conns
			const writers, each = 8, 50
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					p := bytes.Repeat([]byte{byte('A' + w)}, 100_000+w)
					for range each {
						if err := c.Write(p, Binary); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			counts := map[byte]int{}
			for range writers * each {
				f := rc.readFrame()
				p := f.payload
				w := p[0] - 'A'
				if !f.fin || f.op != opBinary || len(p) != 100_000+int(w) || strings.Count(string(p), string(p[:1])) != len(p) {
					t.Fatalf("interleaved frame: fin %v, op %d, %d bytes", f.fin, f.op, len(p))
				}
				counts[p[0]]++
			}
			wg.Wait()
			for w := range writers {
				if counts[byte('A'+w)] != each {
					t.Errorf("writer %d: %d frames, want %d", w, counts[byte('A'+w)], each)
				}
			}
		})
	}
}

// Large messages are read straight into the message buffer by event loops:
// text with characters split across reads, fragments of a large message,
// and an invalid byte deep inside a large text frame (RFC 6455 section
// 8.1: fail at once with 1007).
func TestDispatcherLargeMessages(t *testing.T) {
	text := bytes.Repeat([]byte("é€ascii𝄞"), 300_000) // 4.8 MB, characters of 1-4 bytes
	frags := [][]byte{
		bytes.Repeat([]byte{1}, 200_000), bytes.Repeat([]byte{2}, 300_001), bytes.Repeat([]byte{3}, 70_000),
	}
	bad := bytes.Repeat([]byte("a"), 1<<20)
	bad[900_000] = 0xff
	for _, m := range dispatcherModes() {
		t.Run(m.name, func(t *testing.T) {
			h := newEchoHandler()
			s := startLoopServer(t, m.cfg, nil, func() Handler { return h })
			rc := dialRaw(t, s.addr).connect(sampleKey)
			go rc.nc.Write(clientFrame(textFin, text))
			rc.expect(serverFrame(opText, text))

			var msg []byte
			for i, f := range frags {
				b0 := contFrag
				if i == 0 {
					b0 = binFrag
				}
				if i == len(frags)-1 {
					b0 |= fin
				}
				rc.send(b0, f)
				msg = append(msg, f...)
			}
			rc.expect(serverFrame(opBinary, msg))

			go rc.nc.Write(clientFrame(textFin, bad))
			rc.expect(serverClose(StatusInvalidData))
			rc.nc.Close() // the server drains until the peer closes
			if got := <-h.closed; got != StatusInvalidUTF8 {
				t.Errorf("OnClose status %d, want %d", got, StatusInvalidUTF8)
			}
		})
	}
}

// A handler on a loop that writes to a peer which stopped reading does not
// wait: its output is queued and the connection dropped at WriteTimeout,
// with StatusWriteTimeout, while the loop serves other connections.
func TestEventLoopQueuedWriteTimesOut(t *testing.T) {
	if !eventLoopSupported {
		t.Skip("no event loop on this system")
	}
	h := newEchoHandler()
	cfg := &Config{WriteTimeout: 300 * time.Millisecond}
	s := startLoopServer(t, DispatcherConfig{Mode: ModeEventLoop, Loops: 1}, cfg, func() Handler { return h })
	stuck := dialRaw(t, s.addr).connect(sampleKey)
	big := clientFrame(binFin, make([]byte, 4<<20))
	go func() {
		for range 8 { // far more echo than the sockets buffer
			if _, err := stuck.nc.Write(big); err != nil {
				return
			}
		}
	}()
	start := time.Now()
	other := dialRaw(t, s.addr).connect(sampleKey)
	for i := 0; ; i++ {
		p := fmt.Appendf(nil, "still served %d", i)
		other.send(textFin, p)
		other.expect(serverFrame(opText, p))
		select {
		case got := <-h.closed:
			if got != StatusWriteTimeout {
				t.Fatalf("OnClose status %d, want %d", got, StatusWriteTimeout)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("dropped after %v, WriteTimeout is %v", d, cfg.WriteTimeout)
			}
			return
		default:
		}
		if time.Since(start) > testTimeout {
			t.Fatalf("no OnClose within %v of a peer that stopped reading", testTimeout)
		}
	}
}
