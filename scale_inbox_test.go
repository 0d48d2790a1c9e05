package wss

import (
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Thousands of connections whose Inbox is full and never read, each with
// a message waiting on it (its goroutine blocked in OnFrame, or its event
// loop holding it) and more input behind: Dispatcher.Close drops them all,
// every OnClose runs with StatusShutdown, and Close returns.
func TestScaleCloseEndsFullInboxes(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test")
	}
	for _, m := range scaleModes(3000, 1500) {
		t.Run(m.name, func(t *testing.T) {
			entered := make(chan struct{}, 3*m.conns)
			var mu sync.Mutex
			var inboxes []*Inbox
			d := serveInboxes(t, m.dcfg, func() Handler {
				in := NewInbox(1)
				mu.Lock()
				inboxes = append(inboxes, in)
				mu.Unlock()
				return &enteringInbox{in, entered}
			})
			dialMany(t, d.addr, scaleClients(t), m.conns, func(int) Handler {
				return HandlerFuncs{Open: func(c *Conn) {
					for _, msg := range []string{"fills", "waits", "behind"} {
						_ = c.Write([]byte(msg), Binary)
					}
				}}
			})
			// The first message fills each Inbox, the second finds it full.
			bound := time.NewTimer(testTimeout)
			defer bound.Stop()
			for i := range 2 * m.conns {
				select {
				case <-entered:
				case <-bound.C:
					t.Fatalf("%d of %d messages reached the Inboxes", i, 2*m.conns)
				}
			}
			closed := make(chan error, 1)
			go func() { closed <- d.d.Close() }()
			select {
			case err := <-closed:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(testTimeout):
				t.Fatalf("Dispatcher.Close has not returned after %v with %d full Inboxes", testTimeout, m.conns)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(inboxes) != m.conns {
				t.Fatalf("%d connections served, want %d", len(inboxes), m.conns)
			}
			for i, in := range inboxes {
				if st, ended := in.Status(); !ended || st != StatusShutdown {
					t.Fatalf("connection %d: OnClose status %v (ended %v), want %v", i, st, ended, StatusShutdown)
				}
			}
		})
	}
}

// inboxServer is a server on its own Dispatcher, which the test closes.
type inboxServer struct {
	d    *Dispatcher
	addr string
}

// serveInboxes serves every request with a Handler from newHandler, on the
// accept path the test's name asks for (viaServe); the test closes d.
func serveInboxes(t *testing.T, dcfg DispatcherConfig, newHandler func() Handler) *inboxServer {
	t.Helper()
	d, err := NewDispatcher(&dcfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{PingInterval: -1}
	accept := func(*Request) (Handler, error) { return newHandler(), nil }
	srv := &http.Server{Handler: HTTPHandler(d, cfg, accept)}
	serve := func() { _ = srv.Serve(ln) }
	if viaServe(t) {
		serve = func() { _ = d.Serve(ln, cfg, accept) }
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
		_ = d.Close() // ErrShutdown once the test closed it
	})
	return &inboxServer{d: d, addr: ln.Addr().String()}
}
