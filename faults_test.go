package wss

import (
	"context"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Peers that vanish, reset or half-close at any point of a frame: OnClose
// gets the right status once, and the server closes its socket.
func TestPeerFaults(t *testing.T) {
	payload := []byte("0123456789abcdef")
	frame := clientFrame(binFin, payload)
	for _, tc := range []struct {
		name   string
		act    func(p *rawClient)
		status int
	}{
		{"vanish mid-header", func(p *rawClient) {
			p.write(frame[:1])
			p.nc.Close()
		}, StatusConnLost},
		{"vanish mid-payload", func(p *rawClient) {
			p.write(frame[:len(frame)-5])
			p.nc.Close()
		}, StatusConnLost},
		{"reset mid-payload", func(p *rawClient) {
			p.write(frame[:len(frame)-5])
			p.nc.(*net.TCPConn).SetLinger(0)
			p.nc.Close()
		}, StatusConnLost},
		{"half-close mid-payload", func(p *rawClient) {
			p.write(frame[:len(frame)-5])
			p.nc.(*net.TCPConn).CloseWrite()
			p.expectEOF()
		}, StatusConnLost},
		{"half-close after a close frame", func(p *rawClient) {
			p.send(closeFin, closePayload(StatusNormalClosure, ""))
			p.nc.(*net.TCPConn).CloseWrite()
			if code := p.expectClose(); code != StatusNormalClosure {
				p.t.Errorf("close code %d", code)
			}
			p.expectEOF()
		}, StatusNormalClosure},
		{"reset after a message", func(p *rawClient) {
			p.write(frame)
			p.nc.(*net.TCPConn).SetLinger(0)
			p.nc.Close()
		}, StatusConnLost},
	} {
		for _, m := range dispatcherModes() {
			t.Run(tc.name+"/"+m.name, func(t *testing.T) {
				log := newCloseLog()
				ts := startHardServer(t, modeConfig(m.cfg), &Config{PingInterval: -1}, log)
				p := dialRaw(t, ts.addr).connect(randomKey())
				<-log.onOpen
				tc.act(p)
				if s := log.wait(t); s != tc.status {
					t.Fatalf("OnClose %d, want %d", s, tc.status)
				}
				if ts.d.Len() != 0 {
					t.Fatalf("Len = %d after OnClose", ts.d.Len())
				}
			})
		}
	}
}

// connectCycles is how many connect/disconnect cycles the no-growth test
// runs: 10,000, or 2,000 under the race detector, which slows it tenfold.
func connectCycles() int {
	if raceEnabled {
		return 2000
	}
	return 10000
}

// 10,000 connections opened, used and closed leave no goroutine, file
// descriptor or heap behind.
func TestConnectDisconnectCyclesNoGrowth(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 connections")
	}
	for _, m := range dispatcherModes() {
		t.Run(m.name, func(t *testing.T) {
			log := newCloseLog()
			log.onFrame = func(c *Conn, data []byte, text bool) { c.Write(data, text) }
			ts := startHardServer(t, modeConfig(m.cfg), &Config{}, log)
			run := func(n int) {
				const workers = 4
				var wg sync.WaitGroup
				for w := range workers {
					wg.Go(func() {
						for i := w; i < n; i += workers {
							if err := cycle(ts.addr); err != nil {
								t.Errorf("cycle %d: %v", i, err)
								return
							}
						}
					})
				}
				for range n {
					<-log.onOpen
					if s := log.wait(t); s != StatusNormalClosure {
						t.Fatalf("OnClose %d", s)
					}
				}
				wg.Wait()
			}
			run(500) // warm up pools and the runtime
			g0, fd0, heap0 := settledGoroutines(), openFDs(t), heapAfterGC()
			start := time.Now()
			cycles := connectCycles()
			run(cycles)
			elapsed := time.Since(start)
			g1, fd1, heap1 := settledGoroutines(), openFDs(t), heapAfterGC()
			t.Logf("%s: %d cycles in %v: goroutines %d -> %d, fds %d -> %d, heap %d KiB -> %d KiB",
				m.name, cycles, elapsed.Round(time.Millisecond), g0, g1, fd0, fd1, heap0>>10, heap1>>10)
			if g1 > g0 || fd1 > fd0 {
				t.Errorf("grew: goroutines %d -> %d, fds %d -> %d", g0, g1, fd0, fd1)
			}
			if heap1 > heap0+1<<20 {
				t.Errorf("heap grew by %d KiB", (heap1-heap0)>>10)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			ts.stopAccepting()
			if err := ts.d.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			ts.assertNoWSSLeft(t)
		})
	}
}

// cycle connects, echoes one message and closes.
func cycle(addr string) error {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	p := newRawClient(nil, nc, nil) // no test to fail: only methods returning errors
	if err := p.handshake(randomKey()); err != nil {
		return err
	}
	nc.Write(append(clientFrame(textFin, []byte("hi")), clientFrame(closeFin, closePayload(StatusNormalClosure, ""))...))
	for {
		f, err := p.nextFrame()
		if err != nil {
			return err
		}
		if f.op == opClose {
			return nil
		}
	}
}

// settledGoroutines counts goroutines once those of finished connections
// have exited: net/http's connection goroutines end just after the
// handler returns, which nothing here can wait on.
func settledGoroutines() int {
	n := countGoroutines()
	for range 100 {
		runtime.Gosched()
		time.Sleep(time.Millisecond)
		if m := countGoroutines(); m >= n {
			break
		} else {
			n = m
		}
	}
	return n
}

// countGoroutines counts goroutines other than idle off-loop readers:
// those wait for work for readerIdle before they end, and how many there
// are follows how many connections had input at once, not how many came
// and went.
func countGoroutines() int {
	count := 0
	for _, g := range goroutines() {
		if !strings.Contains(g, "wss.(*loop).reader(") || strings.Contains(g, "wss.(*turn).readAll(") {
			count++
		}
	}
	return count
}

func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// A peer that floods pings and reads nothing cannot make the server queue
// pongs without end: the pong writes back up, and the connection is
// dropped by the write or keepalive deadline.
func TestPingFloodWithoutReading(t *testing.T) {
	for _, m := range dispatcherModes() {
		t.Run(m.name, func(t *testing.T) {
			log := newCloseLog()
			cfg := &Config{WriteTimeout: 200 * time.Millisecond, PingInterval: 100 * time.Millisecond, PongTimeout: 100 * time.Millisecond}
			ts := startHardServer(t, modeConfig(m.cfg), cfg, log)
			p := dialRaw(t, ts.addr).connect(randomKey())
			p.nc.(*net.TCPConn).SetReadBuffer(4 << 10)
			<-log.onOpen
			ping := clientFrame(pingFin, make([]byte, 125))
			flood := make([]byte, 0, 64*len(ping))
			for range 64 {
				flood = append(flood, ping...)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					p.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
					if _, err := p.nc.Write(flood); err != nil {
						return
					}
				}
			}()
			s := log.wait(t)
			t.Logf("dropped with status %d", s)
			if s != StatusWriteTimeout && s != StatusPongTimeout {
				t.Fatalf("OnClose %d, want StatusWriteTimeout or StatusPongTimeout", s)
			}
			p.nc.Close()
			<-done
		})
	}
}
