package inflate

// tableBits is the width of a Huffman table's direct lookup: codes up to
// this long decode in one step, longer ones (rare by construction: a code
// of n bits stands for a symbol of frequency about 2^-n) bit by bit.
const tableBits = 10

// maxCodeLen is the longest Huffman code deflate allows.
const maxCodeLen = 15

// huffman decodes one canonical Huffman code (RFC 1951 section 3.2.2).
// It holds no state between uses: build rewrites every field it reads.
type huffman struct {
	// table maps the next tableBits input bits (first bit lowest) to
	// symbol<<4 | code length; 0 means a longer code, or no code at all.
	table [1 << tableBits]uint16
	count [maxCodeLen + 1]uint16 // codes of each length
	sym   [288]uint16            // symbols ordered by code, for long codes
}

// build makes h decode the code with the given lengths (0: symbol
// unused). It reports false for a code that is over-subscribed or
// incomplete, except the two cases zlib accepts and compress/flate too: no
// code at all (an error only once used) and a single code of one bit.
func (h *huffman) build(lengths []uint8) bool {
	h.count = [maxCodeLen + 1]uint16{}
	for _, n := range lengths {
		h.count[n]++
	}
	h.count[0] = 0
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
	var offs [maxCodeLen + 2]uint16
	for n := 1; n <= maxCodeLen; n++ {
		offs[n+1] = offs[n] + h.count[n]
	}
	clear(h.table[:])
	code := 0 // canonical codes, assigned in order of length then symbol
	var next [maxCodeLen + 1]int
	for n := 1; n <= maxCodeLen; n++ {
		code = (code + int(h.count[n-1])) << 1
		next[n] = code
	}
	for s, n := range lengths {
		if n == 0 {
			continue
		}
		h.sym[offs[n]] = uint16(s)
		offs[n]++
		c := next[n]
		next[n]++
		if n > tableBits {
			continue
		}
		entry := uint16(s)<<4 | uint16(n)
		for r := reverse(c, int(n)); r < len(h.table); r += 1 << n {
			h.table[r] = entry
		}
	}
	return true
}

// reverse returns the low n bits of c in reverse order: deflate sends
// Huffman codes most significant bit first into an LSB-first stream.
func reverse(c, n int) int {
	r := 0
	for range n {
		r = r<<1 | c&1
		c >>= 1
	}
	return r
}

// slow decodes a code longer than tableBits from the low bits of b, of
// which nb are input, canonically (as RFC 1951's reference decoder does).
// It returns the symbol and the code's length, or length 0 when no code
// matches and -1 when the input ends first.
func (h *huffman) slow(b uint64, nb uint) (sym int, n int) {
	code, first, index := 0, 0, 0
	for l := 1; l <= maxCodeLen; l++ {
		if uint(l) > nb {
			return 0, -1
		}
		code |= int(b & 1)
		b >>= 1
		count := int(h.count[l])
		if code-first < count {
			return int(h.sym[index+code-first]), l
		}
		index += count
		first = (first + count) << 1
		code <<= 1
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
