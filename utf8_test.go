package wss

// UTF-8 validation on the wire: fail-fast at the first invalid byte
// (RFC 6455 sections 5.6 and 8.1). The validator itself is tested in
// internal/frame.

import "testing"

// TestRFC6455_8_1_UTF8OnTheWire: invalid UTF-8 in a text message fails the
// connection with 1007, at the first invalid byte that arrives: the tests
// that send a bad byte and then nothing else prove it does not wait for
// the end of the message.
func TestRFC6455_8_1_UTF8OnTheWire(t *testing.T) {
	invalid := func(name string, send ...[]byte) frameViolation {
		var b []byte
		for _, s := range send {
			b = append(b, s...)
		}
		return frameViolation{name, b, StatusInvalidData, StatusInvalidUTF8}
	}
	cases := []frameViolation{
		invalid("whole message", clientFrame(textFin, []byte("caf\xe9"))),
		invalid("first fragment, rest never sent", clientFrame(textFrag, []byte("ok so far \xff and more"))),
		invalid("second fragment, rest never sent", clientFrame(textFrag, []byte("fine")), clientFrame(contFrag, []byte("\xc0\xaf"))),
		invalid("inside a partly sent frame", clientFrame(textFin, []byte("abc\xffdefghij"+string(make([]byte, 100))))[:6+5]),
		invalid("character split across fragments, bad continuation", clientFrame(textFrag, []byte("\xe2\x82")), clientFrame(contFrag, []byte("A"))),
		invalid("message ends inside a character", clientFrame(textFrag, []byte("\xe2\x82")), clientFrame(contFin, nil)),
		invalid("single frame ends inside a character", clientFrame(textFin, []byte("abc\xf0\x9f"))),
		invalid("overlong 2-byte", clientFrame(textFrag, []byte("\xc0\xaf"))),
		invalid("overlong 3-byte", clientFrame(textFrag, []byte("\xe0\x80\xaf"))),
		invalid("UTF-16 surrogate", clientFrame(textFrag, []byte("\xed\xa0\x80"))),
		invalid("past U+10FFFF", clientFrame(textFrag, []byte("\xf4\x90\x80\x80"))),
		invalid("F5 lead", clientFrame(textFrag, []byte("\xf5"))),
		invalid("lone continuation", clientFrame(textFrag, []byte("\x80"))),
		invalid("bad byte after a ping inside the message", clientFrame(textFrag, []byte("a\xc3")), clientFrame(pingFin, nil), clientFrame(contFrag, []byte("\x28"))),
	}
	runPartialViolations(t, cases)
}

// runPartialViolations is runViolations for cases that may end with a
// pong the server sends before failing.
func runPartialViolations(t *testing.T, cases []frameViolation) {
	t.Helper()
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				srv := startServer(t, d, nil, nil) // one per case: a failure cannot spill over
				c := dialRaw(t, srv.addr).connect(sampleKey)
				c.write(tc.send)
				f := c.readFrame()
				if f.op == opPong {
					f = c.readFrame()
				}
				if f.op != opClose || string(f.payload) != string(closePayload(tc.code, "")) {
					t.Fatalf("got op %#x payload %q, want close %d", f.op, f.payload, tc.code)
				}
				c.expectEOF()
				c.nc.Close()
				_, rec := srv.next(t)
				rec.wantClose(t, tc.status)
				if len(rec.msgs) != 0 {
					t.Errorf("an invalid message was delivered")
				}
			})
		}
	})
}

// TestUTF8_ValidEdges: the edges of valid UTF-8 pass, whole and split
// across fragments at every byte; binary messages are not checked.
func TestUTF8_ValidEdges(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		c := dialRaw(t, srv.addr).connect(sampleKey)
		for _, s := range []string{"\xf4\x8f\xbf\xbf", "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf", "\xc2\x80", "a€𝄞é"} {
			c.send(textFin, []byte(s))
			c.expect(serverFrame(opText, []byte(s)))
			for k := 0; k <= len(s); k++ {
				c.send(textFrag, []byte(s[:k]))
				c.send(contFin, []byte(s[k:]))
				c.expect(serverFrame(opText, []byte(s)))
			}
		}
		c.send(binFin, []byte("\xff\xfe\xc0"))
		c.expect(serverFrame(opBinary, []byte("\xff\xfe\xc0")))
		c.nc.Close()
		_, rec := srv.next(t)
		rec.wantClose(t, StatusConnLost)
	})
}
