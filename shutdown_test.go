package wss

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/wssgo/wss/internal/frame"
)

// Shutdown sends 1001 to every connection after the writes already
// queued, lets the close handshakes finish, and leaves no goroutine or
// file descriptor of wss behind.
func TestShutdownClosesWithGoingAway(t *testing.T) {
	for _, m := range dispatcherModes() {
		t.Run(m.name, func(t *testing.T) {
			fds := openFDs(t)
			log := newCloseLog()
			ts := startHardServer(t, modeConfig(m.cfg), &Config{PingInterval: -1}, log)
			const n = 20
			peers := make([]*rawClient, n)
			conns := make([]*Conn, n)
			for i := range peers {
				peers[i] = dialRaw(t, ts.addr).connect(randomKey())
				conns[i] = <-log.onOpen
			}
			// A write in progress on the first connection: its peer reads
			// the frame header, then Shutdown starts, then the rest.
			big := make([]byte, 8<<20)
			for i := range big {
				big[i] = byte(i)
			}
			wrote := make(chan error, 1)
			go func() { wrote <- conns[0].Write(big, false) }()
			first := peers[0]
			var hdr [10]byte // 2 bytes and a 64-bit length
			if _, err := io.ReadFull(first.br, hdr[:2]); err != nil {
				t.Fatal(err)
			}

			ts.stopAccepting()
			done := make(chan error, 1)
			go func() { done <- ts.d.Shutdown(context.Background()) }()

			first.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(first.br, hdr[2:]); err != nil {
				t.Fatal(err)
			}
			if h, _ := frame.ParseHeader(hdr[:]); h.Op != opBinary || h.Length != uint64(len(big)) {
				t.Fatalf("frame header %+v", h)
			}
			got := make([]byte, len(big))
			if _, err := io.ReadFull(first.br, got); err != nil {
				t.Fatalf("the queued write did not finish: %v", err)
			}
			if string(got) != string(big) {
				t.Fatal("the queued message arrived corrupted")
			}
			if err := <-wrote; err != nil {
				t.Fatalf("Write: %v", err)
			}
			var wg sync.WaitGroup
			for _, p := range peers {
				wg.Go(func() {
					if code, err := p.answerClose(); err != nil || code != StatusGoingAway {
						t.Errorf("peer got close %d, %v; want 1001", code, err)
					}
				})
			}
			wg.Wait()
			if err := <-done; err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			for range n {
				if s := log.wait(t); s != StatusGoingAway {
					t.Errorf("OnClose %d, want the peer's 1001", s)
				}
			}
			ts.assertNoWSSLeft(t)
			for _, p := range peers {
				p.nc.Close()
			}
			if got := openFDs(t); got != fds {
				t.Errorf("%d file descriptors open after Shutdown, %d before", got, fds)
			}
			if s := upgradeAfterShutdown(t, ts.d); s != http.StatusServiceUnavailable {
				t.Errorf("Upgrade after Shutdown answered %d, want 503", s)
			}
		})
	}
}

// upgradeAfterShutdown upgrades a valid opening handshake through the
// shut-down (or closed) dispatcher d, so that only the shutdown can refuse
// it, and returns the response's status.
func upgradeAfterShutdown(t *testing.T, d *Dispatcher) int {
	t.Helper()
	req := httptest.NewRequest("GET", "http://x/chat", nil)
	for _, h := range validRequest("x").headers {
		req.Header.Add(h[0], h[1])
	}
	rec := httptest.NewRecorder()
	if _, err := upgradeFor(rec, req, newCloseLog(), d, nil); !errors.Is(err, ErrShutdown) {
		t.Errorf("Upgrade after Shutdown: %v, want ErrShutdown", err)
	}
	return rec.Code
}

// When ctx ends before the peers answer, Shutdown drops them: OnClose gets
// StatusShutdown, Shutdown returns ctx's error, and nothing of wss remains.
func TestShutdownDropsPeersAtDeadline(t *testing.T) {
	for _, m := range dispatcherModes() {
		t.Run(m.name, func(t *testing.T) {
			fds := openFDs(t)
			log := newCloseLog()
			ts := startHardServer(t, modeConfig(m.cfg), &Config{PingInterval: -1, CloseTimeout: time.Minute}, log)
			const n = 10
			peers := make([]*rawClient, n)
			for i := range peers {
				peers[i] = dialRaw(t, ts.addr).connect(randomKey())
				<-log.onOpen
			}
			ts.stopAccepting()
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			if err := ts.d.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Shutdown: %v, want DeadlineExceeded", err)
			}
			for range n {
				if s := log.wait(t); s != StatusShutdown {
					t.Errorf("OnClose %d, want StatusShutdown", s)
				}
			}
			for _, p := range peers {
				if code := p.expectClose(); code != StatusGoingAway {
					t.Errorf("close code %d, want 1001", code)
				}
				p.expectEOF()
				p.nc.Close()
			}
			ts.assertNoWSSLeft(t)
			if got := openFDs(t); got != fds {
				t.Errorf("%d file descriptors open after Shutdown, %d before", got, fds)
			}
		})
	}
}

// Write, Close and Shutdown from many goroutines at once: every OnClose is
// called once, every call returns, nothing of wss remains (run with -race).
func TestConcurrentWriteCloseShutdown(t *testing.T) {
	for _, m := range dispatcherModes() {
		t.Run(m.name, func(t *testing.T) {
			log := newCloseLog()
			ts := startHardServer(t, modeConfig(m.cfg), &Config{PingInterval: -1, CloseTimeout: time.Second}, log)
			const n, writers = 16, 4
			var peersDone sync.WaitGroup
			conns := make([]*Conn, n)
			for i := range conns {
				p := dialRaw(t, ts.addr).connect(randomKey())
				conns[i] = <-log.onOpen
				peersDone.Go(func() { p.answerClose() })
			}
			var calls sync.WaitGroup
			start := make(chan struct{})
			for i, c := range conns {
				for w := range writers {
					calls.Go(func() {
						<-start
						msg := make([]byte, 100*(w+1))
						for c.Write(msg, false) == nil {
						}
					})
				}
				if i%2 == 0 {
					calls.Go(func() {
						<-start
						c.Close(StatusNormalClosure)
						c.Close(StatusNormalClosure)
					})
				}
			}
			shut := make(chan error, 2)
			for range 2 {
				calls.Go(func() {
					<-start
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					shut <- ts.d.Shutdown(ctx)
				})
			}
			close(start)
			calls.Wait()
			for range 2 {
				if err := <-shut; err != nil {
					t.Errorf("Shutdown: %v", err)
				}
			}
			for range n {
				log.wait(t)
			}
			select {
			case s := <-log.closed:
				t.Fatalf("OnClose called more than once per connection (%d)", s)
			default:
			}
			peersDone.Wait()
			ts.assertNoWSSLeft(t)
		})
	}
}

// TestDispatcherCloseTwice: Close reports what it did, as closing a file
// does: nil when it shut the Dispatcher down, ErrShutdown when Close or
// Shutdown had done so before. Every call still waits for the end.
func TestDispatcherCloseTwice(t *testing.T) {
	for _, m := range dispatcherModes() {
		t.Run(m.name, func(t *testing.T) {
			checkGoroutines(t)
			for _, first := range []string{"Close", "Shutdown"} {
				d, err := NewDispatcher(&m.cfg)
				if err != nil {
					t.Fatal(err)
				}
				if first == "Close" {
					err = d.Close()
				} else {
					err = d.Shutdown(context.Background())
				}
				if err != nil {
					t.Fatalf("first %s: %v", first, err)
				}
				if err := d.Close(); !errors.Is(err, ErrShutdown) || !errors.Is(err, ErrClosed) {
					t.Errorf("Close after %s = %v, want ErrShutdown", first, err)
				}
			}
		})
	}
}
