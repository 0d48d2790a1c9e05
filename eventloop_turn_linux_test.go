package wss

import (
	"bytes"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// waitUnread waits until c's socket holds at least n bytes not yet read by
// the loop. The kernel announces nothing the test could wait on, so it
// polls, with a deadline.
func waitUnread(t *testing.T, c *Conn, n int) {
	t.Helper()
	for deadline := time.Now().Add(testTimeout); c.fd.Unread() < n; {
		if time.Now().After(deadline) {
			t.Fatalf("server socket holds %d bytes, want %d", c.fd.Unread(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// A connection with much input already read into its socket gets a turn
// bounded in time, not a whole read budget: a message of another
// connection that became readable just after it is handled after a few of
// its messages, not after all of them, nor after all that one read of the
// loop's buffer brought: a read of 64 KiB holds 936 of the 64-byte messages
// sent here, and a turn of loopTurn ends between two of them (how many it
// handles depends on the speed of the code: 300 to 600 here).
func TestEventLoopTurnIsBoundedInTime(t *testing.T) {
	if !eventLoopSupported {
		t.Skip("no event loop on this system")
	}
	h := &turnHandler{gate: make(chan struct{}), blocked: make(chan struct{}), conns: make(chan *Conn, 1), atB: make(chan int64, 1)}
	s := startLoopServer(t, DispatcherConfig{Mode: ModeEventLoop, Loops: 1}, &Config{PingInterval: -1}, func() Handler { return h })
	gate, bulk, other := dialRaw(t, s.addr).connect(sampleKey), dialRaw(t, s.addr).connect(sampleKey), dialRaw(t, s.addr).connect(sampleKey)
	bulk.send(binFin, []byte("h"))
	bulk.expect(serverFrame(opBinary, []byte("h")))
	server := <-h.conns
	// Room for all of the bulk input, and for all of its echoes.
	const msgs, size = 8000, 64
	for _, opt := range []int{unix.SO_RCVBUF, unix.SO_SNDBUF} {
		if err := unix.SetsockoptInt(int(server.fd.Num()), unix.SOL_SOCKET, opt, 4<<20); err != nil {
			t.Fatal(err)
		}
	}
	if err := bulk.nc.(interface{ SetReadBuffer(int) error }).SetReadBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	msg := clientFrame(binFin, bytes.Repeat([]byte("a"), size))
	echo := serverFrame(opBinary, bytes.Repeat([]byte("a"), size))

	gate.send(binFin, []byte("g"))
	<-h.blocked // the loop waits in the handler: input only piles up
	bulk.write(bytes.Repeat(msg, msgs))
	waitUnread(t, server, msgs*len(msg))
	other.send(binFin, []byte("b"))
	close(h.gate)
	gate.expect(serverFrame(opBinary, []byte("g")))

	if n, perRead := <-h.atB, int64(loopBufSize/len(msg)); n >= perRead {
		t.Errorf("the other connection's message was handled after %d of the bulk connection's, want fewer than one read's %d", n, perRead)
	}
	other.expect(serverFrame(opBinary, []byte("b")))
	bulk.expect(bytes.Repeat(echo, msgs))
}

// queuedBytes returns what waits in c's output queue, from its segments.
func queuedBytes(c *Conn) int {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	n := 0
	if q := c.out.Load(); q != nil {
		for _, s := range q.segs {
			n += int(s.hhi-s.hlo) + len(s.data)
		}
	}
	return n
}

// A peer that sends without reading: once its socket is full, the loop
// stops feeding its input at the first message after its output queued,
// and stops reading, so that its queue holds one batch, the output the
// socket refused: at most loopCorkMax bytes of gathered echoes, plus the one
// echo that was being added, not the echoes of everything the peer sent;
// and the loop goes on serving another connection. (A batch gathers all
// the echoes of one read, so what the socket refuses of it is, by
// construction, more than one echo.)
func TestEventLoopSlowReaderQueueHoldsOneBatch(t *testing.T) {
	if !eventLoopSupported {
		t.Skip("no event loop on this system")
	}
	h := &turnHandler{gate: make(chan struct{}), blocked: make(chan struct{}), conns: make(chan *Conn, 1), atB: make(chan int64, 8)}
	s := startLoopServer(t, DispatcherConfig{Mode: ModeEventLoop, Loops: 1}, &Config{PingInterval: -1}, func() Handler { return h })
	slow, other := dialRaw(t, s.addr).connect(sampleKey), dialRaw(t, s.addr).connect(sampleKey)
	slow.send(binFin, []byte("h"))
	slow.expect(serverFrame(opBinary, []byte("h")))
	server := <-h.conns
	const size = 64
	msg := clientFrame(binFin, bytes.Repeat([]byte("a"), size))
	block := bytes.Repeat(msg, 1024)
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		// Until the server stops reading: the write then blocks until the
		// test ends and closes the socket.
		for {
			if _, err := slow.nc.Write(block); err != nil {
				return
			}
		}
	}()
	for deadline := time.Now().Add(testTimeout); !server.state.is(flagPaused); {
		if time.Now().After(deadline) {
			t.Fatal("the loop never paused reading the slow reader")
		}
		time.Sleep(time.Millisecond)
	}
	if n, most := queuedBytes(server), loopCorkMax+size+2; n > most {
		t.Errorf("%d bytes queued for a peer that does not read, want at most %d (one batch: loopCorkMax and one echo)", n, most)
	}
	if got := server.Buffered(); got != queuedBytes(server) {
		t.Errorf("Buffered() = %d, want the %d bytes queued", got, queuedBytes(server))
	}
	other.send(binFin, []byte("b"))
	other.expect(serverFrame(opBinary, []byte("b")))
	slow.nc.Close()
	<-sent
}
