package wss

import (
	"encoding/binary"
	"math/bits"
)

// huffCode is a Huffman code, bit-reversed for an LSB-first writer, and
// its length.
type huffCode struct {
	bits uint32
	n    uint8
}

// The fixed codes of RFC 1951 section 3.2.6: literal/length and distance.
var (
	fixedLit  [numLitCodes]huffCode
	fixedDist [numDistCodes]huffCode
)

// numLitCodes and numDistCodes are the sizes of the alphabets a block
// uses: literals, end of block and 29 length codes; 30 distance codes.
const (
	numLitCodes  = 286
	numDistCodes = 30
	endOfBlock   = 256
)

// Length codes (RFC 1951 section 3.2.5): lengthCode[l-3] is the code of
// length l minus 257; lengthBase and lengthExtra give each code's first
// length minus 3 and its number of extra bits.
var (
	lengthCode  [256]uint8
	lengthBase  [29]uint8
	lengthExtra [29]uint8
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
	for d := range fixedDist {
		fixedDist[d] = huffCode{reverse(uint32(d), 5), 5}
	}
	for l := range lengthCode {
		code := l
		switch {
		case l == 255: // length 258 has its own code, not 284 with extra 31
			code = 28
		case l >= 8:
			extra := bits.Len(uint(l)) - 3
			code = 4*extra + 4 + (l>>extra)&3
		}
		lengthCode[l] = uint8(code)
	}
	for l := 254; l >= 0; l-- {
		lengthBase[lengthCode[l]] = uint8(l)
	}
	lengthBase[28] = 255
	for c := 8; c < 28; c++ {
		lengthExtra[c] = uint8(c/4 - 1)
	}
}

// reverse reverses the low n bits of v, n at most 16.
func reverse(v uint32, n uint8) uint32 { return uint32(bits.Reverse16(uint16(v)) >> (16 - n)) }

// distCode returns the distance code of d = distance-1 (0-32767), its
// number of extra bits and their value (RFC 1951 section 3.2.5).
func distCode(d uint32) (code, extra, value uint32) {
	if d < 4 {
		return d, 0, 0
	}
	extra = uint32(bits.Len32(d)) - 2
	return 2*extra + 2 + (d>>extra)&1, extra, d & (1<<extra - 1)
}

// bitWriter appends bits LSB first, as deflate packs them.
type bitWriter struct {
	acc uint64
	n   uint
	b   []byte
}

// put writes the low n bits of v; n is at most 32.
func (w *bitWriter) put(v uint32, n uint8) {
	w.acc |= uint64(v) << (w.n & 63) // w.n < 32: the shift needs no check
	w.n += uint(n)
	if w.n >= 32 {
		w.b = binary.LittleEndian.AppendUint32(w.b, uint32(w.acc))
		w.acc >>= 32
		w.n -= 32
	}
}

// syncFlush writes an empty stored block after the block just ended,
// which aligns the stream and ends it with deflateTail.
func (w *bitWriter) syncFlush() {
	w.put(0, 3) // BFINAL 0, BTYPE 00
	for w.n > 0 {
		w.b = append(w.b, byte(w.acc))
		w.acc >>= 8
		w.n -= min(w.n, 8)
	}
	w.b = append(w.b, deflateTail...)
}
