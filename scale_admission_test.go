package wss

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// The admission tier: thousands of silent sockets against MaxConnections
// and Shutdown, on each accept path. Servers and clients share this
// process, so a server's descriptors are the process's open ones less
// those open before the server took any connection and the clients' own.

// admissionPath is a way connections reach a Dispatcher.
type admissionPath struct {
	name string
	mode Mode
	http bool // NewServer with HTTPHandler, rather than Dispatcher.Serve
}

var admissionPaths = []admissionPath{
	{"serve-eventloop", ModeEventLoop, false},
	{"serve-goroutine", ModeGoroutine, false}, // net/http inside Serve
	{"httphandler-eventloop", ModeEventLoop, true},
}

// admissionServer is a server on a loopback port, and the clients of one
// test, whose sockets it counts.
type admissionServer struct {
	addr    string
	d       *Dispatcher
	log     *closeLog
	clients *Dispatcher // serves the Dial clients: no goroutine per connection
	fds     int         // open before any connection
	open    int         // client sockets open
	raw     map[net.Conn]struct{}
}

func startAdmission(t *testing.T, p admissionPath, maxConns int) *admissionServer {
	t.Helper()
	d, err := NewDispatcher(&DispatcherConfig{Mode: p.mode, Loops: 2, MaxConnections: maxConns})
	if err != nil {
		t.Skipf("%s: %v", p.name, err)
	}
	clients, err := NewDispatcher(&DispatcherConfig{Mode: ModeEventLoop, Loops: 1})
	if err != nil {
		t.Skipf("client dispatcher: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Long enough that no socket of the test times out: admission alone
	// must bound them.
	cfg := &Config{HandshakeTimeout: time.Minute, PingInterval: -1}
	log := newCloseLog()
	srv := NewServer("", HTTPHandler(d, cfg, func(*Request) (Handler, error) { return log, nil }), cfg)
	served := make(chan struct{})
	go func() {
		defer close(served)
		if p.http {
			_ = srv.Serve(ln)
		} else {
			_ = d.Serve(ln, cfg, func(*Request) (Handler, error) { return log, nil })
		}
	}()
	s := &admissionServer{addr: ln.Addr().String(), d: d, log: log, clients: clients, raw: make(map[net.Conn]struct{})}
	t.Cleanup(func() {
		for nc := range s.raw {
			nc.Close()
		}
		ln.Close()
		srv.Close()
		<-served
		clients.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.Shutdown(ctx)
	})
	// The goroutine-mode pacer's pipe, made at the first busy turn and kept
	// for the process, is not the server's: count it in the baseline.
	turns.open()
	s.fds = openFDs(t)
	return s
}

// serverFDs returns the descriptors the server holds.
func (s *admissionServer) serverFDs(t *testing.T) int {
	return openFDs(t) - s.fds - s.open
}

// silent opens a TCP connection that sends nothing.
func (s *admissionServer) silent(t *testing.T) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	s.open++
	s.raw[nc] = struct{}{}
	return nc
}

func (s *admissionServer) closeClient(nc net.Conn) {
	nc.Close()
	s.open--
	delete(s.raw, nc)
}

// dial opens a WebSocket client connection, or returns the handshake's error.
func (s *admissionServer) dial(t *testing.T, h Handler) (*Conn, error) {
	t.Helper()
	c, err := Dial(context.Background(), "ws://"+s.addr+"/", h,
		&DialOptions{Dispatcher: s.clients, Config: &Config{PingInterval: -1}})
	if err == nil {
		s.open++
	}
	return c, err
}

// slots returns the MaxConnections slots the server holds.
func (s *admissionServer) slots() int {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	return s.d.slots
}

// expectRefused reads from nc, which sent nothing, the answer to a socket
// accepted beyond the bound: 503, with Retry-After 1 when the Dispatcher
// is only full, then the end of the connection.
func expectRefused(t *testing.T, nc net.Conn, retryAfter string) {
	t.Helper()
	expectRefusal(t, nc, retryAfter, false)
}

// expectRefusal is expectRefused for a socket that sent a request or not
// (sent): the server closed it without reading, so that a request sent
// may reset the connection after the answer.
func expectRefusal(t *testing.T, nc net.Conn, retryAfter string, sent bool) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(testTimeout))
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to a refused socket: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != retryAfter {
		t.Fatalf("refused socket answered %d with Retry-After %q, want 503 and %q",
			resp.StatusCode, resp.Header.Get("Retry-After"), retryAfter)
	}
	n, err := br.Read(make([]byte, 1))
	if sent && errors.Is(err, syscall.ECONNRESET) {
		err = io.EOF
	}
	if n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("after the 503: %d bytes, %v; want the end of the connection", n, err)
	}
}

// validRequestTo sends a valid opening handshake on a new socket.
func (s *admissionServer) validRequestTo(t *testing.T) net.Conn {
	t.Helper()
	nc := s.silent(t)
	if _, err := nc.Write(validRequest(s.addr).bytes()); err != nil {
		t.Fatal(err)
	}
	return nc
}

// With MaxConnections N held by N-k upgraded and k silent sockets, a valid
// client gets 503 with Retry-After; thousands more silent sockets arriving
// as fast as they can are each answered 503 and closed at once, so the
// server never holds more than N descriptors; once some silent ones close,
// their slots take new clients.
func TestScaleAdmissionBoundsHandshakesInProgress(t *testing.T) {
	if testing.Short() {
		t.Skip("thousands of connections")
	}
	const (
		maxConns = 1000
		upgraded = 400
		flood    = 3000
		slack    = 4 // a socket being refused, a descriptor being duplicated
	)
	for _, p := range admissionPaths {
		t.Run(p.name, func(t *testing.T) {
			s := startAdmission(t, p, maxConns)
			for range upgraded {
				if _, err := s.dial(t, newCloseLog()); err != nil {
					t.Fatal(err)
				}
			}
			held := make([]net.Conn, 0, maxConns-upgraded)
			for range maxConns - upgraded {
				held = append(held, s.silent(t))
			}
			waitFor(t, "the server to accept the silent sockets", func() bool { return s.serverFDs(t) >= maxConns })

			nc := s.validRequestTo(t)
			expectRefusal(t, nc, "1", true)
			s.closeClient(nc)

			most := 0
			floods := make([]net.Conn, 0, flood)
			for i := range flood {
				floods = append(floods, s.silent(t))
				if i%50 == 0 {
					most = max(most, s.serverFDs(t))
				}
			}
			for i, nc := range floods {
				expectRefused(t, nc, "1")
				if i%50 == 0 {
					most = max(most, s.serverFDs(t))
				}
				s.closeClient(nc)
			}
			t.Logf("%s: %d silent sockets beyond MaxConnections %d: the server held at most %d descriptors",
				p.name, flood, maxConns, most)
			if most > maxConns+slack {
				t.Fatalf("the server held %d descriptors, over MaxConnections %d", most, maxConns)
			}

			const freed = 10
			for _, nc := range held[:freed] {
				s.closeClient(nc)
			}
			waitFor(t, "the closed silent sockets' slots", func() bool { return s.slots() == maxConns-freed })
			for range freed {
				if _, err := s.dial(t, newCloseLog()); err != nil {
					t.Fatalf("a freed slot refused a client: %v", err)
				}
			}
			nc = s.validRequestTo(t)
			expectRefusal(t, nc, "1", true)
			s.closeClient(nc)
			for _, nc := range held[freed:] {
				s.closeClient(nc)
			}
		})
	}
}

// Shutdown with thousands of connections, half upgraded and half silent in
// their handshake, ends them all: the upgraded ones with 1001, the silent
// ones closed; Len reaches 0 and the server holds no descriptor. Silent
// sockets that arrive afterwards are answered 503 and closed at once.
func TestScaleShutdownEndsHandshakesAndUpgraded(t *testing.T) {
	if testing.Short() {
		t.Skip("thousands of connections")
	}
	const (
		upgraded = 1500
		silent   = 1500
		late     = 500
	)
	for _, p := range admissionPaths {
		t.Run(p.name, func(t *testing.T) {
			s := startAdmission(t, p, 0)
			clientLog := newCloseLog()
			for range upgraded {
				if _, err := s.dial(t, clientLog); err != nil {
					t.Fatal(err)
				}
			}
			held := make([]net.Conn, silent)
			for i := range held {
				held[i] = s.silent(t)
			}
			waitFor(t, "the server to accept the silent sockets", func() bool { return s.serverFDs(t) >= upgraded+silent })

			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			if err := s.d.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			if n := s.d.Len(); n != 0 {
				t.Fatalf("Len = %d after Shutdown, want 0", n)
			}
			for range upgraded {
				if st := clientLog.wait(t); st != StatusGoingAway {
					t.Fatalf("client OnClose %d, want the server's 1001", st)
				}
				if st := s.log.wait(t); st != StatusGoingAway {
					t.Fatalf("server OnClose %d, want the peer's 1001", st)
				}
			}
			s.open -= upgraded // the client dispatcher closed them with OnClose
			for _, nc := range held {
				nc.SetReadDeadline(time.Now().Add(testTimeout))
				if n, err := nc.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
					t.Fatalf("a silent socket after Shutdown: %d bytes, %v; want its end", n, err)
				}
				s.closeClient(nc)
			}
			// <= 0: Shutdown also closes the event loops' own descriptors.
			waitFor(t, "the server to let go of every descriptor", func() bool { return s.serverFDs(t) <= 0 })

			most := 0
			for range late {
				nc := s.silent(t)
				expectRefused(t, nc, "")
				most = max(most, s.serverFDs(t))
				s.closeClient(nc)
			}
			if most > 1 {
				t.Fatalf("after Shutdown the server held %d descriptors for refused sockets, want at most 1", most)
			}
		})
	}
}
