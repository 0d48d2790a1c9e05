package wss

// UTF-8 validation: the incremental validator against unicode/utf8, and
// fail-fast behaviour on the wire (RFC 6455 sections 5.6 and 8.1).

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"unicode/utf8"

	"github.com/wssgo/wss/internal/frame"
)

// utf8Table holds inputs at the edges of RFC 3629.
var utf8Table = []string{
	"", "a", "hello", "héllo", "€", "𝄞", "日本語",
	"\x00", "\x7f", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf",
	"\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf",
	"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xc2", "\xc2\x7f", "\xc2\xc0",
	"\xe0\x80\x80", "\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xe2\x82", "\xe2\x82\x41",
	"\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xfe", "\xff",
	"abcdefgh\xff", "abcdefghijklmnop\xc3", "abcdefg\xc3\xa9ijklmnop", "\xef\xbb\xbfBOM",
}

func TestUTF8_MatchesStdlib(t *testing.T) {
	check := func(p []byte) {
		t.Helper()
		if got, want := frame.ValidUTF8(p), utf8.Valid(p); got != want {
			t.Errorf("frame.ValidUTF8(%q) = %v, utf8.Valid = %v", p, got, want)
		}
	}
	for _, s := range utf8Table {
		check([]byte(s))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff}
	for range 200_000 {
		p := make([]byte, rng.IntN(24))
		for i := range p {
			if rng.IntN(3) == 0 {
				p[i] = byte(rng.IntN(256))
			} else {
				p[i] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		check(p)
	}
	// Random valid text, long enough for the 8-byte ASCII fast path.
	for range 2000 {
		var rs []rune
		for range rng.IntN(40) {
			switch rng.IntN(4) {
			case 0:
				rs = append(rs, rune(rng.IntN(0x80)))
			case 1:
				rs = append(rs, rune(0x80+rng.IntN(0x800-0x80)))
			case 2:
				rs = append(rs, rune(0xE000+rng.IntN(0x10000-0xE000)))
			default:
				rs = append(rs, rune(0x10000+rng.IntN(0x100000)))
			}
		}
		check([]byte(string(rs)))
	}
}

// validPrefix reports whether p can be extended to valid UTF-8: the
// reference for fail-fast. The second byte of every lead byte's range
// contains one of 0x80, 0x90, 0xA0 or 0xBF, so trying those suffices.
func validPrefix(p []byte) bool {
	if utf8.Valid(p) {
		return true
	}
	cands := []byte{0x80, 0x90, 0xa0, 0xbf}
	var try func(q []byte, depth int) bool
	try = func(q []byte, depth int) bool {
		if utf8.Valid(q) {
			return true
		}
		if depth == 3 {
			return false
		}
		for _, c := range cands {
			if try(append(q[:len(q):len(q)], c), depth+1) {
				return true
			}
		}
		return false
	}
	return try(p, 0)
}

// TestUTF8_IncrementalFailFast: fed in two pieces split at every position,
// the validator agrees with utf8.Valid, and it fails at the first byte that
// makes the input impossible to complete, not later.
func TestUTF8_IncrementalFailFast(t *testing.T) {
	inputs := append([]string(nil), utf8Table...)
	rng := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		p := make([]byte, rng.IntN(12))
		for i := range p {
			p[i] = []byte{0x41, 0x80, 0xa0, 0xbf, 0xc3, 0xe0, 0xe2, 0xed, 0xf0, 0xf4, 0xff}[rng.IntN(11)]
		}
		inputs = append(inputs, string(p))
	}
	for _, s := range inputs {
		p := []byte(s)
		// The first failing byte by the reference.
		failAt := -1
		for i := 1; i <= len(p); i++ {
			if !validPrefix(p[:i]) {
				failAt = i - 1
				break
			}
		}
		// Byte by byte: fails exactly at failAt.
		var st frame.UTF8State
		got := -1
		for i := range p {
			var ok bool
			if st, ok = st.Next(p[i : i+1]); !ok {
				got = i
				break
			}
		}
		if got != failAt {
			t.Errorf("%q: byte-by-byte validation failed at %d, first impossible byte is %d", p, got, failAt)
		}
		// Two pieces, at every split.
		for k := 0; k <= len(p); k++ {
			st, ok := frame.UTF8State(0).Next(p[:k])
			if ok {
				st, ok = st.Next(p[k:])
			}
			if whole := ok && st == 0; whole != utf8.Valid(p) {
				t.Errorf("%q split at %d: valid=%v, utf8.Valid=%v", p, k, whole, utf8.Valid(p))
			}
		}
	}
}

// TestUTF8_8_1_OnTheWire: invalid UTF-8 in a text message fails the
// connection with 1007, at the first invalid byte that arrives: the tests
// that send a bad byte and then nothing else prove it does not wait for
// the end of the message.
func TestUTF8_8_1_OnTheWire(t *testing.T) {
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
				c := connectRaw(t, srv.addr)
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
		c := connectRaw(t, srv.addr)
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

// BenchmarkUTF8 measures validation of ASCII text (the fast path) and of
// text that is mostly multi-byte.
func BenchmarkUTF8(b *testing.B) {
	ascii := bytes.Repeat([]byte(`{"room":"lobby","text":"the quick brown fox"} `), 1500)
	mixed := bytes.Repeat([]byte("héllo wörld ✓ 😀 "), 2000)
	for _, c := range []struct {
		name string
		p    []byte
	}{{"ascii", ascii}, {"mixed", mixed}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.p)))
			for b.Loop() {
				if !frame.ValidUTF8(c.p) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
