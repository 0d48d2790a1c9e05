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
