package wss

import (
	"bytes"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
)

// countingConn counts the writes made to a net.Conn.
type countingConn struct {
	net.Conn
	writes atomic.Int32
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// goroutinePeer connects a goroutine-mode Conn calling h over TCP through a
// countingConn, and returns it with its raw peer.
func goroutinePeer(t *testing.T, h Handler) (*Conn, *countingConn, *rawClient) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer := dialRaw(t, ln.Addr().String())
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDispatcher(&DispatcherConfig{Mode: ModeGoroutine})
	if err != nil {
		t.Fatal(err)
	}
	closeDispatcher(t, d)
	cc := &countingConn{Conn: nc}
	c := newConn(h, d, &Config{PingInterval: -1})
	if err := c.connect(cc); err != nil {
		t.Fatal(err)
	}
	return c, cc, peer
}

// In goroutine mode, what handlers write while the connection's goroutine
// feeds the input of one read goes out with one write once that input is
// fed: the echoes of several messages, and an automatic pong with an echo.
// A write from another goroutine, outside a turn, is its own write, done
// when Write returns.
func TestGoroutineModeTurnWritesOnce(t *testing.T) {
	checkGoroutines(t)
	rec := newRecorder(nil)
	c, cc, peer := goroutinePeer(t, rec)
	var msgs, echoes [][]byte
	for i := range 8 {
		m := fmt.Appendf(nil, "message %d", i)
		msgs = append(msgs, clientFrame(binFin, m))
		echoes = append(echoes, serverFrame(opBinary, m))
	}
	// With more input after it, a payload of up to corkCopy is gathered
	// with what follows; one byte more goes at once with what came before
	// it (this net.Conn has no writev: one Write a part), and what follows
	// is gathered anew.
	atCopy, pastCopy := bytes.Repeat([]byte{'c'}, corkCopy), bytes.Repeat([]byte{'d'}, corkCopy+1)
	cases := []struct {
		name    string
		request []byte
		want    []byte
		writes  int32
	}{
		{"the echoes of one read", bytes.Join(msgs, nil), bytes.Join(echoes, nil), 1},
		{"a pong and an echo", append(clientFrame(pingFin, []byte("p")), clientFrame(binFin, []byte("m"))...),
			append(serverFrame(opPong, []byte("p")), serverFrame(opBinary, []byte("m"))...), 1},
		{"exactly corkCopy, then more", append(clientFrame(binFin, atCopy), clientFrame(binFin, []byte("next"))...),
			append(serverFrame(opBinary, atCopy), serverFrame(opBinary, []byte("next"))...), 1},
		{"one byte past corkCopy, then more", append(clientFrame(binFin, pastCopy), clientFrame(binFin, []byte("next"))...),
			append(serverFrame(opBinary, pastCopy), serverFrame(opBinary, []byte("next"))...), 3},
	}
	for _, tc := range cases {
		// A turn that runs out of time (goTurnLen) between two frames
		// writes what it gathered: on a busy machine that may happen
		// once; three times in a row it does not.
		var counts []int32
		for range 3 {
			before := cc.writes.Load()
			peer.write(tc.request)
			peer.expect(tc.want)
			if counts = append(counts, cc.writes.Load()-before); counts[len(counts)-1] == tc.writes {
				break
			}
		}
		// The race detector slows a turn past goTurnLen between two
		// frames: with it, only the bytes are checked.
		if n := counts[len(counts)-1]; n != tc.writes && !raceEnabled {
			t.Errorf("%s: %v writes, want %d", tc.name, counts, tc.writes)
		}
	}
	before := cc.writes.Load()
	if err := c.Write([]byte("from outside"), Binary); err != nil {
		t.Fatal(err)
	}
	if n := cc.writes.Load() - before; n != 1 {
		t.Errorf("a write from another goroutine: %d writes when it returned, want 1", n)
	}
	peer.expect(serverFrame(opBinary, []byte("from outside")))
	peer.nc.Close()
	rec.wantClose(t, StatusConnLost)
}
