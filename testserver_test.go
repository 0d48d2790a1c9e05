package wss

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// testServer is the tests' wss server, on 127.0.0.1:0: on the net/http
// path, or on Dispatcher.Serve in the mode named serveModeName. Its
// connections run a recorder each (startServer) or share one closeLog
// (startHardServer). It stops when the test ends.
type testServer struct {
	addr     string
	d        *Dispatcher
	cfg      *Config
	viaServe bool // served by Dispatcher.Serve, not net/http

	onFrame  func(c *Conn, data []byte, text bool) // the recorders' (nil: echo)
	accepted chan accepted                         // recorder connections, once open
	rejected chan error                            // Upgrade errors of recorder connections

	log *closeLog // the Handler every connection shares; nil: a recorder each

	// stopAccepting closes the listener; connections already accepted
	// stay. Safe to call again.
	stopAccepting func()
	base          map[string]string // the goroutines before the server started

	mu   sync.Mutex
	recs []*recorder
}

type accepted struct {
	conn *Conn
	rec  *recorder
}

// startServer starts a server whose connections run on d with cfg, each
// with a recorder that calls onFrame (nil: echo), under a plain
// http.Server on the net/http path. When the test ends it checks that
// every connection's OnClose was called exactly once, then stops the
// server.
func startServer(t *testing.T, d *Dispatcher, cfg *Config, onFrame func(c *Conn, data []byte, text bool)) *testServer {
	t.Helper()
	s := &testServer{
		d: d, cfg: cfg, onFrame: onFrame,
		accepted: make(chan accepted, 64),
		rejected: make(chan error, 64),
	}
	s.start(t, &http.Server{Handler: s, ErrorLog: nil}, nil)
	return s
}

// startHardServer serves log's handler with dcfg and cfg, under NewServer
// on the net/http path; the server and its own dispatcher stop when the
// test ends, and no goroutine may outlive it.
func startHardServer(t testing.TB, dcfg *DispatcherConfig, cfg *Config, log *closeLog) *testServer {
	t.Helper()
	if tt, ok := t.(*testing.T); ok {
		checkGoroutines(tt)
	}
	return serveHard(t, dcfg, cfg, log, nil)
}

// serveHard is startHardServer, over TLS when tlsCfg is not nil.
func serveHard(t testing.TB, dcfg *DispatcherConfig, cfg *Config, log *closeLog, tlsCfg *tls.Config) *testServer {
	t.Helper()
	base := goroutines()
	d, err := NewDispatcher(dcfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{d: d, cfg: cfg, log: log, base: base}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		d.Shutdown(ctx)
	})
	s.start(t, NewServer("", s, cfg), tlsCfg) // its cleanup runs first
	return s
}

// start listens and serves through srv, or Dispatcher.Serve, until the
// test ends; then it checks the recorders and stops accepting.
func (s *testServer) start(t testing.TB, srv *http.Server, tlsCfg *tls.Config) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.viaServe = viaServe(t)
	served := make(chan struct{})
	go func() {
		defer close(served)
		switch {
		case s.viaServe && tlsCfg != nil:
			_ = s.d.Serve(tls.NewListener(ln, tlsCfg), s.cfg, s.newHandler)
		case s.viaServe:
			_ = s.d.Serve(ln, s.cfg, s.newHandler)
		case tlsCfg != nil:
			srv.TLSConfig = tlsCfg
			_ = srv.ServeTLS(ln, "", "")
		default:
			_ = srv.Serve(ln)
		}
	}()
	s.stopAccepting = func() {
		srv.Close()
		ln.Close()
		<-served
	}
	t.Cleanup(func() {
		s.checkRecorders(t)
		s.stopAccepting()
	})
}

// checkRecorders checks that every recorder's OnClose was called exactly
// once.
func (s *testServer) checkRecorders(t testing.TB) {
	s.mu.Lock()
	recs := s.recs
	s.mu.Unlock()
	for _, r := range recs {
		select {
		case <-r.closed:
		case <-time.After(testTimeout):
			t.Errorf("a connection's OnClose was not called within %v", testTimeout)
		}
		if n := r.ncalls.Load(); n > 1 {
			t.Errorf("OnClose called %d times, want once", n)
		}
	}
}

// newHandler is the server's newHandler under Dispatcher.Serve.
func (s *testServer) newHandler(*Request) (Handler, error) {
	if s.log != nil {
		return s.log, nil // log.OnOpen reports it
	}
	return &openRecorder{newRecorder(s.onFrame), s}, nil
}

// openRecorder reports its connection as accepted once connected.
type openRecorder struct {
	*recorder
	s *testServer
}

func (r *openRecorder) OnOpen(c *Conn) {
	r.s.mu.Lock()
	r.s.recs = append(r.s.recs, r.recorder)
	r.s.mu.Unlock()
	r.s.accepted <- accepted{c, r.recorder}
}

// ServeHTTP upgrades on the net/http path.
func (s *testServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.log != nil {
		_, _ = upgradeFor(w, r, s.log, s.d, s.cfg) // log.OnOpen reports it
		return
	}
	rec := newRecorder(s.onFrame)
	c, err := upgradeFor(w, r, rec, s.d, s.cfg)
	if err != nil {
		s.rejected <- err
		return
	}
	s.mu.Lock()
	s.recs = append(s.recs, rec)
	s.mu.Unlock()
	s.accepted <- accepted{c, rec}
}

// next returns the next connection the server accepted.
func (s *testServer) next(t *testing.T) (*Conn, *recorder) {
	t.Helper()
	select {
	case a := <-s.accepted:
		return a.conn, a.rec
	case <-time.After(testTimeout):
		t.Fatalf("no connection accepted within %v", testTimeout)
		return nil, nil
	}
}
