package wss

// Closing conformance (RFC 6455 sections 5.5.1, 7.1, 7.4), over real
// sockets, byte for byte, and OnClose's status.

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestRFC6455_5_5_1_PeerClose: the server answers a valid close frame with a
// close frame (echoing the code), closes the TCP connection, and OnClose
// gets the peer's code, or 1005 for an empty close.
func TestRFC6455_5_5_1_PeerClose(t *testing.T) {
	type closeCase struct {
		name    string
		payload []byte
		reply   []byte
		status  StatusCode
	}
	cases := []closeCase{
		{"empty close", nil, serverFrame(opClose, nil), StatusNoStatus},
		{"1000 with a reason", closePayload(1000, "done"), serverClose(1000), 1000},
		{"reason of 123 bytes", closePayload(4000, strings.Repeat("r", 123)), serverClose(4000), 4000},
		{"UTF-8 reason", closePayload(1001, "au revoir, à bientôt €"), serverClose(1001), 1001},
	}
	for _, code := range []StatusCode{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999} {
		cases = append(cases, closeCase{fmt.Sprintf("code %d", code), closePayload(code, ""), serverClose(code), code})
	}
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := dialRaw(t, srv.addr).connect(sampleKey)
				// Frames after the close frame must be ignored.
				c.write(append(clientFrame(closeFin, tc.payload), clientFrame(textFin, []byte("after close"))...))
				c.expect(tc.reply)
				c.expectEOF()
				_, rec := srv.next(t)
				rec.wantClose(t, tc.status)
				if len(rec.msgs) != 0 {
					t.Errorf("a message after the close frame was delivered")
				}
			})
		}
	})
}

// TestRFC6455_7_4_InvalidClosePayloads: a close frame whose payload is 1 byte, or
// whose code may not be sent on the wire (section 7.4.1, 7.4.2 and the
// IANA registry), fails with 1002; a reason that is not UTF-8 with 1007
// (section 8.1).
func TestRFC6455_7_4_InvalidClosePayloads(t *testing.T) {
	var cases []frameViolation
	cases = append(cases, protocolErr("1-byte payload", clientFrame(closeFin, []byte{0x03})))
	for _, code := range []StatusCode{0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		cases = append(cases, protocolErr(fmt.Sprintf("code %d", code), clientFrame(closeFin, closePayload(code, ""))))
	}
	for _, reason := range []string{"\xff", "ok\xc3", "\xed\xa0\x80", "\xc0\xaf"} {
		cases = append(cases, frameViolation{fmt.Sprintf("reason %q", reason),
			clientFrame(closeFin, closePayload(1000, reason)), StatusInvalidData, StatusInvalidUTF8})
	}
	runViolations(t, nil, cases)
}

// TestRFC6455_7_ServerInitiatedClose: Close sends the close frame, waits for the
// peer's, then closes the socket; OnClose gets the peer's code.
func TestRFC6455_7_ServerInitiatedClose(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		for _, tc := range []struct{ sent, reply StatusCode }{{1000, 1000}, {1001, 1000}, {4001, 4001}} {
			t.Run(fmt.Sprint(tc.sent, "/", tc.reply), func(t *testing.T) {
				c := dialRaw(t, srv.addr).connect(sampleKey)
				conn, rec := srv.next(t)
				if err := conn.Close(tc.sent, ""); err != nil {
					t.Fatal(err)
				}
				c.expect(serverClose(tc.sent))
				select {
				case <-rec.closed:
					t.Fatalf("OnClose before the peer answered the close")
				default:
				}
				if err := conn.Close(1000, ""); !errors.Is(err, ErrClosed) {
					t.Errorf("second Close = %v, want ErrClosed", err)
				}
				c.send(closeFin, closePayload(tc.reply, "ack"))
				c.expectEOF()
				rec.wantClose(t, tc.reply)
			})
		}
	})
}

// TestRFC6455_7_CloseFromHandler: a handler may call Close on its own connection.
func TestRFC6455_7_CloseFromHandler(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, func(c *Conn, data []byte, typ MessageType) {
			if string(data) == "bye" {
				_ = c.Close(4002, "")
				return
			}
			_ = c.Write(data, typ)
		})
		c := dialRaw(t, srv.addr).connect(sampleKey)
		c.send(textFin, []byte("hi"))
		c.expect(serverFrame(opText, []byte("hi")))
		c.send(textFin, []byte("bye"))
		c.expect(serverClose(4002))
		c.send(closeFin, nil)
		c.expectEOF()
		_, rec := srv.next(t)
		rec.wantClose(t, StatusNoStatus)
	})
}

// TestRFC6455_7_CloseTimeout: a peer that never answers the close frame is
// dropped after CloseTimeout, with StatusCloseTimeout.
func TestRFC6455_7_CloseTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, &Config{CloseTimeout: timeout}, nil)
		c := dialRaw(t, srv.addr).connect(sampleKey)
		conn, rec := srv.next(t)
		start := time.Now()
		if err := conn.Close(1000, ""); err != nil {
			t.Fatal(err)
		}
		c.expect(serverClose(1000))
		c.expectEOF()
		if waited := time.Since(start); waited < timeout {
			t.Errorf("socket closed after %v, before CloseTimeout %v", waited, timeout)
		}
		rec.wantClose(t, StatusCloseTimeout)
	})
}

// TestRFC6455_7_1_7_FailWaitsForPeer: after failing a connection the server
// half-closes, discards what the peer still sends, and closes once the
// peer closes, or after CloseTimeout.
func TestRFC6455_7_1_7_FailWaitsForPeer(t *testing.T) {
	const timeout = 300 * time.Millisecond
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, &Config{CloseTimeout: timeout}, nil)

		c := dialRaw(t, srv.addr).connect(sampleKey)
		_, rec := srv.next(t)
		c.send(binFin|rsv1, []byte("bad"))
		c.expect(serverClose(StatusProtocolError))
		c.expectEOF()
		c.send(textFin, []byte("ignored")) // the server still reads and discards
		c.send(closeFin, closePayload(1000, ""))
		c.nc.Close()
		rec.wantClose(t, StatusProtocolViolation)
		if len(rec.msgs) != 0 {
			t.Errorf("a message after the failure was delivered")
		}

		c = dialRaw(t, srv.addr).connect(sampleKey)
		_, rec = srv.next(t)
		start := time.Now()
		c.send(textFin, []byte("\xff"))
		c.expect(serverClose(StatusInvalidData))
		c.expectEOF()
		rec.wantClose(t, StatusInvalidUTF8) // without the peer closing
		if waited := time.Since(start); waited < timeout {
			t.Errorf("dropped after %v, before CloseTimeout %v", waited, timeout)
		}
	})
}

// TestClose_InvalidCodeRefused: Close refuses codes an endpoint may not
// send, and leaves the connection open.
func TestClose_InvalidCodeRefused(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		c := dialRaw(t, srv.addr).connect(sampleKey)
		conn, rec := srv.next(t)
		for _, code := range []StatusCode{0, 999, 1004, 1005, 1006, 1015, 2000, 5000, -1} {
			if err := conn.Close(code, ""); !errors.Is(err, ErrInvalidCloseCode) {
				t.Errorf("Close(%d) = %v, want ErrInvalidCloseCode", code, err)
			}
		}
		c.send(textFin, []byte("still open"))
		c.expect(serverFrame(opText, []byte("still open")))
		c.nc.Close()
		rec.wantClose(t, StatusConnLost)
	})
}

// TestClose_Drops: a connection that ends without a close frame reports
// StatusConnLost: clean FIN, FIN inside a frame, and a reset.
func TestClose_Drops(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		for _, tc := range []struct {
			name string
			send []byte
			rst  bool
		}{
			{"FIN between frames", nil, false},
			{"FIN inside a header", clientFrame(binFin, make([]byte, 300))[:3], false},
			{"FIN inside a payload", clientFrame(binFin, make([]byte, 300))[:100], false},
			{"FIN inside a fragmented message", clientFrame(textFrag, []byte("part")), false},
			{"reset", clientFrame(binFin, make([]byte, 300))[:100], true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := dialRaw(t, srv.addr).connect(sampleKey)
				if len(tc.send) > 0 {
					c.write(tc.send)
				}
				if tc.rst {
					_ = c.nc.(*net.TCPConn).SetLinger(0)
				}
				c.nc.Close()
				_, rec := srv.next(t)
				rec.wantClose(t, StatusConnLost)
			})
		}
	})
}

// TestClose_OnceWhenBothClose: when the server's Close crosses the peer's
// close frame, OnClose is still called exactly once (the server helper
// checks the count), with the peer's code.
func TestClose_OnceWhenBothClose(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		for i := range 20 {
			c := dialRaw(t, srv.addr).connect(sampleKey)
			conn, rec := srv.next(t)
			done := make(chan error, 1)
			go func() { done <- conn.Close(1001, "") }()
			c.send(closeFin, closePayload(4000, ""))
			f := c.readFrame()
			if f.op != opClose || !(bytes.Equal(f.payload, closePayload(1001, "")) || bytes.Equal(f.payload, closePayload(4000, ""))) {
				t.Fatalf("round %d: got op %#x payload %q, want one close frame", i, f.op, f.payload)
			}
			c.expectEOF()
			if err := <-done; err != nil && !errors.Is(err, ErrClosed) {
				t.Errorf("Close = %v", err)
			}
			rec.wantClose(t, 4000)
			c.nc.Close()
		}
	})
}

// TestClose_WriteTimeout: a Write the peer does not drain within
// WriteTimeout fails, drops the connection, and OnClose gets
// StatusWriteTimeout.
func TestClose_WriteTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, &Config{WriteTimeout: timeout}, nil)
		c := dialRaw(t, srv.addr).connect(sampleKey)
		_ = c.nc.(*net.TCPConn).SetReadBuffer(4096)
		conn, rec := srv.next(t)
		p := make([]byte, 1<<20)
		var err error
		for i := 0; i < 512 && err == nil; i++ { // the client reads nothing
			err = conn.Write(p, Binary)
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Write to a peer that does not read = %v, want a deadline error", err)
		}
		rec.wantClose(t, StatusWriteTimeout)
		if err := conn.Write([]byte("x"), Binary); !errors.Is(err, ErrClosed) {
			t.Errorf("Write after the drop = %v, want ErrClosed", err)
		}
		if conn.IsValid() {
			t.Errorf("IsValid() = true after the drop")
		}
	})
}

// TestClose_ConcurrentClose: of many concurrent Close calls exactly one
// sends a close frame; the others get ErrClosed.
func TestClose_ConcurrentClose(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		c := dialRaw(t, srv.addr).connect(sampleKey)
		conn, rec := srv.next(t)
		errs := make(chan error, 16)
		for range 16 {
			go func() { errs <- conn.Close(1000, "") }()
		}
		var sent int
		for range 16 {
			switch err := <-errs; {
			case err == nil:
				sent++
			case !errors.Is(err, ErrClosed):
				t.Errorf("Close = %v", err)
			}
		}
		if sent != 1 {
			t.Errorf("%d Close calls succeeded, want 1", sent)
		}
		c.expect(serverClose(1000))
		c.send(closeFin, closePayload(1000, ""))
		c.expectEOF()
		rec.wantClose(t, 1000)
	})
}
