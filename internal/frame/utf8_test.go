package frame

// The incremental UTF-8 validator against unicode/utf8 (RFC 3629), and
// fail-fast at the first impossible byte (RFC 6455 section 8.1).

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"unicode/utf8"

	"github.com/wssgo/wss/internal/wstest"
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
		if got, want := ValidUTF8(p), utf8.Valid(p); got != want {
			t.Errorf("ValidUTF8(%q) = %v, utf8.Valid = %v", p, got, want)
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
			if !wstest.ValidUTF8Prefix(p[:i]) {
				failAt = i - 1
				break
			}
		}
		// Byte by byte: fails exactly at failAt.
		var st UTF8State
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
			st, ok := UTF8State(0).Next(p[:k])
			if ok {
				st, ok = st.Next(p[k:])
			}
			if whole := ok && st == 0; whole != utf8.Valid(p) {
				t.Errorf("%q split at %d: valid=%v, utf8.Valid=%v", p, k, whole, utf8.Valid(p))
			}
		}
	}
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
				if !ValidUTF8(c.p) {
					b.Fatal("invalid")
				}
			}
		})
	}
}

// FuzzUTF8 checks the incremental validator against unicode/utf8 for any
// input split at any point.
func FuzzUTF8(f *testing.F) {
	for _, s := range utf8Table {
		f.Add([]byte(s), uint8(1))
	}
	f.Fuzz(func(t *testing.T, p []byte, at uint8) {
		k := int(at) % (len(p) + 1)
		st, ok := UTF8State(0).Next(p[:k])
		if ok != wstest.ValidUTF8Prefix(p[:k]) { // fails at the first bad byte, not later
			t.Fatalf("%q: ok %v, but valid prefix %v", p[:k], ok, wstest.ValidUTF8Prefix(p[:k]))
		}
		if ok {
			st, ok = st.Next(p[k:])
		}
		if got := ok && st == 0; got != utf8.Valid(p) {
			t.Fatalf("%q split at %d: %v, utf8.Valid %v", p, k, got, utf8.Valid(p))
		}
	})
}
