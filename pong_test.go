package wss

import (
	"bytes"
	"testing"
	"time"
)

// TestOnPongRoundTrip: a pong that answers Ping reaches OnPong with its
// payload and the time since the ping went out; one that answers nothing
// (RFC 6455 section 5.5.3) with rtt 0.
func TestOnPongRoundTrip(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, &Config{PingInterval: -1}, nil)
		c := dialRaw(t, srv.addr).connect(sampleKey)
		conn, rec := srv.next(t)

		c.send(pongFin, []byte("unasked"))
		if p := rec.nextPong(t); string(p.data) != "unasked" || p.rtt != 0 {
			t.Fatalf("unsolicited pong: OnPong(%q, %v), want (\"unasked\", 0)", p.data, p.rtt)
		}

		before := time.Now() // before the ping went out
		if err := conn.Ping([]byte("p1")); err != nil {
			t.Fatal(err)
		}
		pinged := time.Now() // after the ping went out
		c.expect(serverFrame(opPing, []byte("p1")))
		time.Sleep(10 * time.Millisecond) // a round trip long enough to measure, not a wait for anything
		answered := time.Now()
		c.send(pongFin, []byte("p1"))
		p := rec.nextPong(t)
		got := time.Now()
		checkRTT(t, p, []byte("p1"), answered.Sub(pinged), got.Sub(before))

		c.send(pongFin, []byte("p1")) // a second answer answers nothing
		if p := rec.nextPong(t); p.rtt != 0 {
			t.Fatalf("second pong: rtt %v, want 0", p.rtt)
		}
		_ = conn.Close(StatusNormalClosure, "")
	})
}

// TestOnPongKeepalive: the pong that answers a keepalive ping reaches
// OnPong with the time since that ping went out.
func TestOnPongKeepalive(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, &Config{PingInterval: 20 * time.Millisecond, PongTimeout: testTimeout}, nil)
		start := time.Now() // before any keepalive ping
		c := dialRaw(t, srv.addr).connect(sampleKey)
		_, rec := srv.next(t)
		c.expect(serverFrame(opPing, nil))
		pinged := time.Now()              // the ping went out between start and now
		time.Sleep(10 * time.Millisecond) // a round trip long enough to measure, not a wait for anything
		answered := time.Now()
		c.send(pongFin, nil)
		p := rec.nextPong(t)
		checkRTT(t, p, nil, answered.Sub(pinged), time.Since(start))
	})
}

// checkRTT checks a pong's payload and that its rtt is within [lo, hi],
// less the microsecond the clock rounds off.
func checkRTT(t *testing.T, p pong, data []byte, lo, hi time.Duration) {
	t.Helper()
	if !bytes.Equal(p.data, data) || p.rtt+time.Microsecond < lo || p.rtt > hi {
		t.Fatalf("OnPong(%q, %v), want (%q, rtt in [%v, %v])", p.data, p.rtt, data, lo, hi)
	}
}

// TestRFC6455_5_5_2_PongWhileAWriterWaits: in goroutine mode, a ping that
// comes while another goroutine's Write waits for the peer to read is
// answered without stopping the reader, on both sides: the message behind
// the ping is delivered at once, not after WriteTimeout, and the pong
// follows the message being written once the peer reads. (An event loop
// reads no more input of a connection while its output waits for the
// peer: pauseReading.)
func TestRFC6455_5_5_2_PongWhileAWriterWaits(t *testing.T) {
	big := bytes.Repeat([]byte{'x'}, 32<<20) // more than loopback's socket buffers hold
	cfg := &Config{PingInterval: -1, WriteTimeout: time.Minute}
	t.Run("server", func(t *testing.T) {
		forEachModeOf(t, goroutineOnly(testModes), func(t *testing.T, d *Dispatcher) {
			srv := startServer(t, d, cfg, func(*Conn, []byte, MessageType) {})
			peer := dialRaw(t, srv.addr).connect(sampleKey)
			conn, rec := srv.next(t)
			written := writeWhileUnread(t, conn, big)
			peer.send(pingFin, []byte("p1"))
			peer.send(textFin, []byte("after"))
			if m := rec.nextMessage(t); string(m.data) != "after" {
				t.Fatalf("got %q, want \"after\"", m.data)
			}
			if data, op := peer.readMessage(); op != opBinary || !bytes.Equal(data, big) {
				t.Fatalf("got opcode %#x, %d bytes; want the %d-byte binary message", op, len(data), len(big))
			}
			if f := peer.readFrame(); f.op != opPong || string(f.payload) != "p1" {
				t.Fatalf("got opcode %#x %q, want the pong \"p1\"", f.op, f.payload)
			}
			if err := <-written; err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("client", func(t *testing.T) {
		forEachModeOf(t, goroutineOnly(clientModes), func(t *testing.T, d *Dispatcher) {
			probe := newClientProbe()
			conn, peer := dialRawPeer(t, d, probe, cfg)
			written := writeWhileUnread(t, conn, big)
			peer.write(serverFrame(opPing, []byte("p1")))
			peer.write(serverFrame(opText, []byte("after")))
			wantMessage(t, probe.Inbox, Message{Type: Text, Data: []byte("after")})
			if f, _ := peer.readClientFrame(); f.op != byte(opBinary) || !bytes.Equal(f.payload, big) {
				t.Fatalf("got opcode %#x, %d bytes; want the %d-byte binary message", f.op, len(f.payload), len(big))
			}
			if f, _ := peer.readClientFrame(); f.op != byte(opPong) || string(f.payload) != "p1" {
				t.Fatalf("got opcode %#x %q, want the pong \"p1\"", f.op, f.payload)
			}
			if err := <-written; err != nil {
				t.Fatal(err)
			}
			_ = conn.Close(StatusNormalClosure, "")
		})
	})
}

// A pong the goroutine-mode reader owes, because another goroutine's
// Write holds the connection while it waits for the peer, still goes out
// when the peer's close frame follows the ping: ahead of the close reply,
// which ends what may be sent (RFC 6455 sections 5.5.3 and 5.5.1). The
// reader and the pong's flusher race for the connection once the Write
// ends; before, whenever the reader's close reply won, the pong was
// dropped.
func TestRFC6455_5_5_2_OwedPongBeforeTheCloseReply(t *testing.T) {
	big := bytes.Repeat([]byte{'x'}, 32<<20) // more than loopback's socket buffers hold
	cfg := &Config{PingInterval: -1, WriteTimeout: time.Minute}
	forEachModeOf(t, goroutineOnly(testModes), func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, cfg, func(*Conn, []byte, MessageType) {})
		for range 5 { // the race goes either way; each round must keep the pong
			peer := dialRaw(t, srv.addr).connect(sampleKey)
			conn, rec := srv.next(t)
			written := writeWhileUnread(t, conn, big)
			peer.write(append(clientFrame(pingFin, []byte("p1")), clientFrame(closeFin, []byte{0x03, 0xe8})...))
			if data, op := peer.readMessage(); op != opBinary || !bytes.Equal(data, big) {
				t.Fatalf("got opcode %#x, %d bytes; want the %d-byte binary message", op, len(data), len(big))
			}
			if f := peer.readFrame(); f.op != opPong || string(f.payload) != "p1" {
				t.Fatalf("got opcode %#x %q, want the pong \"p1\" before the close reply", f.op, f.payload)
			}
			if f := peer.readFrame(); f.op != opClose || !bytes.Equal(f.payload, []byte{0x03, 0xe8}) {
				t.Fatalf("got opcode %#x %x, want the close reply 03e8", f.op, f.payload)
			}
			if err := <-written; err != nil {
				t.Fatal(err)
			}
			rec.wantClose(t, StatusNormalClosure)
		}
	})
}

// writeWhileUnread writes data to c from a goroutine of its own and
// returns once that Write waits for the peer, with the channel its result
// comes on.
func writeWhileUnread(t *testing.T, c *Conn, data []byte) <-chan error {
	t.Helper()
	written := make(chan error, 1)
	go func() { written <- c.Write(data, Binary) }()
	waitBuffered(t, c)
	return written
}

// goroutineOnly returns the goroutine-mode entries of modes.
func goroutineOnly(modes []testMode) []testMode {
	var only []testMode
	for _, m := range modes {
		if m.cfg.Mode == ModeGoroutine {
			only = append(only, m)
		}
	}
	return only
}
