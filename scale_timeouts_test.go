package wss

// Timeouts at scale: when thousands of connections are due at the same
// moment, each must be acted on within a sweep tick of its deadline, and
// healthy peers must never be dropped for work the sweeper put off.

import (
	"context"
	"io"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scaleMode is a server set-up of the scale tests: a dispatcher mode and an
// accept path (Dispatcher.Serve when the name is serveModeName, else
// HTTPHandler), with the connection count it holds in one process under
// the race detector's goroutine limit.
type scaleMode struct {
	name  string
	dcfg  DispatcherConfig
	conns int
}

// scaleModes returns the server set-ups with loopConns connections in
// event-loop mode and goConns in goroutine mode (a goroutine each, and one
// more while a timeout acts on it).
func scaleModes(loopConns, goConns int) []scaleMode {
	modes := []scaleMode{{"goroutine", DispatcherConfig{Mode: ModeGoroutine}, goConns}}
	if eventLoopSupported {
		modes = append(modes,
			scaleMode{serveModeName, DispatcherConfig{Mode: ModeEventLoop, Loops: 2}, loopConns},
			scaleMode{"eventloop", DispatcherConfig{Mode: ModeEventLoop, Loops: 2}, loopConns})
	}
	return modes
}

// scaleClients returns an event-loop Dispatcher for many Dial clients
// (they cost no goroutine each), closed when the test ends, before the
// server it talks to.
func scaleClients(t *testing.T) *Dispatcher {
	t.Helper()
	mode := ModeEventLoop
	if !eventLoopSupported {
		mode = ModeGoroutine
	}
	d, err := NewDispatcher(&DispatcherConfig{Mode: mode, Loops: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// dialMany opens n clients to addr on d, a few at a time, and returns when
// all are connected, with the time each one's Dial returned.
func dialMany(t *testing.T, addr string, d *Dispatcher, n int, handler func(i int) Handler) []time.Time {
	t.Helper()
	const dialers = 8
	dialed := make([]time.Time, n)
	next := atomic.Int64{}
	errs := make(chan error, dialers)
	var wg sync.WaitGroup
	for range dialers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			opts := &DialOptions{Dispatcher: d, Config: &Config{PingInterval: -1}}
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
				_, err := Dial(ctx, "ws://"+addr+"/", handler(i), opts)
				cancel()
				if err != nil {
					errs <- err
					return
				}
				dialed[i] = time.Now()
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatalf("dial: %v", err)
	}
	return dialed
}

// statusCounts tells the OnClose statuses in closed so far, for failures.
func statusCounts(closed chan StatusCode) map[StatusCode]int {
	counts := map[StatusCode]int{}
	for {
		select {
		case s := <-closed:
			counts[s]++
		default:
			return counts
		}
	}
}

// Thousands of idle peers that answer every ping stay connected across
// several ping intervals, however many fall due in the same sweep, and
// each is pinged in every interval.
func TestScaleKeepaliveKeepsPeersThatAnswer(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test")
	}
	const interval, pongTimeout = time.Second, 500 * time.Millisecond
	for _, m := range scaleModes(3000, 2000) {
		t.Run(m.name, func(t *testing.T) {
			log := newCloseLog()
			cfg := &Config{PingInterval: interval, PongTimeout: pongTimeout}
			ts := startHardServer(t, &m.dcfg, cfg, log)
			clients := scaleClients(t)
			pings := make([]atomic.Int32, m.conns)
			var clientsClosed atomic.Int32
			dialMany(t, ts.addr, clients, m.conns, func(i int) Handler {
				return HandlerFuncs{
					Frame: func(*Conn, []byte, MessageType) {},
					Ping:  func(*Conn, []byte) { pings[i].Add(1) },
					Close: func(*Conn, StatusCode) { clientsClosed.Add(1) },
				}
			})
			// Holding the peers idle for the intervals is what is tested:
			// there is no event to wait for but a drop.
			hold := time.NewTimer(3*interval + interval/4)
			defer hold.Stop()
			select {
			case s := <-log.closed:
				<-hold.C
				counts := statusCounts(log.closed)
				counts[s]++
				t.Fatalf("%d peers that answer pings: dropped by status %v", m.conns, counts)
			case <-hold.C:
			}
			if n := clientsClosed.Load(); n != 0 {
				t.Fatalf("%d of %d clients saw their connection end", n, m.conns)
			}
			unpinged, least := 0, int32(1<<30)
			for i := range pings {
				n := pings[i].Load()
				least = min(least, n)
				if n < 2 {
					unpinged++
				}
			}
			if unpinged != 0 {
				t.Fatalf("%d of %d peers got fewer than 2 pings in 3 intervals (least: %d)", unpinged, m.conns, least)
			}
		})
	}
}

// Thousands of TCP connections that send nothing are each closed by the
// server within HandshakeTimeout and a second of their connect: through
// Dispatcher.Serve, where the sweeper times handshakes out, and through
// net/http (its ReadHeaderTimeout), for comparison.
func TestScaleHandshakeTimeoutClosesSilentConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test")
	}
	const timeout, slack = time.Second, time.Second
	type path struct {
		name  string
		dcfg  DispatcherConfig
		conns int
	}
	paths := []path{{"nethttp", DispatcherConfig{Mode: ModeGoroutine}, 2000}}
	if eventLoopSupported {
		paths = append(paths, path{serveModeName, DispatcherConfig{Mode: ModeEventLoop, Loops: 2}, 5000})
	}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			ts := startHardServer(t, &p.dcfg, &Config{HandshakeTimeout: timeout}, newCloseLog())
			lifetimes := make(chan time.Duration, p.conns)
			var wg sync.WaitGroup
			defer wg.Wait()
			for range p.conns {
				nc, err := net.Dial("tcp", ts.addr)
				if err != nil {
					t.Fatal(err)
				}
				connected := time.Now()
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer nc.Close()
					nc.SetReadDeadline(connected.Add(timeout + slack + testTimeout))
					_, err := io.Copy(io.Discard, nc)
					if err != nil && !isReset(err) {
						lifetimes <- -1 // still open at the read deadline
						return
					}
					lifetimes <- time.Since(connected)
				}()
			}
			wg.Wait()
			close(lifetimes)
			var all []time.Duration
			for d := range lifetimes {
				all = append(all, d)
			}
			sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
			late := sort.Search(len(all), func(i int) bool { return all[i] > timeout+slack })
			if all[0] < 0 || late < len(all) {
				t.Fatalf("%d of %d silent connections not closed within %v (first %v, last %v)",
					len(all)-late, len(all), timeout+slack, all[0], all[len(all)-1])
			}
			t.Logf("%d silent connections closed after %v to %v", len(all), all[0], all[len(all)-1])
		})
	}
}

// Thousands of peers that send no data frame are each closed with 1001
// within IdleTimeout and a second of their connect.
func TestScaleIdleTimeoutClosesSilentPeers(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test")
	}
	const idle, slack = time.Second, time.Second
	for _, m := range scaleModes(3000, 2000)[:2] { // goroutine, and event loop through Serve
		t.Run(m.name, func(t *testing.T) {
			log := newCloseLog()
			ts := startHardServer(t, &m.dcfg, &Config{IdleTimeout: idle, PingInterval: -1}, log)
			clients := scaleClients(t)
			type ending struct {
				i      int
				status StatusCode
				at     time.Time
			}
			endings := make(chan ending, m.conns)
			dialed := dialMany(t, ts.addr, clients, m.conns, func(i int) Handler {
				return HandlerFuncs{
					Frame: func(*Conn, []byte, MessageType) {},
					Close: func(_ *Conn, status StatusCode) { endings <- ending{i, status, time.Now()} },
				}
			})
			bound := time.NewTimer(idle + slack + testTimeout)
			defer bound.Stop()
			late, worst := 0, time.Duration(0)
			for range m.conns {
				var e ending
				select {
				case e = <-endings:
				case <-bound.C:
					t.Fatalf("not every idle peer was closed within %v", idle+slack+testTimeout)
				}
				if e.status != StatusGoingAway {
					t.Fatalf("client %d ended with status %d, want %d", e.i, e.status, StatusGoingAway)
				}
				// A client may see its end before its Dial returns.
				lived := e.at.Sub(dialed[e.i])
				worst = max(worst, lived)
				if lived > idle+slack {
					late++
				}
			}
			if late != 0 {
				t.Fatalf("%d of %d idle peers closed later than %v (last after %v)", late, m.conns, idle+slack, worst)
			}
			for range m.conns {
				if s := log.wait(t); s != StatusIdleTimeout {
					t.Fatalf("OnClose status %d, want StatusIdleTimeout (%d)", s, StatusIdleTimeout)
				}
			}
		})
	}
}
