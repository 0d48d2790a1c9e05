package inflate

import "math/bits"

// tableBits is the widest direct lookup of a Huffman table: codes up to
// this long decode in one step, longer ones (rare by construction: a code
// of n bits stands for a symbol of frequency about 2^-n) bit by bit. A
// code whose longest length is shorter looks up only that many bits, so
// that building its table costs what the code needs.
const tableBits = 9

// maxCodeLen is the longest Huffman code deflate allows.
const maxCodeLen = 15

// huffman decodes one canonical Huffman code (RFC 1951 section 3.2.2).
// It holds no state between uses: build rewrites every field it reads.
type huffman struct {
	// table maps the next width input bits (first bit lowest) to
	// symbol<<4 | code length; 0 means a longer code, or no code at all.
	table [1 << tableBits]uint16
	mask  uint64                 // 1<<width - 1
	width uint                   // bits looked up in table
	count [maxCodeLen + 1]uint16 // codes of each length
	sym   [288]uint16            // symbols ordered by code, for long codes
	// The canonical decoder's state after width bits without a match:
	// the first code of length width+1, and its symbol's index in sym.
	first, index int
}

// build makes h decode the code with the given lengths (0: symbol
// unused). It reports false for a code that is over-subscribed or
// incomplete, except the two cases zlib accepts and compress/flate too: no
// code at all (an error only once used) and a single code of one bit.
func (h *huffman) build(lengths []uint8) bool {
	var used [288]uint16
	n := 0
	for s, l := range lengths {
		if l != 0 {
			used[n] = uint16(s)
			n++
		}
	}
	return h.buildUsed(lengths, used[:n])
}

// buildUsed is build given the symbols whose length is not 0, ascending:
// a dynamic block's reader knows them as it reads the lengths, and a
// block of JSON uses about a third of the 286 literal/length symbols.
func (h *huffman) buildUsed(lengths []uint8, used []uint16) bool {
	h.count = [maxCodeLen + 1]uint16{}
	for _, s := range used {
		h.count[lengths[s]&maxCodeLen]++
	}
	maxLen, left := 0, 1
	for n := 1; n <= maxCodeLen; n++ {
		left = left<<1 - int(h.count[n])
		if left < 0 {
			return false // over-subscribed
		}
		if h.count[n] != 0 {
			maxLen = n
		}
	}
	if left > 0 && maxLen != 0 && !(maxLen == 1 && h.count[1] == 1) {
		return false // incomplete
	}
	h.width = uint(min(max(maxLen, 1), tableBits))
	h.mask = 1<<h.width - 1
	var offs [maxCodeLen + 2]uint16
	for n := 1; n <= maxCodeLen; n++ {
		offs[n+1] = offs[n] + h.count[n]
	}
	for _, s := range used { // sym in canonical order: by length, then symbol
		n := lengths[s] & maxCodeLen
		h.sym[offs[n]] = s
		offs[n]++
	}
	h.first, h.index = 0, 0
	for n := 1; n <= int(h.width); n++ {
		h.index += int(h.count[n])
		h.first = (h.first + int(h.count[n])) << 1
	}
	h.fill()
	return true
}

// fill writes the table from h.sym, h.count and h.width, one length at a
// time: the table for codes of up to n bits is the one for n-1 bits
// twice (a code of n-1 bits, bit-reversed, ignores the n-th bit), plus one
// entry per code of n bits. Each code is written once and the rest
// copied, instead of writing every entry of a short code one by one.
func (h *huffman) fill() {
	t := h.table[:]
	t[0], t[1] = 0, 0 // no code, or the prefix of a longer one
	size, index, code := 1, 0, 0
	for n := 1; n <= int(h.width); n++ {
		size = copy(t[size:2*size], t[:size]) * 2
		code = (code + int(h.count[n-1])) << 1 // the first code of n bits
		for k := range int(h.count[n]) {
			r := bits.Reverse16(uint16(code+k)) >> (16 - n)
			t[r&(1<<tableBits-1)] = h.sym[index+k]<<4 | uint16(n)
		}
		index += int(h.count[n])
	}
}

// slow decodes a code longer than width bits from the low bits of b, of
// which nb are input, canonically (as RFC 1951's reference decoder does,
// from where the table leaves off). It returns the symbol and the code's
// length, or length 0 when no code matches and -1 when the input ends
// first.
func (h *huffman) slow(b uint64, nb uint) (sym int, n int) {
	code := int(bits.Reverse16(uint16(b&h.mask)) >> (16 - h.width))
	first, index := h.first, h.index
	b >>= h.width
	for l := int(h.width) + 1; l <= maxCodeLen; l++ {
		if uint(l) > nb {
			return 0, -1
		}
		code = code<<1 | int(b&1)
		b >>= 1
		count := int(h.count[l])
		if code-first < count {
			return int(h.sym[index+code-first]), l
		}
		index += count
		first = (first + count) << 1
	}
	return 0, 0
}

// Fixed codes of RFC 1951 section 3.2.6, built once.
var fixedLit, fixedDist huffman

func init() {
	var l [288]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	fixedLit.build(l[:])
	var d [32]uint8
	for i := range d {
		d[i] = 5
	}
	fixedDist.build(d[:])
}
