package wss

import (
	"bytes"
	"runtime"
	"sync/atomic"
	"testing"
)

// turnHandler echoes every message. A message starting with 'g' blocks the
// loop until gate closes; one starting with 'h' hands its Conn to conns;
// one starting with 'b' reports how many messages starting with 'a' were
// handled before it.
type turnHandler struct {
	gate    chan struct{}
	blocked chan struct{}
	conns   chan *Conn
	seenA   atomic.Int64
	atB     chan int64
}

func (h *turnHandler) OnFrame(c *Conn, data []byte, typ MessageType) {
	switch data[0] {
	case 'g':
		h.blocked <- struct{}{}
		<-h.gate
	case 'h':
		h.conns <- c
	case 'a':
		h.seenA.Add(1)
	case 'b':
		h.atB <- h.seenA.Load()
	}
	_ = c.Write(data, typ)
}

func (h *turnHandler) OnClose(*Conn, StatusCode) {}

// A goroutine-mode connection whose peer sends without pause takes turns
// with the others: with one CPU and a few such connections, a message of
// another connection that became readable just after they started is
// handled after a few turns' worth of their messages, not after each has
// run a scheduler slice (10 ms, thousands of these messages).
func TestGoroutineTurnIsBoundedInTime(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	h := &turnHandler{gate: make(chan struct{}), blocked: make(chan struct{}), conns: make(chan *Conn, 1), atB: make(chan int64, 1)}
	s := startLoopServer(t, DispatcherConfig{Mode: ModeGoroutine}, &Config{PingInterval: -1}, func() Handler { return h })
	const bulks, msgs, size = 4, 8000, 64
	msg := clientFrame(binFin, bytes.Repeat([]byte("a"), size))
	echo := serverFrame(opBinary, bytes.Repeat([]byte("a"), size))
	other := dialRaw(t, s.addr).connect(sampleKey)
	var bulk []*rawClient
	for range bulks {
		b := dialRaw(t, s.addr).connect(sampleKey)
		// Room for all of the echoes, so that the server never waits for
		// the peer to read.
		tc := b.nc.(interface {
			SetReadBuffer(int) error
			SetWriteBuffer(int) error
		})
		if err := tc.SetReadBuffer(4 << 20); err != nil {
			t.Fatal(err)
		}
		// And for all of its input, so that the write below returns.
		if err := tc.SetWriteBuffer(4 << 20); err != nil {
			t.Fatal(err)
		}
		b.send(binFin, []byte("g"))
		<-h.blocked // its goroutine waits in the handler: input only piles up
		b.write(bytes.Repeat(msg, msgs))
		bulk = append(bulk, b)
	}
	close(h.gate) // the bulk connections run
	other.send(binFin, []byte("b"))
	n := <-h.atB
	if n >= 500 {
		t.Errorf("the other connection's message was handled after %d of the bulk connections', want fewer than 500", n)
	}
	other.expect(serverFrame(opBinary, []byte("b")))
	for _, b := range bulk {
		b.expect(serverFrame(opBinary, []byte("g")))
		b.expect(bytes.Repeat(echo, msgs))
	}
}
