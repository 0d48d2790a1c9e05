// Package inflate decompresses deflate streams (RFC 1951) held whole in
// memory, with the history they refer back to read in place from the
// caller's memory: a permessage-deflate connection (RFC 7692) keeps the
// peer's window as plain bytes, and inflating a message against it copies
// nothing into a decompressor.
package inflate

import (
	"encoding/binary"
	"errors"
)

// Errors returned by Inflate. The output produced before the error is
// returned with it.
var (
	// ErrCorrupt reports input that is not a deflate stream.
	ErrCorrupt = errors.New("inflate: corrupt input")
	// ErrTruncated reports input that ends inside a block.
	ErrTruncated = errors.New("inflate: input ends inside a block")
	// ErrTooLarge reports output that would exceed the limit.
	ErrTooLarge = errors.New("inflate: output exceeds the limit")
)

// GrowFunc returns a buffer holding out's bytes with a capacity of at
// least n, and may recycle out.
type GrowFunc func(out []byte, n int) []byte

// Decoder is the working memory of Inflate: its Huffman tables. It keeps
// nothing from one call to the next that could change an outcome, so any
// Decoder may inflate any stream; one Decoder serves one call at a time.
type Decoder struct {
	lit, dist, clen huffman
	lengths         [286 + 30]uint8
	used            [286 + 30]uint16 // the positions in lengths of the lengths that are not 0
}

// Inflate appends to out the decompression of src followed by tail (the
// input in two parts, so that a trailer is added without copying), where
// back-references may reach into hist, the last bytes produced before out
// (never written). It stops at the end of a final block, or where the
// input ends with the end of a block on a byte boundary: RFC 7692 ends a
// message with an empty stored block (the tail it removes and the
// receiver appends), not with a final one. The output never exceeds limit bytes:
// out grows by grow, to at most limit, and past that Inflate stops with
// ErrTooLarge, whatever the input declares. Bytes of out's capacity past
// the output's end may be overwritten (a short match is copied 8 bytes at
// a time).
func (d *Decoder) Inflate(out, hist, src, tail []byte, limit int, grow GrowFunc) ([]byte, error) {
	if grow == nil {
		grow = func(out []byte, n int) []byte { return append(make([]byte, 0, n), out...) }
	}
	if len(out) > limit {
		return out, ErrTooLarge
	}
	// With its capacity clipped to the limit, out is full before it
	// passes the limit, and every write past its capacity checks it.
	s := state{in: src, next: tail, out: out[:len(out):min(cap(out), limit)], hist: hist, limit: limit, grow: grow}
	for {
		if len(s.in) == 0 && len(s.next) == 0 && s.nb == 0 {
			return s.out, nil // the input ends with a block, as after a sync flush
		}
		final, err := d.block(&s)
		if err != nil || final {
			return s.out, err
		}
	}
}

// state is one call's position in its input and output.
type state struct {
	in, next []byte // unread input: in, then next
	b        uint64 // bits read ahead, first bit lowest
	nb       uint   // how many bits of b are input

	out   []byte
	hist  []byte
	limit int
	grow  GrowFunc
}

// refill moves input into b until it holds at least 56 bits or the input
// ends.
func (s *state) refill() {
	if len(s.in) >= 8 {
		s.b |= binary.LittleEndian.Uint64(s.in) << (s.nb & 63) // nb < 64: the shifts need no check
		k := (63 - s.nb) >> 3
		s.in = s.in[k:]
		s.nb |= 56
		return
	}
	for s.nb <= 56 {
		if len(s.in) == 0 {
			if len(s.next) == 0 {
				return
			}
			s.in, s.next = s.next, nil
			if len(s.in) >= 8 {
				s.refill()
				return
			}
		}
		s.b |= uint64(s.in[0]) << (s.nb & 63)
		s.in = s.in[1:]
		s.nb += 8
	}
}

// bits takes n bits (at most 32, after a refill at most 56).
func (s *state) bits(n uint) (uint32, bool) {
	if s.nb < n {
		s.refill()
		if s.nb < n {
			return 0, false
		}
	}
	v := uint32(s.b & (1<<(n&63) - 1)) // n <= 32: the shifts need no check
	s.b >>= n & 63
	s.nb -= n
	return v, true
}

// symbol decodes one symbol of h; the error is ErrTruncated or
// ErrCorrupt.
func (s *state) symbol(h *huffman) (int, error) {
	if s.nb < maxCodeLen {
		s.refill()
	}
	e := h.table[s.b&h.mask&(1<<tableBits-1)] // the mask is at most that: no check
	sym, n := int(e>>4), int(e&15)
	if e == 0 {
		sym, n = h.slow(s.b, s.nb)
		if n == 0 {
			return 0, ErrCorrupt
		}
		if n < 0 {
			return 0, ErrTruncated
		}
	}
	if uint(n) > s.nb {
		return 0, ErrTruncated
	}
	s.b >>= uint(n) & 63 // n <= 15: the shift needs no check
	s.nb -= uint(n)
	return sym, nil
}

// block decodes one block and reports whether it was the final one.
func (d *Decoder) block(s *state) (bool, error) {
	head, ok := s.bits(3)
	if !ok {
		return false, ErrTruncated
	}
	var err error
	switch head >> 1 {
	case 0:
		err = s.stored()
	case 1:
		err = s.huffmanBlock(&fixedLit, &fixedDist)
	case 2:
		if err = d.readTables(s); err == nil {
			err = s.huffmanBlock(&d.lit, &d.dist)
		}
	default:
		err = ErrCorrupt // reserved block type
	}
	return head&1 == 1, err
}

// stored copies a stored block (RFC 1951 section 3.2.4).
func (s *state) stored() error {
	s.b >>= s.nb & 7 // to a byte boundary
	s.nb -= s.nb & 7
	v, ok := s.bits(32)
	if !ok {
		return ErrTruncated
	}
	n := int(v & 0xffff)
	if uint16(v>>16) != ^uint16(n) {
		return ErrCorrupt
	}
	// Room is made as the bytes arrive, not for what the header declares.
	if k := min(n, int(s.nb/8)); k > 0 { // bytes read ahead into b
		if err := s.room(k); err != nil {
			return err
		}
		for range k {
			s.out = append(s.out, byte(s.b))
			s.b >>= 8
		}
		s.nb -= uint(8 * k)
		n -= k
	}
	if n > 0 {
		s.b = 0 // what b held beyond nb is in s.in, copied below
	}
	for n > 0 {
		if len(s.in) == 0 {
			if len(s.next) == 0 {
				return ErrTruncated
			}
			s.in, s.next = s.next, nil
		}
		k := min(n, len(s.in))
		if err := s.room(k); err != nil {
			return err
		}
		s.out = append(s.out, s.in[:k]...)
		s.in, n = s.in[k:], n-k
	}
	return nil
}

// room makes room in s.out for n more bytes, within the limit.
func (s *state) room(n int) error {
	need := len(s.out) + n
	switch {
	case need <= cap(s.out):
		return nil
	case need > s.limit:
		return ErrTooLarge
	}
	c := min(max(need, 2*cap(s.out)), s.limit)
	s.out = s.grow(s.out, c)[:len(s.out):c]
	return nil
}

// Length and distance bases and extra bits (RFC 1951 section 3.2.5).
var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

// huffmanBlock decodes the data of a Huffman-coded block (RFC 1951
// section 3.2.5) up to its end-of-block symbol: fast while the input and
// the output have room for any symbol, one careful symbol at a time near
// either end.
func (s *state) huffmanBlock(lit, dist *huffman) error {
	for {
		if cap(s.out)-len(s.out) >= maxMatch+8 && len(s.in) >= 8 {
			end, err := s.fast(lit, dist)
			if end || err != nil {
				return err
			}
		}
		if end, err := s.step(lit, dist); end || err != nil {
			return err
		}
	}
}

const (
	// maxSymbolBits is the most input one literal/length symbol and its
	// distance take: 15 + 5 extra bits, 15 + 13.
	maxSymbolBits = 48
	// maxMatch is the longest match.
	maxMatch = 258
)

// fast decodes symbols while out has room for the longest match and 8
// bytes more, and the bits in hand or 8 more bytes of input hold a whole
// symbol, with the bit buffer in locals: the input is read 8 bytes at a
// time when fewer than maxSymbolBits are left, and a short match that
// lies in out is copied 8 bytes at a time, which may write up to 7 bytes
// past it within out's capacity (longer ones, and those that reach into
// hist, cost fewer instructions with copy). It reports the end of the block.
func (s *state) fast(lit, dist *huffman) (end bool, err error) {
	b, nb, in, pos, out := s.b, s.nb, s.in, 0, s.out
	for cap(out)-len(out) >= maxMatch+8 {
		if nb < maxSymbolBits {
			if len(in)-pos < 8 {
				break
			}
			b |= binary.LittleEndian.Uint64(in[pos:]) << (nb & 63)
			pos += int(63-nb) >> 3
			nb |= 56
		}
		e := lit.table[b&lit.mask&(1<<tableBits-1)] // the mask is at most that: no check
		v, n := int(e>>4), uint(e&15)
		if e == 0 {
			var l int
			if v, l = lit.slow(b, nb); l <= 0 {
				err = ErrCorrupt // nb > 15: only no code can fail
				break
			}
			n = uint(l)
		}
		b >>= n & 63 // n is at most 15: the shift needs no check
		nb -= n
		switch {
		case v < 256:
			out = out[:len(out)+1]
			out[len(out)-1] = byte(v)
			continue
		case v == 256:
			end = true
		case v > 285:
			err = ErrCorrupt
		}
		if end || err != nil {
			break
		}
		v -= 257
		x := uint(lengthExtra[v])
		length := int(lengthBase[v]) + int(b&(1<<(x&63)-1))
		b >>= x & 63
		nb -= x
		e = dist.table[b&dist.mask&(1<<tableBits-1)]
		dv, n := int(e>>4), uint(e&15)
		if e == 0 {
			var l int
			if dv, l = dist.slow(b, nb); l <= 0 {
				err = ErrCorrupt
				break
			}
			n = uint(l)
		}
		b >>= n & 63
		nb -= n
		if dv >= 30 {
			err = ErrCorrupt
			break
		}
		x = uint(distExtra[dv])
		d := int(distBase[dv]) + int(b&(1<<(x&63)-1))
		b >>= x & 63
		nb -= x
		if k := len(out); d >= 8 && d <= k && length <= 16 {
			out = copy8(out[:cap(out)], k, d, length)
			continue
		}

		var ok bool
		if out, ok = copyBack(out, s.hist, d, length); !ok {
			err = ErrCorrupt
			break
		}
	}
	s.b, s.nb, s.in, s.out = b, nb, in[pos:], out
	return end, err
}

// copy8 appends to o[:n] the length bytes that start d bytes back, d at
// least 8 and at most n, 8 bytes at a time: each 8 are read after they
// are written, however the match overlaps itself. o must have room for
// length+7 bytes after n; those past the match are left as they come.
func copy8(o []byte, n, d, length int) []byte {
	for k := 0; k < length; k += 8 {
		binary.LittleEndian.PutUint64(o[n+k:], binary.LittleEndian.Uint64(o[n-d+k:]))
	}
	return o[:n+length]
}

// step decodes one symbol, checking every bit and byte of room. It
// reports the end of the block.
func (s *state) step(lit, dist *huffman) (end bool, err error) {
	v, err := s.symbol(lit)
	switch {
	case err != nil:
		return false, err
	case v < 256:
		if err := s.room(1); err != nil {
			return false, err
		}
		s.out = append(s.out, byte(v))
		return false, nil
	case v == 256:
		return true, nil
	case v > 285:
		return false, ErrCorrupt
	}
	v -= 257
	extra, ok := s.bits(uint(lengthExtra[v]))
	if !ok {
		return false, ErrTruncated
	}
	length := int(lengthBase[v]) + int(extra)
	dv, err := s.symbol(dist)
	if err != nil {
		return false, err
	}
	if dv >= 30 {
		return false, ErrCorrupt
	}
	if extra, ok = s.bits(uint(distExtra[dv])); !ok {
		return false, ErrTruncated
	}
	d := int(distBase[dv]) + int(extra)
	if d > len(s.out)+len(s.hist) {
		return false, ErrCorrupt // checked before the room, as compress/flate does
	}
	if err := s.room(length); err != nil {
		return false, err
	}
	s.out, _ = copyBack(s.out, s.hist, d, length)
	return false, nil
}

// copyBack appends to out, which has room for them, length bytes that
// start dist bytes back, in hist for the part before out. It reports
// false for a distance before the start of hist.
func copyBack(out, hist []byte, dist, length int) ([]byte, bool) {
	n := len(out)
	if dist > n {
		if dist > n+len(hist) {
			return out, false
		}
		h := hist[len(hist)-(dist-n):]
		k := min(length, len(h))
		out = append(out, h[:k]...)
		length -= k
		if length == 0 {
			return out, true
		}
		n = len(out)
	}
	// Overlapping when dist < length: out[from:n] repeats with period
	// dist, and copying all of it each time keeps it so, doubling it.
	from, end := n-dist, n+length
	out = out[:end]
	for n < end {
		n += copy(out[n:end], out[from:n])
	}
	return out, true
}

// codeOrder is the order of the code length code's lengths (RFC 1951
// section 3.2.7).
var codeOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// readTables reads a dynamic block's code lengths and builds d.lit and
// d.dist (RFC 1951 section 3.2.7), rejecting what compress/flate rejects.
func (d *Decoder) readTables(s *state) error {
	v, ok := s.bits(14)
	if !ok {
		return ErrTruncated
	}
	nlit, ndist, nclen := int(v&31)+257, int(v>>5&31)+1, int(v>>10)+4
	if nlit > 286 || ndist > 30 {
		return ErrCorrupt
	}
	var cl [19]uint8
	for i := range nclen {
		l, ok := s.bits(3)
		if !ok {
			return ErrTruncated
		}
		cl[codeOrder[i]] = uint8(l)
	}
	if !d.clen.build(cl[:]) {
		return ErrCorrupt
	}
	lengths := d.lengths[:nlit+ndist]
	used := d.used[:0]
	for i := 0; i < len(lengths); {
		x, err := s.symbol(&d.clen)
		if err != nil {
			return err
		}
		if x < 16 {
			lengths[i] = uint8(x)
			if x != 0 {
				used = append(used, uint16(i))
			}
			i++
			continue
		}
		rep, nb, val := 3, uint(2), uint8(0)
		switch x {
		case 16:
			if i == 0 {
				return ErrCorrupt // nothing to repeat
			}
			val = lengths[i-1]
		case 17:
			nb = 3
		default:
			rep, nb = 11, 7
		}
		e, ok := s.bits(nb)
		if !ok {
			return ErrTruncated
		}
		rep += int(e)
		if i+rep > len(lengths) {
			return ErrCorrupt
		}
		if val == 0 {
			clear(lengths[i : i+rep])
			i += rep
			continue
		}
		for range rep {
			lengths[i] = val
			used = append(used, uint16(i))
			i++
		}
	}
	k := len(used) // the first distance code's place in used
	for k > 0 && int(used[k-1]) >= nlit {
		k--
		used[k] -= uint16(nlit)
	}
	if !d.lit.buildUsed(lengths[:nlit], used[:k]) || !d.dist.buildUsed(lengths[nlit:], used[k:]) {
		return ErrCorrupt
	}
	return nil
}
