package wss

import (
	"bytes"
	"testing"
	"time"
)

// drainRecorder echoes every message, hands its Conn over at a message
// "h", and reports every OnDrain.
type drainRecorder struct {
	conns  chan *Conn
	drains chan *Conn
}

func newDrainRecorder() *drainRecorder {
	return &drainRecorder{conns: make(chan *Conn, 1), drains: make(chan *Conn, 8)}
}

func (h *drainRecorder) OnFrame(c *Conn, data []byte, typ MessageType) {
	if string(data) == "h" {
		h.conns <- c
	}
	_ = c.Write(data, typ)
}

func (h *drainRecorder) OnClose(*Conn, StatusCode) {}

func (h *drainRecorder) OnDrain(c *Conn) { h.drains <- c }

// waitBuffered waits until c.Buffered() is above 0 and returns it. A
// Write waiting for room in the socket announces nothing the test could
// wait on, so it polls, with a deadline.
func waitBuffered(t *testing.T, c *Conn) int {
	t.Helper()
	for deadline := time.Now().Add(testTimeout); ; time.Sleep(time.Millisecond) {
		if n := c.Buffered(); n > 0 {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatal("Buffered() stayed 0 while a Write waited for the peer")
		}
	}
}

// Buffered counts the bytes accepted and not yet in the kernel, and
// OnDrain follows once when they are all there: 0 after Writes the
// socket took, with no OnDrain; while a Write waits
// at a full socket, what the kernel has not taken of its frame (goroutine
// mode: all of it until Write returns; an event loop: exactly what its
// queue holds); 0 again once the peer has read, and OnDrain once, not
// again after later writes that the socket takes.
func TestBufferedAndDrain(t *testing.T) {
	for _, m := range dispatcherModes() {
		if m.cfg.OffLoop {
			continue
		}
		t.Run(m.name, func(t *testing.T) {
			h, peer, c := connectedOutsideTurn(t, m.cfg)
			// Outside a turn, this Write goes to the socket itself, and
			// once it returns both frames are in the kernel.
			if err := c.Write([]byte("taken"), Binary); err != nil {
				t.Fatal(err)
			}
			if n := c.Buffered(); n != 0 {
				t.Fatalf("after Writes the socket took: Buffered() = %d, want 0", n)
			}
			peer.expect(serverFrame(opBinary, []byte("taken")))

			// More than the kernel's buffers on both ends hold.
			big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20)
			frame := serverFrame(opBinary, big)
			written := make(chan error, 1)
			go func() { written <- c.Write(big, Binary) }()
			n := waitBuffered(t, c)
			if c.onLoop {
				// The kernel may still move bytes to the peer's buffer,
				// and the loop flush more: compare once nothing moved.
				q := queuedBytes(c)
				for n != q || c.Buffered() != n {
					n = c.Buffered()
					q = queuedBytes(c)
				}
				if n > len(frame) {
					t.Errorf("at a full socket: Buffered() = %d, want the %d bytes queued, at most %d", n, q, len(frame))
				}
			} else if n != len(frame) {
				t.Errorf("at a full socket: Buffered() = %d, want the frame's %d bytes until Write returns", n, len(frame))
			}
			peer.deadline()
			peer.expect(frame)
			if err := <-written; err != nil {
				t.Fatal(err)
			}
			select {
			case got := <-h.drains:
				if got != c {
					t.Error("OnDrain called with another connection")
				}
			case <-time.After(testTimeout):
				t.Fatal("OnDrain not called after the output drained")
			}
			if n := c.Buffered(); n != 0 {
				t.Errorf("drained: Buffered() = %d, want 0", n)
			}
			peer.send(binFin, []byte("again"))
			peer.expect(serverFrame(opBinary, []byte("again")))
			if n := len(h.drains); n != 0 {
				t.Errorf("OnDrain called %d more times, want once", n)
			}
		})
	}
}

// connectedOutsideTurn serves one raw peer with a drainRecorder on a
// Dispatcher configured as cfg, has it echo one message, and returns once
// the turn that echoed it has ended: a Write during that turn would be
// gathered (counted by Buffered until the turn ends), and the end of a
// turn announces nothing a test could wait on, so it polls.
func connectedOutsideTurn(t *testing.T, cfg DispatcherConfig) (*drainRecorder, *rawClient, *Conn) {
	t.Helper()
	h := newDrainRecorder()
	s := startLoopServer(t, cfg, &Config{PingInterval: -1}, func() Handler { return h })
	peer := dialRaw(t, s.addr).connect(sampleKey)
	peer.send(binFin, []byte("h"))
	peer.expect(serverFrame(opBinary, []byte("h")))
	c := <-h.conns
	for deadline := time.Now().Add(testTimeout); c.state.is(flagTurn); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the turn that echoed \"h\" never ended")
		}
	}
	return h, peer, c
}
