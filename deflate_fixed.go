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
	src     []byte // the context followed by the message
	out     []byte
	table   [1 << fixedTableBits]uint16              // hash of 4 bytes -> 1 + its last position in src, 0: none
	prev    [maxSendContext + fixedDeflateMax]uint16 // position -> 1 + the previous one with its hash
	indexed int                                      // positions before it are in their chains
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

// fixedChain is how many earlier positions with the same hash the
// matcher tries: more finds longer matches in JSON's repeated keys, at a
// cost only at the positions where a match is looked for.
const fixedChain = 8

// fixedLazy is the match length from which the next position is not
// tried for a longer one, and fixedNiceMatch the one that ends a chain's
// search: past them a longer match saves little.
const (
	fixedLazy      = 32
	fixedNiceMatch = 64
)

// fixedDeflate compresses p (at most fixedDeflateMax bytes) as one
// fixed-Huffman block that may refer back into ctx (at most
// maxSendContext bytes), never further than maxDist, followed by a sync
// flush. Matches of 4 bytes or more, the longest of up to fixedChain
// candidates, taken one byte later when that one is longer (lazy
// matching). The result is in s.out.
func fixedDeflate(s *fixedScratch, ctx, p []byte, maxDist int) []byte {
	s.src = append(append(s.src[:0], ctx...), p...)
	src := s.src
	clear(s.table[:])
	lit, last := len(ctx), len(src)-4
	s.indexed = 0
	s.index(len(ctx), last)
	w := bitWriter{b: s.out[:0]}
	w.put(2, 3) // BFINAL 0, BTYPE 01: fixed Huffman codes
	for i := len(ctx); i <= last; {
		n, cand := s.longest(i, maxDist)
		if n == 0 {
			i++
			continue
		}
		if i+1 <= last && n < fixedLazy {
			s.index(i+1, last)
			if n1, c1 := s.longest(i+1, maxDist); n1 > n {
				i, n, cand = i+1, n1, c1
			}
		}
		for i > lit && cand > 0 && src[i-1] == src[cand-1] && n < 258 {
			i, cand, n = i-1, cand-1, n+1
		}
		w.literals(src[lit:i])
		w.match(n, i-cand)
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

// index adds the positions before end (and at most last) to their hash
// chains, from where the previous call stopped.
func (s *fixedScratch) index(end, last int) {
	i, end := s.indexed, min(end, last+1)
	if i >= end {
		return
	}
	src, t, prev := s.src[:end+3], &s.table, s.prev[:end]
	for ; i < end; i++ {
		h := hash4(binary.LittleEndian.Uint32(src[i:]))
		prev[i] = t[h]
		t[h] = uint16(i) + 1
	}
	s.indexed = i
}

// longest returns the longest match (at least 4 bytes) for position i
// among the chain of its hash, no further back than maxDist, and where it
// starts; 0 when there is none.
func (s *fixedScratch) longest(i, maxDist int) (n, cand int) {
	s.index(i, len(s.src)-4) // the chains hold every position before i
	src := s.src
	cv := binary.LittleEndian.Uint32(src[i:])
	limit := min(258, len(src)-i)
	c := int(s.table[hash4(cv)]) - 1
	for range fixedChain {
		if c < 0 || c >= i || i-c > maxDist {
			break
		}
		if binary.LittleEndian.Uint32(src[c:]) == cv {
			if l := 4 + matchLen(src[i+4:], src[c+4:], limit-4); l > n {
				n, cand = l, c
				if l >= min(limit, fixedNiceMatch) {
					break
				}
			}
		}
		c = int(s.prev[c]) - 1
	}
	return n, cand
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
