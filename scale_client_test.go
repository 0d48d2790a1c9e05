package wss

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// idlePeer counts the keepalive pings one idle client connection has
// exchanged, in either direction, and reports when it reaches want.
type idlePeer struct {
	pings  atomic.Int32
	want   int32
	reach  func()
	closed atomic.Int32 // OnClose calls before the test ends it
	status atomic.Int32 // the status of the first
}

func (p *idlePeer) ping(data []byte, sent *atomic.Int64, bad *atomic.Int32) {
	sent.Add(1)
	if len(data) != 0 {
		bad.Add(1)
	}
	if p.pings.Add(1) == p.want {
		p.reach()
	}
}

// TestScaleIdleDialClients holds hundreds of idle Dial clients open across
// three keepalive intervals of 1 s, set on the clients and on the server:
// every connection exchanges empty pings and pongs (whichever side finds
// the other silent first pings it), and none ends. The server runs on
// event loops through Dispatcher.Serve; the clients run in each dispatcher
// mode (goroutine mode: a goroutine per client, well below the race
// detector's limit).
func TestScaleIdleDialClients(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test")
	}
	tests := []struct {
		mode    testMode
		clients int
	}{
		{clientModes[0], 1000},
		{clientModes[1], 1000},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %d clients", tt.mode.name, tt.clients), func(t *testing.T) {
			checkGoroutines(t)
			idleDialClients(t, tt.mode.cfg, tt.clients)
		})
	}
}

func idleDialClients(t *testing.T, mode DispatcherConfig, n int) {
	const interval = time.Second
	const rounds = 3
	cfg := &Config{PingInterval: interval}
	srvDisp, err := NewDispatcher(&DispatcherConfig{Mode: ModeEventLoop, Loops: 2})
	if err != nil {
		t.Skipf("event loops not available here: %v", err)
	}
	closeDispatcher(t, srvDisp)
	cliDisp, err := NewDispatcher(&mode)
	if err != nil {
		t.Skipf("dispatcher mode not available here: %v", err)
	}
	closeDispatcher(t, cliDisp) // closed first: cleanups run last first

	var (
		byAddr                  sync.Map // client address -> *idlePeer
		fromClients, fromServer atomic.Int64
		nonEmpty, serverCloses  atomic.Int32
		firstServerStatus       atomic.Int32
		remaining               atomic.Int32
		allReached              = make(chan struct{})
	)
	remaining.Store(int32(n))
	reach := func() {
		if remaining.Add(-1) == 0 {
			close(allReached)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srvHandler := HandlerFuncs{
		Frame: func(*Conn, []byte, bool) {},
		Close: func(_ *Conn, status int) {
			if serverCloses.Add(1) == 1 {
				firstServerStatus.Store(int32(status))
			}
		},
		Ping: func(c *Conn, data []byte) {
			addr := c.RemoteAddr() // nil once the connection has ended
			if addr == nil {
				return
			}
			if p, ok := byAddr.Load(addr.String()); ok {
				p.(*idlePeer).ping(data, &fromClients, &nonEmpty)
			}
		},
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srvDisp.Serve(ln, cfg, func(*Request) (Handler, error) { return srvHandler, nil })
	}()
	t.Cleanup(func() { ln.Close(); <-served }) // before the dispatchers close

	peers := make([]*idlePeer, n)
	conns := make([]*Conn, n)
	dialAll(t, n, func(i int) error {
		p := &idlePeer{want: rounds, reach: reach}
		peers[i] = p
		h := HandlerFuncs{
			Frame: func(*Conn, []byte, bool) {},
			Close: func(_ *Conn, status int) {
				if p.closed.Add(1) == 1 {
					p.status.Store(int32(status))
				}
			},
			Ping: func(_ *Conn, data []byte) { p.ping(data, &fromServer, &nonEmpty) },
		}
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				byAddr.Store(nc.LocalAddr().String(), p)
			}
			return nc, err
		}
		c, err := Dial(context.Background(), "ws://"+ln.Addr().String()+"/", h,
			&DialOptions{Config: cfg, Dispatcher: cliDisp, NetDialContext: dial})
		conns[i] = c
		return err
	})
	idleSince := time.Now()

	select {
	case <-allReached:
		// Held idle for at least the three intervals, whoever pinged.
		<-time.After(time.Until(idleSince.Add(rounds * interval)))
	case <-time.After(8 * rounds * interval):
		t.Errorf("%d of %d connections exchanged fewer than %d pings within %v", remaining.Load(), n, rounds, 8*rounds*interval)
	}

	var clientCloses, open int
	statuses := map[int32]int{} // OnClose status -> clients
	for i, p := range peers {
		if p.closed.Load() != 0 {
			clientCloses++
			statuses[p.status.Load()]++
		}
		if conns[i].IsValid() {
			open++
		}
	}
	t.Logf("%d idle clients for %v: %d pings from clients, %d from the server", n, time.Since(idleSince).Round(time.Millisecond), fromClients.Load(), fromServer.Load())
	if open != n || clientCloses != 0 || serverCloses.Load() != 0 || nonEmpty.Load() != 0 {
		t.Fatalf("%d of %d clients open; OnClose: %d clients (statuses %v), %d server (first status %d); %d pings not empty",
			open, n, clientCloses, statuses, serverCloses.Load(), firstServerStatus.Load(), nonEmpty.Load())
	}
}

// dialAll runs dial(i) for i in [0, n) from a few goroutines and fails the
// test at the first error.
func dialAll(t *testing.T, n int, dial func(i int) error) {
	t.Helper()
	const workers = 16
	var next atomic.Int32
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := dial(i); err != nil {
					errs <- fmt.Errorf("client %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}
