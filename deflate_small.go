package wss

import (
	"encoding/binary"
	"math/bits"
	"sync"
)

// smallDeflateMax is the largest message compressed by smallDeflate, the
// encoder used at level 1. Up to it, indexing the send context is a large
// part of the work, which klauspost's encoders do at several times the
// cost (docs/compression.md, "Speed"). Above it its thorough search costs
// more than klauspost's level 1 (about twice at 4 KiB), for a ratio the
// larger message makes less dependent on the context.
const smallDeflateMax = 4 << 10

// smallTableBits sizes the match table: 8,192 entries for at most
// maxSendContext+smallDeflateMax positions, about 3,000 to 4,000 with the
// default context.
const smallTableBits = 13

// smallSrcMax is how many bytes a scratch's src holds: the context and the
// message, and, when it compresses consecutive messages of one connection,
// the messages before them, so that a message indexes only its own bytes
// until src is full (docs/compression.md, "Speed").
const smallSrcMax = 16 << 10

// token is one step of a message's LZ77 parse: a literal byte, or a match
// (matchFlag | (length-3)<<15 | distance-1).
type token uint32

const matchFlag token = 1 << 31

// smallScratch is the working memory of one smallDeflate call, pooled: no
// connection keeps one.
type smallScratch struct {
	src     []byte // earlier input, the context from base, then the message
	base    int    // where the context starts in src: the chains end before it
	out     []byte
	tokens  []token
	table   [1 << smallTableBits]uint16 // hash of 4 bytes -> 1 + its last position in src, 0: none
	prev    [smallSrcMax]uint16         // position -> 1 + the previous one with its hash
	indexed int                         // positions before it are in their chains
	// owner and gen name the connection and the message whose context
	// ends src (deflate.id, deflate.gen), 0 for none: its next message
	// may keep the index of the context.
	owner, gen uint64
	litFreq    [numLitCodes]uint32
	distFreq   [numDistCodes]uint32
	block      dynamicBlock
}

var smallScratches = sync.Pool{New: func() any { return newSmallScratch() }}

func newSmallScratch() *smallScratch {
	return &smallScratch{
		src:    make([]byte, 0, smallSrcMax),
		out:    make([]byte, 0, smallDeflateMax/2),
		tokens: make([]token, 0, smallDeflateMax),
	}
}

// smallDeflate compresses p (at most smallDeflateMax bytes) as one block
// that may refer back into ctx (at most maxSendContext bytes), never
// further than maxDist, followed by a sync flush: the block is stored,
// fixed or dynamic Huffman, whichever is the shortest. The result is in
// s.out. When kept is set, src ends with ctx, indexed: the message that
// made it is the one before this one, and the chains need only p.
func smallDeflate(s *smallScratch, ctx, p []byte, maxDist int, kept bool) []byte {
	s.parse(ctx, p, maxDist, kept)
	dynamic := s.block.plan(&s.litFreq, &s.distFreq)
	return s.write(p, chooseBlock(len(p), s.fixedBits(), dynamic))
}

// write codes the parse of p as one block of type typ, then the sync
// flush, into s.out. A dynamic block needs its plan first.
func (s *smallScratch) write(p []byte, typ blockType) []byte {
	w := bitWriter{b: s.out[:0]}
	switch typ {
	case storedBlock:
		w.b = append(w.b, 0) // BFINAL 0, BTYPE 00, padded
		w.b = binary.LittleEndian.AppendUint16(w.b, uint16(len(p)))
		w.b = binary.LittleEndian.AppendUint16(w.b, ^uint16(len(p)))
		w.b = append(w.b, p...)
	case fixedBlock:
		w.put(2, 3) // BFINAL 0, BTYPE 01
		s.emit(&w, &fixedLit, &fixedDist)
	default:
		s.block.writeHeader(&w)
		s.emit(&w, &s.block.lit, &s.block.dist)
	}
	w.syncFlush()
	s.out = w.b
	return w.b
}

// blockType is how a block codes its symbols (RFC 1951 section 3.2.3).
type blockType uint8

const (
	storedBlock blockType = iota
	fixedBlock
	dynamicHuffmanBlock
)

// chooseBlock returns the block type that makes the shortest message of
// n bytes, given the sizes in bits of its fixed and dynamic Huffman
// blocks: each ends with the sync flush's 3 bits and padding, a stored
// block takes 5 bytes and the message, then a byte for the sync flush
// (the 4 bytes of deflateTail are the same for all). Ties go to the
// cheaper to write.
func chooseBlock(n, fixed, dynamic int) blockType {
	huff := (min(fixed, dynamic) + 3 + 7) / 8
	switch {
	case 6+n < huff:
		return storedBlock
	case fixed <= dynamic:
		return fixedBlock
	}
	return dynamicHuffmanBlock
}

// fixedBits is the size in bits of the parse as a fixed-Huffman block,
// its 3-bit header and end of block included. It needs the plan's
// symbols first.
func (s *smallScratch) fixedBits() int {
	n := 3 + extraBits(&s.litFreq, &s.distFreq)
	for _, c := range s.block.lits {
		n += int(s.litFreq[c]) * int(fixedLit[c].n)
	}
	for _, c := range s.block.dists {
		n += int(s.distFreq[c]) * 5
	}
	return n
}

// extraBits is how many extra bits the lengths and distances counted in
// litFreq and distFreq take, whatever their codes.
func extraBits(litFreq *[numLitCodes]uint32, distFreq *[numDistCodes]uint32) int {
	n := 0
	for c, e := range lengthExtra {
		n += int(litFreq[257+c]) * int(e)
	}
	for c, f := range distFreq {
		if c >= 4 {
			n += int(f) * (c/2 - 1)
		}
	}
	return n
}

// emit writes the parse with the given codes, then the end of block. The
// bits in hand are locals, flushed 32 at a time: a literal adds at most
// 15 to fewer than 32, a match's length at most 20 and its distance 28.
func (s *smallScratch) emit(w *bitWriter, lit *[numLitCodes]huffCode, dist *[numDistCodes]huffCode) {
	acc, n, b := w.acc, w.n, w.b
	for _, t := range s.tokens {
		if t&matchFlag == 0 {
			c := lit[t&0xff]
			acc |= uint64(c.bits) << (n & 63) // n < 32: the shifts need no check
			n += uint(c.n)
		} else {
			l := uint32(t>>15) & 0xff
			lc := lengthCode[l]
			c := lit[257+int(lc)]
			acc |= uint64(c.bits|(l-uint32(lengthBase[lc]))<<(c.n&31)) << (n & 63)
			n += uint(c.n + lengthExtra[lc])
			if n >= 32 {
				b = binary.LittleEndian.AppendUint32(b, uint32(acc))
				acc >>= 32
				n -= 32
			}
			dc, extra, value := distCode(uint32(t) & 0x7fff)
			c = dist[dc&31]
			acc |= uint64(c.bits|value<<(c.n&31)) << (n & 63)
			n += uint(c.n) + uint(extra)
		}
		if n >= 32 {
			b = binary.LittleEndian.AppendUint32(b, uint32(acc))
			acc >>= 32
			n -= 32
		}
	}
	w.acc, w.n, w.b = acc, n, b
	c := lit[endOfBlock]
	w.put(c.bits, c.n)
}

// The matcher: a hash of 4 bytes, chains of earlier positions with the
// same hash, lazy matching.
const (
	// smallChain is how many earlier positions with the same hash are
	// tried: more finds longer matches in JSON's repeated keys.
	smallChain = 16
	// smallLazy is the match length from which the next position is not
	// tried for a longer one, and smallNiceMatch the one that ends a
	// chain's search: past them a longer match saves little.
	smallLazy      = 32
	smallNiceMatch = 128
	// smallGood is the match length from which the next position is
	// tried with a quarter of the chain: a longer match there is less
	// likely.
	smallGood = 16
)

func hash4(u uint32) uint32 { return (u * 0x1e35a7bd) >> (32 - smallTableBits) }

// parse turns p into s.tokens, matches of 4 bytes or more into ctx and p,
// and counts the symbols each code will need. Every position goes into
// the chains, in order, so that the chains of the context are the same
// whether they were built now or while compressing the messages it holds
// (kept): so is the output.
func (s *smallScratch) parse(ctx, p []byte, maxDist int, kept bool) {
	if kept && len(ctx) > 0 && len(s.src)+len(p) <= min(cap(s.src), smallSrcMax) {
		s.base = len(s.src) - len(ctx)
	} else {
		s.src = append(s.src[:0], ctx...)
		s.base, s.indexed = 0, 0
		clear(s.table[:])
	}
	start := len(s.src)
	s.src = append(s.src, p...)
	src := s.src
	clear(s.litFreq[:])
	clear(s.distFreq[:])
	s.tokens = s.tokens[:0]
	lit, last := start, len(src)-4
	s.index(start, last)
	i := start
	n, cand := s.longest(i, last, maxDist)
	for i <= last {
		if n == 0 {
			i++
			n, cand = s.longest(i, last, maxDist)
			continue
		}
		if n < smallLazy && i+1 <= last {
			chain := smallChain
			if n >= smallGood {
				chain = smallChain / 4
			}
			if n1, c1 := s.longestIn(i+1, last, maxDist, chain, n); n1 > n {
				i, n, cand = i+1, n1, c1
				continue
			}
		}
		for i > lit && cand > s.base && src[i-1] == src[cand-1] && n < 258 {
			i, cand, n = i-1, cand-1, n+1
		}
		s.literals(src[lit:i])
		s.match(n, i-cand)
		i += n
		lit = i
		n, cand = s.longest(i, last, maxDist)
	}
	s.literals(src[lit:])
	s.litFreq[endOfBlock]++
	s.index(last+1, last) // the whole message, for the next one
}

func (s *smallScratch) literals(p []byte) {
	for _, c := range p {
		s.tokens = append(s.tokens, token(c))
		s.litFreq[c]++
	}
}

func (s *smallScratch) match(length, dist int) {
	s.tokens = append(s.tokens, matchFlag|token(length-3)<<15|token(dist-1))
	s.litFreq[257+int(lengthCode[length-3])]++
	dc, _, _ := distCode(uint32(dist - 1))
	s.distFreq[dc]++
}

// index adds the positions before end (and at most last) to their hash
// chains, from where the previous call stopped.
func (s *smallScratch) index(end, last int) {
	i, end := s.indexed, min(end, last+1)
	if i >= end {
		return
	}
	src, t, prev := s.src, &s.table, s.prev[:end]
	for stop := min(end, len(src)-4) - 4; i <= stop; i += 4 { // four positions from one load
		u := load64(src, i)
		p := prev[i : i+4 : i+4]
		h := hash4(uint32(u))
		p[0], t[h] = t[h], uint16(i)+1
		h = hash4(uint32(u >> 8))
		p[1], t[h] = t[h], uint16(i)+2
		h = hash4(uint32(u >> 16))
		p[2], t[h] = t[h], uint16(i)+3
		h = hash4(uint32(u >> 24))
		p[3], t[h] = t[h], uint16(i)+4
	}
	for ; i < end; i++ {
		h := hash4(load32(src, i))
		prev[i], t[h] = t[h], uint16(i)+1
	}
	s.indexed = i
}

// longest returns the longest match (at least 4 bytes) for position i
// (at most last) among the chain of its hash, no further back than
// maxDist, and where it starts; 0 when there is none.
func (s *smallScratch) longest(i, last, maxDist int) (n, cand int) {
	return s.longestIn(i, last, maxDist, smallChain, 0)
}

// longestIn is longest trying at most chain candidates, for a match
// longer than beat (0 or more when there is none): the lazy step needs
// only to know whether the next position beats the match in hand, and a
// candidate that does must match at beat too, which one byte tells. The
// longest match found is the same as without beat when it is longer.
// It makes no call on the way (docs/compression.md, "Fewer instructions
// for the same bytes"): a call's spills cost more than most searches.
func (s *smallScratch) longestIn(i, last, maxDist, chain, beat int) (n, cand int) {
	if i > last {
		return 0, 0
	}
	src := s.src
	if j := s.indexed; j == i-1 { // the chains hold every position before i
		h := hash4(load32(src, j))
		s.prev[j], s.table[h] = s.table[h], uint16(j)+1
		s.indexed = i
	} else if j < i {
		s.index(i, last)
	}
	limit := min(258, len(src)-i)
	if beat >= limit {
		return 0, 0
	}
	// The candidates no further back than lo: the context's start, or
	// the window's.
	lo, prev := max(s.base, i-maxDist), &s.prev
	cv := load32(src, i)
	c := int(s.table[hash4(cv)]) - 1
	n = beat
	at := src[i+n] // n < limit: within src
	if c < lo {
		return n, cand
	}
	for {
		// The candidates that cannot beat n, skipped with the fewest
		// values in hand.
		for src[c+n] != at || load32(src, c) != cv {
			if chain--; chain == 0 {
				return n, cand
			}
			if c = int(prev[c&(smallSrcMax-1)]) - 1; c < lo { // 0 <= c < smallSrcMax: the mask only spares a check
				return n, cand
			}
		}
		// The match's length, measured here without a call: 8 bytes at
		// a time while limit allows, then one at a time.
		l := 4
		for l+8 <= limit {
			if x := load64(src, i+l) ^ load64(src, c+l); x != 0 {
				l += bits.TrailingZeros64(x) >> 3
				goto measured
			}
			l += 8
		}
		for l < limit && src[i+l] == src[c+l] {
			l++
		}
	measured:
		if l > n {
			n, cand = l, c
			if l >= min(limit, smallNiceMatch) {
				return n, cand
			}
			at = src[i+n]
		}
		if chain--; chain == 0 {
			return n, cand
		}
		if c = int(prev[c&(smallSrcMax-1)]) - 1; c < lo {
			return n, cand
		}
	}
}

// load64 is the little-endian uint64 at b[i:].
func load64(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i : i+8 : i+8]) }

// load32 is the little-endian uint32 at b[i:].
func load32(b []byte, i int) uint32 { return binary.LittleEndian.Uint32(b[i : i+4 : i+4]) }
