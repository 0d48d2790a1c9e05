package wss

import (
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
			d := startLoopServer(t, m.dcfg, &Config{PingInterval: -1}, func() Handler {
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
