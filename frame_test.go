package wss

// Framing conformance (RFC 6455 section 5), over real sockets, byte for
// byte, and unit tests of the frame header codec.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

// frameViolation is a client byte sequence the server must fail with code.
type frameViolation struct {
	name   string
	send   []byte
	code   StatusCode
	status StatusCode // OnClose status
}

func protocolErr(name string, send ...[]byte) frameViolation {
	return frameViolation{name, bytes.Join(send, nil), StatusProtocolError, StatusProtocolViolation}
}

// TestRFC6455_5_ProtocolErrors: each rule of section 5 a client can break
// fails the connection with a close frame of code 1002 (section 7.4.1),
// then EOF, and OnClose gets StatusProtocolViolation.
func TestRFC6455_5_ProtocolErrors(t *testing.T) {
	hdr := func(b ...byte) []byte { return append(b, testKey[:]...) }
	cases := []frameViolation{
		protocolErr("5.1 unmasked client frame", unmaskedFrame(textFin, []byte("hi"))),
		protocolErr("5.1 unmasked empty frame", unmaskedFrame(binFin, nil)),
		protocolErr("5.1 unmasked ping", unmaskedFrame(pingFin, nil)),
		protocolErr("5.2 RSV1 without extension", clientFrame(textFin|rsv1, []byte("hi"))),
		protocolErr("5.2 RSV2", clientFrame(textFin|rsv2, []byte("hi"))),
		protocolErr("5.2 RSV3", clientFrame(binFin|rsv3, []byte("hi"))),
		protocolErr("5.2 RSV on a ping", clientFrame(pingFin|rsv1, nil)),
		protocolErr("5.2 RSV on a continuation", clientFrame(textFrag, []byte("a")), clientFrame(contFin|rsv2, []byte("b"))),
		protocolErr("5.2 64-bit length with its top bit set", hdr(binFin, 0x80|127, 0x80, 0, 0, 0, 0, 0, 0, 0)),
		protocolErr("5.2 64-bit length all ones", hdr(binFin, 0x80|127, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)),
		protocolErr("5.4 continuation without a message", clientFrame(contFin, []byte("x"))),
		protocolErr("5.4 non-final continuation without a message", clientFrame(contFrag, []byte("x"))),
		protocolErr("5.4 text frame inside a fragmented message", clientFrame(textFrag, []byte("a")), clientFrame(textFin, []byte("b"))),
		protocolErr("5.4 binary frame inside a fragmented text", clientFrame(textFrag, []byte("a")), clientFrame(binFin, []byte("b"))),
		protocolErr("5.4 text frame after continuations", clientFrame(binFrag, []byte("a")), clientFrame(contFrag, []byte("b")), clientFrame(textFrag, []byte("c"))),
		protocolErr("5.5 ping over 125 bytes", clientFrame(pingFin, bytes.Repeat([]byte("p"), 126))),
		protocolErr("5.5 pong over 125 bytes", clientFrame(pongFin, bytes.Repeat([]byte("p"), 126))),
		protocolErr("5.5 close over 125 bytes", clientFrame(closeFin, closePayload(1000, string(bytes.Repeat([]byte("r"), 124))))),
		protocolErr("5.5 control header announcing 64 KiB", hdr(pingFin, 0x80|127, 0, 0, 0, 0, 0, 1, 0, 0)),
		protocolErr("5.5 fragmented ping", clientFrame(pingFrag, []byte("p"))),
		protocolErr("5.5 fragmented close", clientFrame(closeFrag, closePayload(1000, ""))),
		protocolErr("5.5 fragmented pong", clientFrame(byte(opPong), nil)),
		protocolErr("5.5 fragmented ping inside a message", clientFrame(textFrag, []byte("a")), clientFrame(pingFrag, nil)),
		// Non-minimal length encodings: section 5.2 says the minimal number
		// of bytes MUST be used; we hold clients to it.
		protocolErr("5.2 16-bit length for 5 bytes", frameWithLength(binFin, []byte("hello"), 5, 126, true)),
		protocolErr("5.2 64-bit length for 200 bytes", frameWithLength(binFin, make([]byte, 200), 200, 127, true)),
		protocolErr("5.2 64-bit length for 65535 bytes", hdr(binFin, 0x80|127, 0, 0, 0, 0, 0, 0, 0xff, 0xff)),
	}
	for op := byte(3); op <= 0xF; op++ {
		if op == byte(opClose) || op == byte(opPing) || op == byte(opPong) {
			continue
		}
		cases = append(cases,
			protocolErr(fmt.Sprintf("5.2 reserved opcode %#x", op), clientFrame(fin|op, []byte("x"))),
			protocolErr(fmt.Sprintf("5.2 reserved opcode %#x inside a message", op), clientFrame(textFrag, []byte("a")), clientFrame(fin|op, nil)),
		)
	}
	runViolations(t, nil, cases)
}

// runViolations sends each case on a fresh connection, after one valid
// message that must echo, and checks the failure.
func runViolations(t *testing.T, cfg *Config, cases []frameViolation) {
	t.Helper()
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				srv := startServer(t, d, cfg, nil) // one per case: a failure cannot spill over
				c := dialRaw(t, srv.addr).connect(sampleKey)
				c.send(textFin, []byte("ok"))
				c.expect(serverFrame(opText, []byte("ok")))
				c.write(tc.send)
				c.expectFail(tc.code)
				_, rec := srv.next(t)
				rec.wantClose(t, tc.status)
				if m := rec.nextMessage(t); string(m.data) != "ok" {
					t.Errorf("first message %q, want ok", m.data)
				}
				select {
				case m := <-rec.msgs:
					t.Errorf("handler got a message %q from the failing frames", m.data)
				default:
				}
			})
		}
	})
}

// TestRFC6455_5_6_DataFrames: text and binary messages of every length
// encoding, empty ones, and fragmented ones come back intact.
func TestRFC6455_5_6_DataFrames(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 127, 1000, 0xFFFF, 0x10000, 1 << 20}
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		c := dialRaw(t, srv.addr).connect(sampleKey)
		for _, n := range sizes {
			for _, typ := range []MessageType{Binary, Text} {
				p := payloadOf(n, typ)
				b0, op := byte(binFin), opBinary
				if typ == Text {
					b0, op = textFin, opText
				}
				c.send(b0, p)
				c.expect(serverFrame(op, p))
			}
		}
		// Fragmented, with empty fragments, and a fragment boundary inside
		// a UTF-8 character.
		c.send(textFrag, nil)
		c.send(contFrag, []byte("h\xc3"))
		c.send(contFrag, nil)
		c.send(contFrag, []byte("\xa9llo \xe2\x82"))
		c.send(contFin, []byte("\xac"))
		c.expect(serverFrame(opText, []byte("héllo €")))
		c.send(binFrag, []byte{0})
		c.send(contFrag, []byte{1, 2})
		c.send(contFin, nil)
		c.expect(serverFrame(opBinary, []byte{0, 1, 2}))
		// A large message in many fragments.
		big := payloadOf(300_000, Binary)
		for i := 0; i < len(big); i += 70_000 {
			b0 := contFrag
			if i == 0 {
				b0 = binFrag
			}
			if i+70_000 >= len(big) {
				b0 |= fin
			}
			c.send(b0, big[i:min(i+70_000, len(big))])
		}
		got, op := c.readMessage()
		if op != opBinary || !bytes.Equal(got, big) {
			t.Errorf("fragmented 300 kB message came back as op %#x, %d bytes", op, len(got))
		}
		c.nc.Close()
		_, rec := srv.next(t)
		rec.wantClose(t, StatusConnLost)
	})
}

// payloadOf returns n bytes of a recognizable pattern; valid UTF-8 when
// text.
func payloadOf(n int, typ MessageType) []byte {
	p := make([]byte, n)
	for i := range p {
		if typ == Text {
			p[i] = 'a' + byte(i%26)
		} else {
			p[i] = byte(i*31 + i>>8)
		}
	}
	return p
}

// TestRFC6455_5_SplitAnywhere: a stream of frames written one byte at a time
// (every header and payload split) is parsed the same.
func TestRFC6455_5_SplitAnywhere(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		c := dialRaw(t, srv.addr).connect(sampleKey)
		stream := bytes.Join([][]byte{
			clientFrame(textFin, []byte("one")),
			clientFrame(binFrag, payloadOf(300, Binary)),
			clientFrame(pingFin, []byte("mid")),
			clientFrame(contFin, payloadOf(70000, Binary)[:200]),
			clientFrame(textFin, []byte("€uro")),
		}, nil)
		for i := range stream {
			c.write(stream[i : i+1])
		}
		c.expect(serverFrame(opText, []byte("one")))
		c.expect(serverFrame(opPong, []byte("mid")))
		c.expect(serverFrame(opBinary, append(payloadOf(300, Binary), payloadOf(70000, Binary)[:200]...)))
		c.expect(serverFrame(opText, []byte("€uro")))
		c.nc.Close()
		_, rec := srv.next(t)
		rec.wantClose(t, StatusConnLost)
	})
}

// TestRFC6455_5_4_InterleavedControl: control frames may come between the
// fragments of a message (section 5.4); pings are answered at once, pongs
// ignored, and the message is delivered whole.
func TestRFC6455_5_4_InterleavedControl(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		c := dialRaw(t, srv.addr).connect(sampleKey)
		c.send(textFrag, []byte("Hel"))
		c.send(pingFin, []byte("p1"))
		c.expect(serverFrame(opPong, []byte("p1")))
		c.send(pongFin, []byte("unsolicited"))
		c.send(contFrag, []byte("lo, "))
		c.send(pingFin, nil)
		c.expect(serverFrame(opPong, nil))
		c.send(contFin, []byte("world"))
		c.expect(serverFrame(opText, []byte("Hello, world")))
		// A close frame inside a fragmented message closes the connection.
		c.send(binFrag, []byte("half"))
		c.send(closeFin, closePayload(1000, "bye"))
		c.expect(serverClose(1000))
		c.expectEOF()
		_, rec := srv.next(t)
		rec.wantClose(t, 1000)
		if m := rec.nextMessage(t); string(m.data) != "Hello, world" || m.typ != Text {
			t.Errorf("got %q text=%v", m.data, m.typ)
		}
	})
}

// TestRFC6455_5_5_2_Ping: a ping is answered with a pong carrying the same
// payload (up to 125 bytes), and OnPing sees it.
func TestRFC6455_5_5_2_Ping(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		c := dialRaw(t, srv.addr).connect(sampleKey)
		_, rec := srv.next(t)
		for _, p := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte{0xfe}, 125)} {
			c.send(pingFin, p)
			c.expect(serverFrame(opPong, p))
			select {
			case got := <-rec.pings:
				if !bytes.Equal(got, p) {
					t.Errorf("OnPing got %q, want %q", got, p)
				}
			case <-time.After(testTimeout):
				t.Fatalf("OnPing not called")
			}
		}
		c.nc.Close()
		rec.wantClose(t, StatusConnLost)
	})
}

// TestRFC6455_5_5_3_UnsolicitedPong: a pong nobody asked for is ignored: no
// answer, no callback, and the connection goes on.
func TestRFC6455_5_5_3_UnsolicitedPong(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		c := dialRaw(t, srv.addr).connect(sampleKey)
		c.send(pongFin, nil)
		c.send(pongFin, []byte("heartbeat"))
		c.send(textFin, []byte("after"))
		c.expect(serverFrame(opText, []byte("after"))) // nothing came before it
		c.nc.Close()
		_, rec := srv.next(t)
		rec.wantClose(t, StatusConnLost)
		if len(rec.pings) != 0 {
			t.Errorf("a pong was reported as a ping")
		}
	})
}

// TestRFC6455_5_ServerPing: Conn.Ping sends a ping frame; over 125 bytes is
// refused.
func TestRFC6455_5_ServerPing(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		c := dialRaw(t, srv.addr).connect(sampleKey)
		conn, rec := srv.next(t)
		if err := conn.Ping([]byte("are you there")); err != nil {
			t.Fatal(err)
		}
		c.expect(serverFrame(opPing, []byte("are you there")))
		if err := conn.Ping(make([]byte, 126)); err != ErrControlTooLong {
			t.Errorf("Ping(126 bytes) = %v, want ErrControlTooLong", err)
		}
		c.nc.Close()
		rec.wantClose(t, StatusConnLost)
	})
}

// TestRFC6455_10_4_MessageTooBig: a message over MaxMessageSize fails the
// connection with 1009 as soon as a header announces it, before its payload
// is read, whether in one frame or across fragments.
func TestRFC6455_10_4_MessageTooBig(t *testing.T) {
	const max = 64 << 10
	cfg := &Config{MaxMessageSize: max}
	hdr64 := func(b0 byte, n uint64) []byte {
		return append(binary.BigEndian.AppendUint64([]byte{b0, 0x80 | 127}, n), testKey[:]...)
	}
	tooBig := func(name string, send ...[]byte) frameViolation {
		return frameViolation{name, bytes.Join(send, nil), StatusMessageTooBig, StatusTooBig}
	}
	runViolations(t, cfg, []frameViolation{
		tooBig("one frame one byte over, header only", hdr64(binFin, max+1)),
		tooBig("one text frame over, header only", hdr64(textFin, max+1)),
		tooBig("huge announced length", hdr64(binFin, 1<<62)),
		tooBig("fragments adding up past the limit",
			clientFrame(binFrag, make([]byte, max-10)), clientFrame(contFrag, make([]byte, 10)), hdr64(contFin, 1<<16)),
		tooBig("non-final first frame over", hdr64(textFrag, max+1)),
	})

	// At the limit is fine.
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, cfg, nil)
		c := dialRaw(t, srv.addr).connect(sampleKey)
		p := payloadOf(max, Binary)
		c.send(binFrag, p[:max/2])
		c.send(contFin, p[max/2:])
		got, _ := c.readMessage()
		if !bytes.Equal(got, p) {
			t.Errorf("message of exactly MaxMessageSize did not come back intact")
		}
		c.nc.Close()
		_, rec := srv.next(t)
		rec.wantClose(t, StatusConnLost)
	})
}

// TestRFC6455_10_4_NoAllocationForClaims: a frame that announces a large
// payload (allowed by MaxMessageSize) but sends little costs memory in
// proportion to what was sent, not to what was announced.
func TestRFC6455_10_4_NoAllocationForClaims(t *testing.T) {
	const claimed = 256 << 20
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, &Config{MaxMessageSize: claimed}, nil)
		c := dialRaw(t, srv.addr).connect(sampleKey)
		_, rec := srv.next(t)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		hdr := append(binary.BigEndian.AppendUint64([]byte{binFin, 0x80 | 127}, claimed), testKey[:]...)
		c.write(hdr)
		c.write(maskNaive(testKey, 0, make([]byte, 100_000)))
		c.nc.Close() // the server reads all that was sent, then EOF
		rec.wantClose(t, StatusConnLost)
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
			t.Errorf("allocated %d MiB for a %d MiB claim with 100 kB sent", grew>>20, claimed>>20)
		}
	})
}

// TestFrame_ConcurrentWrites: Write, Ping and WritePrepared from many
// goroutines at once never interleave frames (run under -race).
func TestFrame_ConcurrentWrites(t *testing.T) {
	const writers, each = 8, 60
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		c := dialRaw(t, srv.addr).connect(sampleKey)
		conn, rec := srv.next(t)
		pm, err := NewPreparedMessage([]byte("prepared"), Text)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, writers*each*2)
		for g := range writers {
			wg.Go(func() {
				for i := range each {
					// Sizes cross the copy/writev boundary.
					p := bytes.Repeat([]byte{byte(g)}, 1+(i*997)%(3*smallWrite))
					if err := conn.Write(p, Binary); err != nil {
						errs <- err
					}
					if i%10 == 0 {
						errs <- conn.WritePrepared(pm)
						errs <- conn.Ping([]byte{byte(g), byte(i)})
					}
				}
			})
		}
		counts := make([]int, writers)
		var prepared, pings int
		for n := 0; n < writers*each+2*writers*(each/10); n++ {
			f := c.readFrame()
			switch {
			case f.op == opPing:
				pings++
			case f.op == opText && string(f.payload) == "prepared":
				prepared++
			case f.op == opBinary && f.fin:
				g := int(f.payload[0])
				i := counts[g]
				want := 1 + (i*997)%(3*smallWrite)
				if len(f.payload) != want || !bytes.Equal(f.payload, bytes.Repeat([]byte{byte(g)}, want)) {
					t.Fatalf("writer %d message %d: got %d bytes, want %d of %#x", g, i, len(f.payload), want, g)
				}
				counts[g]++
			default:
				t.Fatalf("unexpected frame op %#x fin %v", f.op, f.fin)
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		if prepared != writers*(each/10) || pings != writers*(each/10) {
			t.Errorf("got %d prepared, %d pings", prepared, pings)
		}
		c.nc.Close()
		rec.wantClose(t, StatusConnLost)
	})
}

// TestFrame_WriteRules: Write refuses invalid UTF-8 text and writes after
// a close frame.
func TestFrame_WriteRules(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		c := dialRaw(t, srv.addr).connect(sampleKey)
		conn, rec := srv.next(t)
		if err := conn.Write([]byte("\xff"), Text); err != ErrInvalidUTF8 {
			t.Errorf("Write(invalid text) = %v, want ErrInvalidUTF8", err)
		}
		if _, err := NewPreparedMessage([]byte("\xc3"), Text); err != ErrInvalidUTF8 {
			t.Errorf("NewPreparedMessage(invalid text) = %v, want ErrInvalidUTF8", err)
		}
		if err := conn.Write([]byte("\xff"), Binary); err != nil {
			t.Errorf("Write(binary) = %v", err)
		}
		c.expect(serverFrame(opBinary, []byte("\xff")))
		if !conn.IsValid() {
			t.Errorf("IsValid() = false on an open connection")
		}
		if err := conn.Close(StatusNormalClosure, ""); err != nil {
			t.Fatal(err)
		}
		if conn.IsValid() {
			t.Errorf("IsValid() = true after Close")
		}
		if err := conn.Write([]byte("late"), Text); err != ErrClosed {
			t.Errorf("Write after Close = %v, want ErrClosed", err)
		}
		c.expect(serverClose(1000))
		c.send(closeFin, closePayload(1000, ""))
		c.expectEOF()
		rec.wantClose(t, 1000)
	})
}
