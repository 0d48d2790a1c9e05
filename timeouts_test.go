package wss

import (
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

func TestDefaultTimeouts(t *testing.T) {
	if defaultHandshakeTimeout > 10*time.Second {
		t.Errorf("defaultHandshakeTimeout = %v, want at most 10s", defaultHandshakeTimeout)
	}
	srv := NewServer(":0", nil, nil)
	if srv.ReadHeaderTimeout != defaultHandshakeTimeout || srv.MaxHeaderBytes != defaultMaxHeaderBytes {
		t.Errorf("NewServer: ReadHeaderTimeout %v, MaxHeaderBytes %d", srv.ReadHeaderTimeout, srv.MaxHeaderBytes)
	}
	var cfg Config
	if cfg.pingInterval() != defaultPingInterval || cfg.pongTimeout() != defaultPongTimeout || cfg.idleTimeout() != 0 {
		t.Errorf("zero Config: ping %v, pong %v, idle %v", cfg.pingInterval(), cfg.pongTimeout(), cfg.idleTimeout())
	}
	if off := (&Config{PingInterval: -1}); off.pingInterval() != 0 || off.sweepTick() != 0 {
		t.Errorf("PingInterval -1 leaves keepalive on")
	}
}

// A client that sends part of a request and stops is dropped after
// HandshakeTimeout (slowloris).
func TestHandshakeTimeoutDropsPartialRequest(t *testing.T) {
	cfg := &Config{HandshakeTimeout: 200 * time.Millisecond}
	ts := startHardServer(t, nil, cfg, newCloseLog())
	for _, partial := range []string{
		"",
		"GET / HTTP/1.1\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n",
	} {
		t.Run(fmt.Sprintf("%q", partial), func(t *testing.T) {
			nc, err := net.Dial("tcp", ts.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if _, err := io.WriteString(nc, partial); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = io.Copy(io.Discard, nc)
			if err != nil && !isReset(err) {
				t.Fatalf("the server kept the connection open: %v", err)
			}
			if d := time.Since(start); d < 150*time.Millisecond {
				t.Errorf("dropped after %v, before HandshakeTimeout", d)
			}
		})
	}
}

// IdleTimeout closes a connection whose peer sends no data frame with 1001,
// and OnClose reports StatusIdleTimeout; pings do not count as activity.
func TestIdleTimeoutClosesSilentPeer(t *testing.T) {
	for _, m := range dispatcherModes() {
		t.Run(m.name, func(t *testing.T) {
			log := newCloseLog()
			cfg := &Config{IdleTimeout: 150 * time.Millisecond, PingInterval: -1}
			ts := startHardServer(t, modeConfig(m.cfg), cfg, log)
			p := dialRaw(t, ts.addr).connect(randomKey())
			p.send(textFin, []byte("hello")) // activity, then only pings
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				for {
					select {
					case <-stop:
						return
					case <-time.After(20 * time.Millisecond):
						p.nc.Write(clientFrame(pingFin, nil))
					}
				}
			}()
			if code := p.expectClose(); code != StatusGoingAway {
				t.Fatalf("close code %d, want %d", code, StatusGoingAway)
			}
			p.send(closeFin, closePayload(StatusGoingAway, ""))
			if s := log.wait(t); s != StatusIdleTimeout {
				t.Fatalf("OnClose status %d, want StatusIdleTimeout (%d)", s, StatusIdleTimeout)
			}
		})
	}
}

// A silent peer gets keepalive pings; one that answers stays, one that
// stops answering is dropped with StatusPongTimeout.
func TestKeepalivePingAndPongTimeout(t *testing.T) {
	for _, m := range dispatcherModes() {
		t.Run(m.name, func(t *testing.T) {
			log := newCloseLog()
			cfg := &Config{PingInterval: 60 * time.Millisecond, PongTimeout: 300 * time.Millisecond}
			ts := startHardServer(t, modeConfig(m.cfg), cfg, log)
			p := dialRaw(t, ts.addr).connect(randomKey())
			for i := range 3 {
				f, err := p.nextFrame()
				if err != nil {
					t.Fatalf("ping %d: %v", i, err)
				}
				if f.op != opPing || !f.fin || len(f.payload) != 0 {
					t.Fatalf("got frame op %d fin %v payload %q, want an empty ping", f.op, f.fin, f.payload)
				}
				p.send(pongFin, nil)
			}
			select {
			case s := <-log.closed:
				t.Fatalf("a peer answering pings was dropped: status %d", s)
			default:
			}
			// Stop answering: the next ping goes unanswered.
			if f, err := p.nextFrame(); err != nil || f.op != opPing {
				t.Fatalf("want a ping, got %v %v", f.op, err)
			}
			if s := log.wait(t); s != StatusPongTimeout {
				t.Fatalf("OnClose status %d, want StatusPongTimeout (%d)", s, StatusPongTimeout)
			}
			p.expectEOF()
		})
	}
}

// A peer that stops reading while the server writes is dropped after
// WriteTimeout, with StatusWriteTimeout.
func TestWriteTimeoutDropsPeerThatStopsReading(t *testing.T) {
	for _, m := range dispatcherModes() {
		t.Run(m.name, func(t *testing.T) {
			log := newCloseLog()
			cfg := &Config{WriteTimeout: 200 * time.Millisecond, PingInterval: -1}
			written := make(chan error, 1)
			log.onFrame = func(c *Conn, data []byte, typ MessageType) {
				go func() {
					big := make([]byte, 1<<20)
					for {
						if err := c.Write(big, Binary); err != nil {
							written <- err
							return
						}
					}
				}()
			}
			ts := startHardServer(t, modeConfig(m.cfg), cfg, log)
			p := dialRaw(t, ts.addr).connect(randomKey())
			p.nc.(*net.TCPConn).SetReadBuffer(4 << 10)
			p.send(binFin, []byte("go"))
			if s := log.wait(t); s != StatusWriteTimeout {
				t.Fatalf("OnClose status %d, want StatusWriteTimeout (%d)", s, StatusWriteTimeout)
			}
			if err := <-written; err == nil {
				t.Fatal("Write returned no error")
			}
		})
	}
}

// A peer that never answers our close frame is dropped after CloseTimeout,
// with StatusCloseTimeout.
func TestCloseTimeoutDropsPeerThatDoesNotAnswer(t *testing.T) {
	for _, m := range dispatcherModes() {
		t.Run(m.name, func(t *testing.T) {
			log := newCloseLog()
			cfg := &Config{CloseTimeout: 150 * time.Millisecond, PingInterval: -1}
			ts := startHardServer(t, modeConfig(m.cfg), cfg, log)
			p := dialRaw(t, ts.addr).connect(randomKey())
			c := <-log.onOpen
			if err := c.Close(StatusNormalClosure, ""); err != nil {
				t.Fatal(err)
			}
			if code := p.expectClose(); code != StatusNormalClosure {
				t.Fatalf("close code %d", code)
			}
			if s := log.wait(t); s != StatusCloseTimeout {
				t.Fatalf("OnClose status %d, want StatusCloseTimeout (%d)", s, StatusCloseTimeout)
			}
			p.expectEOF()
		})
	}
}

// BenchmarkSweepIdleConnections measures one sweep over 100,000 idle
// connections with keepalive on and nothing due: the cost the timeouts add
// per tick.
func BenchmarkSweepIdleConnections(b *testing.B) {
	const n = 100000
	d, err := NewDispatcher(&DispatcherConfig{Mode: ModeGoroutine})
	if err != nil {
		b.Fatal(err)
	}
	cfg := &Config{IdleTimeout: time.Hour, PingInterval: time.Hour}
	conns := make([]*Conn, n)
	d.mu.Lock()
	for i := range conns {
		c := newConn(HandlerFuncs{}, d, cfg)
		c.state.set(flagConnected)
		d.watch(c)
		conns[i] = c
	}
	d.mu.Unlock()
	b.ResetTimer()
	var due []sweepDue
	for b.Loop() {
		now := d.sweep.advance()
		for i := 0; ; i++ {
			var ok bool
			if due, ok = d.sweepChunk(i, now, due[:0]); !ok {
				break
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/conn")
	if len(due) != 0 {
		b.Fatalf("%d connections due", len(due))
	}
	d.mu.Lock()
	for _, c := range conns {
		d.unwatch(c)
	}
	d.mu.Unlock()
	d.stopSweeper()
}

// A silent peer that takes a continuous stream of messages, and answers
// the pings that get between them, is never dropped by keepalive: while a
// write is in progress no ping is due, so no pong deadline runs.
func TestKeepaliveSpareBusyStream(t *testing.T) {
	for _, m := range dispatcherModes() {
		t.Run(m.name, func(t *testing.T) {
			log := newCloseLog()
			// Pings go out often; a pong has a second, and the stream runs
			// for more than two: under the race detector on a loaded
			// machine, the client may take a while to read through the
			// frames queued before a ping.
			cfg := &Config{PingInterval: 30 * time.Millisecond, PongTimeout: time.Second}
			ts := startHardServer(t, modeConfig(m.cfg), cfg, log)
			p := dialRaw(t, ts.addr).connect(randomKey())
			c := <-log.onOpen
			stop := make(chan struct{})
			streamed := make(chan error, 1)
			go func() {
				msg := make([]byte, 64<<10)
				for {
					select {
					case <-stop:
						streamed <- nil
						return
					default:
					}
					if err := c.Write(msg, Binary); err != nil {
						streamed <- err
						return
					}
				}
			}()
			pings := 0
			for end := time.Now().Add(2500 * time.Millisecond); time.Now().Before(end); {
				f, err := p.nextFrame()
				if err != nil {
					t.Fatalf("after %d pings: %v", pings, err)
				}
				if f.op == opPing {
					pings++
					p.send(pongFin, f.payload)
				}
			}
			close(stop)
			go io.Copy(io.Discard, p.br)
			if err := <-streamed; err != nil {
				t.Fatalf("stream ended: %v (OnClose %v)", err, log.statuses)
			}
			t.Logf("%d pings answered during the stream", pings)
		})
	}
}
