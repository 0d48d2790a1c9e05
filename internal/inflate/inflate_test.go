package inflate

import (
	"bytes"
	stdflate "compress/flate"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
)

// syncTail is the empty stored block that ends a sync flush; RFC 7692
// section 7.2.2 appends it to every message before inflating.
var syncTail = []byte{0x00, 0x00, 0xff, 0xff}

// reference inflates src followed by tail against hist with compress/flate,
// reading at most limit+1 bytes. ended reports a final block; consumed
// that the input ran out with all of it read, which is how a stream
// without a final block ends.
func reference(hist, src, tail []byte, limit int) (out []byte, err error, ended, consumed bool) {
	in := bytes.NewReader(append(append([]byte(nil), src...), tail...))
	r := stdflate.NewReaderDict(in, hist)
	out, err = io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err == nil && len(out) <= limit {
		_, err = r.Read(make([]byte, 1)) // ReadAll hides io.EOF
	}
	return out, err, err == io.EOF, errors.Is(err, io.ErrUnexpectedEOF) && in.Len() == 0
}

// compare checks Inflate against compress/flate on one input: the same
// bytes whenever either succeeds, and a prefix of them on failure.
func compare(t *testing.T, hist, src, tail []byte, limit int) {
	t.Helper()
	var d Decoder
	got, err := d.Inflate(nil, hist, src, tail, limit, nil)
	want, rerr, ended, consumed := reference(hist, src, tail, limit)
	// compress/flate reads a symbol only when the input holds as many
	// bits as the end-of-block code, so it may stop a few bytes earlier
	// in a truncated stream.
	truncated := errors.Is(rerr, io.ErrUnexpectedEOF)
	if !bytes.HasPrefix(want, got) && !(truncated && bytes.HasPrefix(got, want)) {
		t.Fatalf("output of %d bytes is not a prefix of compress/flate's %d (%v, %v)", len(got), len(want), err, rerr)
	}
	if len(got) > limit || cap(got) > max(limit, 0) {
		t.Fatalf("output of %d bytes, capacity %d, over the limit %d", len(got), cap(got), limit)
	}
	switch {
	case len(want) > limit:
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("compress/flate produced more than %d bytes, Inflate: %v", limit, err)
		}
	case err == nil:
		if !ended && !consumed {
			t.Fatalf("accepted what compress/flate rejects (%v)", rerr)
		}
		if len(got) != len(want) {
			t.Fatalf("%d bytes, compress/flate %d", len(got), len(want))
		}
	case ended:
		t.Fatalf("compress/flate reads a complete stream, Inflate: %v", err)
	case consumed && !errors.Is(err, ErrTruncated):
		t.Fatalf("compress/flate reads to the end without an error, Inflate: %v", err)
	}
}

// compress deflates p at level with dict, sync-flushed, the tail removed
// (as a permessage-deflate sender does), or closed with a final block.
func compress(t testing.TB, p, dict []byte, level int, final bool) []byte {
	var b bytes.Buffer
	w, err := stdflate.NewWriterDict(&b, level, dict)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(p)
	if final {
		w.Close()
		return b.Bytes()
	}
	w.Flush()
	return bytes.TrimSuffix(b.Bytes(), syncTail)
}

func text(rng *rand.Rand, n int) []byte {
	words := []string{"room", "user", `"text":`, "hello", "{", "}", ",", "0", "1234", "ts", "\u00e9t\u00e9 ", "the ", "message "}
	var b bytes.Buffer
	for b.Len() < n {
		if rng.IntN(8) == 0 {
			b.WriteByte(byte(rng.Uint32()))
		} else {
			b.WriteString(words[rng.IntN(len(words))])
		}
	}
	return b.Bytes()[:n]
}

// TestRFC1951_BlockTypes inflates streams from compress/flate at every
// kind of block it writes: stored (level 0), fixed and dynamic Huffman
// codes (Huffman only, 1, 6, 9), with and without a dictionary, ended by a
// sync flush with its tail removed or by a final block.
func TestRFC1951_BlockTypes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, level := range []int{stdflate.HuffmanOnly, 0, 1, 6, 9} {
		for _, size := range []int{0, 1, 5, 100, 300, 1200, 16 << 10, 70 << 10} {
			for _, dictSize := range []int{0, 512, 4096, 32 << 10} {
				for _, final := range []bool{false, true} {
					name := fmt.Sprintf("level%d/%d/dict%d/final=%v", level, size, dictSize, final)
					t.Run(name, func(t *testing.T) {
						dict, p := text(rng, dictSize), text(rng, size)
						if size == 70<<10 {
							p = append(p[:0:0], bytes.Repeat(p[:300], 240)...) // long matches
						}
						src := compress(t, p, dict, level, final)
						var d Decoder
						got, err := d.Inflate(nil, dict, src, syncTail, 1<<20, nil)
						if err != nil || !bytes.Equal(got, p) {
							t.Fatalf("%d bytes, %v; want %d", len(got), err, len(p))
						}
						compare(t, dict, src, syncTail, 1<<20)
					})
				}
			}
		}
	}
}

// TestRFC7692_7_2_3_Messages inflates the examples of RFC 7692 section
// 7.2.3 with the tail appended as section 7.2.2 says.
func TestRFC7692_7_2_3_Messages(t *testing.T) {
	tests := []struct {
		name      string
		hist, src []byte
		want      string
	}{
		{"7.2.3.1 Hello", nil, []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, "Hello"},
		{"7.2.3.2 referring back to the window", []byte("Hello"), []byte{0xf2, 0x00, 0x11, 0x00, 0x00}, "Hello"},
		{"7.2.3.3 stored block", nil, []byte{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}, "Hello"},
		{"7.2.3.4 BFINAL set, the tail ignored", nil, []byte{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}, "Hello"},
		{"7.2.3.5 two blocks", nil, []byte{0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00}, "Hello"},
		{"7.2.3.6 an empty message", nil, []byte{0x00}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			got, err := d.Inflate(nil, tt.hist, tt.src, syncTail, 100, nil)
			if err != nil || string(got) != tt.want {
				t.Fatalf("%q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestInflateFailures checks each way a stream can be wrong, and that
// each is reported as such.
func TestInflateFailures(t *testing.T) {
	hello := []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}
	tests := []struct {
		name      string
		hist, src []byte
		tail      []byte
		limit     int
		want      error
	}{
		{"reserved block type", nil, []byte{0x07}, syncTail, 100, ErrCorrupt},
		{"stored length and complement differ", nil, []byte{0x01, 0x05, 0x00, 0xfb, 0xff, 'H'}, nil, 100, ErrCorrupt},
		{"stored block cut short", nil, []byte{0x01, 0x05, 0x00, 0xfa, 0xff, 'H'}, nil, 100, ErrTruncated},
		{"distance before the history", []byte("ell"), []byte{0xf2, 0x00, 0x11, 0x00, 0x00}, syncTail, 100, ErrCorrupt},
		{"distance without history", nil, []byte{0xf2, 0x00, 0x11, 0x00, 0x00}, syncTail, 100, ErrCorrupt},
		{"no tail: no block ends the input", nil, hello, nil, 100, ErrTruncated},
		{"cut after a literal", nil, hello[:2], nil, 100, ErrTruncated},
		{"cut inside a symbol", nil, hello[:3], syncTail, 100, ErrTruncated},
		{"over the limit", nil, hello, syncTail, 4, ErrTooLarge},
		{"stored block over the limit", nil, []byte{0x01, 0x05, 0x00, 0xfa, 0xff, 'H', 'e', 'l', 'l', 'o'}, nil, 4, ErrTooLarge},
		{"empty input", nil, nil, syncTail, 100, ErrTruncated},
		{"over-subscribed code length code", nil, dynamicHeader(1, 1, 1, 1), nil, 100, ErrCorrupt},
		{"incomplete code length code", nil, dynamicHeader(2, 2, 2, 0), nil, 100, ErrCorrupt},
		{"no code length code", nil, dynamicHeader(0, 0, 0, 0), syncTail, 100, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			got, err := d.Inflate(nil, tt.hist, tt.src, tt.tail, tt.limit, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("%q, %v; want %v", got, err, tt.want)
			}
			if len(got) > tt.limit {
				t.Fatalf("%d bytes past the limit %d", len(got), tt.limit)
			}
			compare(t, tt.hist, tt.src, tt.tail, tt.limit)
		})
	}
}

// dynamicHeader starts a final dynamic block (RFC 1951 section 3.2.7)
// with 257 literal/length codes, one distance code, and the given code
// length code lengths, followed by zero bits.
func dynamicHeader(clen ...int) []byte {
	var acc uint64
	n := 0
	put := func(v, bits int) { acc |= uint64(v) << n; n += bits }
	put(1, 1)           // BFINAL
	put(2, 2)           // dynamic codes
	put(0, 5)           // HLIT: 257
	put(0, 5)           // HDIST: 1
	put(len(clen)-4, 4) // HCLEN
	for _, l := range clen {
		put(l, 3)
	}
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(acc >> (8 * i))
	}
	return b
}

// TestInflateGrowsWithinLimit checks that the output grows by the caller's
// function, never to more than the limit, and not with what a stored
// block declares before its bytes arrive.
func TestInflateGrowsWithinLimit(t *testing.T) {
	var caps []int
	grow := func(out []byte, n int) []byte {
		caps = append(caps, n)
		return append(make([]byte, 0, n), out...)
	}
	p := bytes.Repeat([]byte("abcdefgh"), 10000)
	src := compress(t, p, nil, 6, false)
	var d Decoder
	if _, err := d.Inflate(make([]byte, 0, 16), nil, src, syncTail, 50000, grow); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("%v, want %v", err, ErrTooLarge)
	}
	for _, c := range caps {
		if c > 50000 {
			t.Fatalf("grown to %d, over the limit", c)
		}
	}
	caps = caps[:0]
	stored := []byte{0x01, 0xff, 0xff, 0x00, 0x00, 'x'} // declares 65,535 bytes, holds 1
	if _, err := d.Inflate(make([]byte, 0, 16), nil, stored, nil, 1<<20, grow); !errors.Is(err, ErrTruncated) || len(caps) != 0 {
		t.Fatalf("%v, grown to %v; want %v without growing", err, caps, ErrTruncated)
	}
}

// TestInflateMatchesCompressFlate compares with compress/flate on random
// streams and on the same streams truncated and with bytes flipped.
func TestInflateMatchesCompressFlate(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 300 {
		dict, p := text(rng, rng.IntN(4096)), text(rng, rng.IntN(3000))
		src := compress(t, p, dict, []int{stdflate.HuffmanOnly, 0, 1, 5, 9}[i%5], i%7 == 0)
		compare(t, dict, src, syncTail, 1<<16)
		compare(t, dict, src[:rng.IntN(len(src)+1)], syncTail, 1<<16)
		bad := append([]byte(nil), src...)
		if len(bad) > 0 {
			bad[rng.IntN(len(bad))] ^= byte(1 << rng.IntN(8))
		}
		compare(t, dict, bad, syncTail, 1<<16)
		compare(t, dict, src, syncTail, rng.IntN(len(p)+1))
	}
}

// FuzzInflate compares Inflate with compress/flate on any input, with and
// without history, tail and a small limit, and checks it never panics.
func FuzzInflate(f *testing.F) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, level := range []int{stdflate.HuffmanOnly, 0, 1, 9} {
		dict, p := text(rng, 600), text(rng, 700)
		f.Add(dict, compress(f, p, dict, level, false), true, uint16(1000))
		f.Add([]byte(nil), compress(f, p, nil, level, true), false, uint16(1000))
	}
	f.Add([]byte("Hello"), []byte{0xf2, 0x00, 0x11, 0x00, 0x00}, true, uint16(10))
	f.Fuzz(func(t *testing.T, hist, src []byte, tail bool, limit uint16) {
		if len(hist) > 32<<10 {
			hist = hist[len(hist)-32<<10:]
		}
		var tl []byte
		if tail {
			tl = syncTail
		}
		compare(t, hist, src, tl, int(limit))
	})
}
