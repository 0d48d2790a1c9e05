package wss

import (
	"encoding/binary"
	"math/bits"
	"sync"
)

// fixedDeflateMax is the largest message compressed by fixedDeflate. Up to
// about this size a fixed-Huffman block is as small as a dynamic one (the
// dynamic block's code tables cost 50-80 bytes) and indexing the send
// context is most of the work, which klauspost's encoders do at several
// times the cost (docs/compression.md, "Speed").
const fixedDeflateMax = 512

// fixedTableBits sizes the match table: 4,096 entries for at most
// maxSendContext+fixedDeflateMax positions.
const fixedTableBits = 12

// fixedScratch is the working memory of one fixedDeflate call, pooled: no
// connection keeps one.
type fixedScratch struct {
	src   []byte // the context followed by the message
	out   []byte
	table [1 << fixedTableBits]uint16 // hash of 4 bytes -> last position in src
}

var fixedScratches = sync.Pool{New: func() any {
	return &fixedScratch{src: make([]byte, 0, maxSendContext+fixedDeflateMax), out: make([]byte, 0, 2*fixedDeflateMax)}
}}

// huffCode is a Huffman code, bit-reversed for an LSB-first writer, and
// its length; for a match length it includes the extra bits.
type huffCode struct {
	bits uint32
	n    uint8
}

var (
	fixedLit [286]huffCode // literal/length alphabet, RFC 1951 section 3.2.6
	fixedLen [256]huffCode // match length - 3: length code and its extra bits
)

func init() {
	for v := range fixedLit {
		switch {
		case v < 144:
			fixedLit[v] = huffCode{reverse(uint32(0x30+v), 8), 8}
		case v < 256:
			fixedLit[v] = huffCode{reverse(uint32(0x190+v-144), 9), 9}
		case v < 280:
			fixedLit[v] = huffCode{reverse(uint32(v-256), 7), 7}
		default:
			fixedLit[v] = huffCode{reverse(uint32(0xc0+v-280), 8), 8}
		}
	}
	for l := range fixedLen {
		code, extra, value := 257+l, uint8(0), uint32(0)
		switch {
		case l == 255: // length 258 has its own code, not 284 with extra 31
			code = 285
		case l >= 8:
			extra = uint8(bits.Len(uint(l)) - 3)
			code = 257 + 4*int(extra) + 4 + (l>>extra)&3
			value = uint32(l) & (1<<extra - 1)
		}
		c := fixedLit[code]
		fixedLen[l] = huffCode{c.bits | value<<c.n, c.n + extra}
	}
}

func reverse(v uint32, n uint8) uint32 { return bits.Reverse32(v) >> (32 - n) }

// bitWriter appends bits LSB first, as deflate packs them.
type bitWriter struct {
	acc uint64
	n   uint
	b   []byte
}

// put writes the low n bits of v; n is at most 32.
func (w *bitWriter) put(v uint32, n uint8) {
	w.acc |= uint64(v) << w.n
	w.n += uint(n)
	if w.n >= 32 {
		w.b = binary.LittleEndian.AppendUint32(w.b, uint32(w.acc))
		w.acc >>= 32
		w.n -= 32
	}
}

func (w *bitWriter) literals(p []byte) {
	for _, c := range p {
		w.put(fixedLit[c].bits, fixedLit[c].n)
	}
}

// match writes a length (3-258) and a distance (1-32768).
func (w *bitWriter) match(length, dist int) {
	l := fixedLen[length-3]
	w.put(l.bits, l.n)
	d := uint32(dist - 1)
	var code, extra uint32
	if d >= 4 {
		extra = uint32(bits.Len32(d)) - 2
		code = 2*extra + 2 + (d>>extra)&1
	} else {
		code = d
	}
	w.put(reverse(code, 5)|(d&(1<<extra-1))<<5, uint8(5+extra))
}

// syncFlush ends the block and writes an empty stored block, which aligns
// the stream and ends it with deflateTail.
func (w *bitWriter) syncFlush() {
	w.put(0, 7) // end of block: code 256
	w.put(0, 3) // BFINAL 0, BTYPE 00
	for w.n > 0 {
		w.b = append(w.b, byte(w.acc))
		w.acc >>= 8
		w.n -= min(w.n, 8)
	}
	w.b = append(w.b, deflateTail...)
}

func hash4(u uint32) uint32 { return (u * 0x1e35a7bd) >> (32 - fixedTableBits) }

// fixedDeflate compresses p (at most fixedDeflateMax bytes) as one
// fixed-Huffman block that may refer back into ctx (at most
// maxSendContext bytes), never further than maxDist, followed by a sync
// flush. Greedy matching of 4 bytes or more. The result is in s.out.
func fixedDeflate(s *fixedScratch, ctx, p []byte, maxDist int) []byte {
	s.src = append(append(s.src[:0], ctx...), p...)
	src, t := s.src, &s.table
	clear(t[:])
	for i := 0; i+4 <= len(ctx); i++ {
		t[hash4(binary.LittleEndian.Uint32(src[i:]))] = uint16(i)
	}
	w := bitWriter{b: s.out[:0]}
	w.put(2, 3) // BFINAL 0, BTYPE 01: fixed Huffman codes
	lit, last := len(ctx), len(src)-4
	for i := len(ctx); i <= last; {
		cv := binary.LittleEndian.Uint32(src[i:])
		h := hash4(cv)
		cand := int(t[h])
		t[h] = uint16(i)
		if cand >= i || i-cand > maxDist || binary.LittleEndian.Uint32(src[cand:]) != cv {
			i++
			continue
		}
		n := 4 + matchLen(src[i+4:], src[cand+4:], 258-4)
		for i > lit && cand > 0 && src[i-1] == src[cand-1] && n < 258 {
			i, cand, n = i-1, cand-1, n+1
		}
		w.literals(src[lit:i])
		w.match(n, i-cand)
		for j := i + 1; j < i+n && j <= last; j++ {
			t[hash4(binary.LittleEndian.Uint32(src[j:]))] = uint16(j)
		}
		i += n
		lit = i
	}
	w.literals(src[lit:])
	w.syncFlush()
	if len(w.b) > 2*len(storedHeader)+4+len(p)+len(deflateTail) {
		// Incompressible: literals above 143 take 9 bits. Store p instead.
		w.b = append(w.b[:0], storedHeader...)
		w.b = binary.LittleEndian.AppendUint16(w.b, uint16(len(p)))
		w.b = binary.LittleEndian.AppendUint16(w.b, ^uint16(len(p)))
		w.b = append(append(w.b, p...), storedHeader...)
		w.b = append(w.b, deflateTail...)
	}
	s.out = w.b
	return w.b
}

// storedHeader starts a stored block that is not the last (BFINAL 0,
// BTYPE 00), padded to a byte; its length and the length's complement
// follow.
var storedHeader = []byte{0x00}

// matchLen is the length of the common prefix of a and b, at most limit.
func matchLen(a, b []byte, limit int) int {
	n := 0
	for len(a) >= 8 && len(b) >= 8 && n < limit {
		if x := binary.LittleEndian.Uint64(a) ^ binary.LittleEndian.Uint64(b); x != 0 {
			return min(n+bits.TrailingZeros64(x)>>3, limit)
		}
		a, b, n = a[8:], b[8:], n+8
	}
	for i := 0; i < len(a) && i < len(b) && a[i] == b[i] && n < limit; i++ {
		n++
	}
	return min(n, limit)
}
