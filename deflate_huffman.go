package wss

import (
	"slices"
	"sort"
)

// Dynamic Huffman codes (RFC 1951 section 3.2.7): code lengths built from
// a block's symbol frequencies, limited to 15 bits (7 for the code-length
// code), always complete, as zlib's and Go's inflaters require.

const (
	maxCodeBits   = 15 // literal/length and distance codes
	maxCLCodeBits = 7  // the code-length code
	numCLCodes    = 19
)

// clOrder is the order in which the code-length code's lengths are sent.
var clOrder = [numCLCodes]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// clExtra is the number of extra bits of code-length symbols 16, 17, 18.
var clExtra = [numCLCodes]uint8{16: 2, 17: 3, 18: 7}

// huffBuilder is the working memory of building code lengths.
type huffBuilder struct {
	sorted  [numLitCodes]uint64 // frequency<<16 | symbol, ascending
	weights [numLitCodes]uint32
	lengths [numLitCodes]uint8 // in the order of sorted
	pm      [2][2 * numLitCodes]uint64
	leaf    [maxCodeBits + 1][2 * numLitCodes]bool
}

// build sets lengths[s] for every symbol s of freq: an optimal prefix
// code no longer than limit bits, complete, with at least two codes (a
// block with one distance, or none, still gets two one-bit codes, as
// zlib sends them). Unused symbols get 0. It returns the symbols that
// have a code, ascending, in syms' storage (as long as freq): the loops
// that follow visit those only, a fifth of the literal alphabet in JSON.
func (h *huffBuilder) build(freq []uint32, limit int, lengths []uint8, syms []uint16) []uint16 {
	clear(lengths)
	syms = usedSymbols(freq, syms)
	for s := 0; len(syms) < 2; s++ { // pad with unused symbols, of weight 0
		if freq[s] == 0 {
			syms = slices.Insert(syms, sort.Search(len(syms), func(i int) bool { return int(syms[i]) > s }), uint16(s))
		}
	}
	n := len(syms)
	for i, s := range syms {
		h.sorted[i] = uint64(freq[s])<<16 | uint64(s)
	}
	sorted := h.sorted[:n]
	slices.Sort(sorted)
	w := h.weights[:n]
	for i, v := range sorted {
		w[i] = uint32(v >> 16)
	}
	l := h.lengths[:n]
	if minimumRedundancy(w, l) > limit {
		for i, v := range sorted { // the weights again, which minimumRedundancy overwrote
			w[i] = uint32(v >> 16)
		}
		h.packageMerge(w, limit, l)
	}
	for i, v := range sorted {
		lengths[uint16(v)] = l[i]
	}
	return syms
}

// usedSymbols returns the symbols of nonzero frequency, ascending, in
// syms' storage (as long as freq). It skips 8 unused symbols at a time
// (text leaves most control bytes and bytes above 127 unused, a block
// most of the long lengths and distances); within 8, no branch depends
// on a frequency.
func usedSymbols(freq []uint32, syms []uint16) []uint16 {
	syms = syms[:len(freq)]
	n, s := 0, 0
	for ; s+8 <= len(freq); s += 8 {
		f := freq[s : s+8 : s+8]
		if f[0]|f[1]|f[2]|f[3]|f[4]|f[5]|f[6]|f[7] == 0 {
			continue
		}
		for k, x := range f {
			syms[n] = uint16(s + k)
			n += int((x | -x) >> 31) // 1 when x > 0
		}
	}
	for ; s < len(freq); s++ {
		syms[n] = uint16(s)
		n += int((freq[s] | -freq[s]) >> 31)
	}
	return syms[:n]
}

// minimumRedundancy computes the code lengths of an optimal prefix code
// for the ascending weights w (at least two) into l, in place in w as
// Moffat and Katajainen's algorithm does, and returns the longest.
func minimumRedundancy(w []uint32, l []uint8) int {
	n := len(w)
	A := w // overwritten: the weights are not needed after
	A[0] += A[1]
	root, leaf := 0, 2
	for next := 1; next < n-1; next++ {
		if leaf >= n || A[root] < A[leaf] {
			A[next], A[root] = A[root], uint32(next)
			root++
		} else {
			A[next] = A[leaf]
			leaf++
		}
		if leaf >= n || (root < next && A[root] < A[leaf]) {
			A[next] += A[root]
			A[root] = uint32(next)
			root++
		} else {
			A[next] += A[leaf]
			leaf++
		}
	}
	A[n-2] = 0
	for next := n - 3; next >= 0; next-- {
		A[next] = A[A[next]] + 1
	}
	avail, used, depth := 1, 0, uint32(0)
	root, next := n-2, n-1
	for avail > 0 {
		for root >= 0 && A[root] == depth {
			used++
			root--
		}
		for avail > used {
			A[next] = depth
			next--
			avail--
		}
		avail, depth, used = 2*used, depth+1, 0
	}
	for i := range l {
		l[i] = uint8(A[i])
	}
	return int(l[0])
}

// packageMerge computes the lengths of an optimal code for the ascending
// weights w no longer than limit bits (Larmore and Hirschberg's
// package-merge), for the rare blocks whose optimal code is longer.
func (h *huffBuilder) packageMerge(w []uint32, limit int, l []uint8) {
	n := len(w)
	cur, spare := h.pm[0][:0], h.pm[1][:0]
	for _, x := range w {
		cur = append(cur, uint64(x))
	}
	for d := limit - 1; d >= 1; d-- {
		next := spare[:0]
		flags := h.leaf[d][:0]
		li, pi, np := 0, 0, len(cur)/2
		for li < n || pi < np {
			if pi >= np || (li < n && uint64(w[li]) <= cur[2*pi]+cur[2*pi+1]) {
				next, flags = append(next, uint64(w[li])), append(flags, true)
				li++
			} else {
				next, flags = append(next, cur[2*pi]+cur[2*pi+1]), append(flags, false)
				pi++
			}
		}
		cur, spare = next, cur
	}
	clear(l)
	m := 2*n - 2
	for d := 1; d < limit; d++ {
		k := 0
		for _, leaf := range h.leaf[d][:m] {
			if leaf {
				k++
			}
		}
		for i := range k {
			l[i]++
		}
		m = 2 * (m - k)
	}
	for i := range m {
		l[i]++
	}
}

// canonicalCodes assigns the canonical codes of lengths (RFC 1951 section
// 3.2.2), bit-reversed for the writer, to syms, the ascending symbols
// that have a length.
func canonicalCodes(lengths []uint8, syms []uint16, codes []huffCode) {
	var count, next [maxCodeBits + 2]uint32
	for _, s := range syms {
		count[lengths[s]]++
	}
	for b := 1; b <= maxCodeBits; b++ {
		next[b+1] = (next[b] + count[b]) << 1
	}
	for _, s := range syms {
		n := lengths[s]
		codes[s] = huffCode{reverse(next[n], n), n}
		next[n]++
	}
}

// dynamicBlock is the header of a dynamic-Huffman block being planned:
// its codes and their code-length encoding.
type dynamicBlock struct {
	h        huffBuilder
	litLen   [numLitCodes]uint8
	distLen  [numDistCodes]uint8
	lit      [numLitCodes]huffCode
	dist     [numDistCodes]huffCode
	litSyms  [numLitCodes]uint16  // the symbols with a code, ascending
	distSyms [numDistCodes]uint16 // the same for distances
	clSyms   [numCLCodes]uint16   // and code lengths
	lits     []uint16             // litSyms in use
	dists    []uint16
	cls      []uint16
	hlit     int                                // literal/length codes sent, 257-286
	hdist    int                                // distance codes sent, 1-30
	hclen    int                                // code-length codes sent, 4-19
	seq      [numLitCodes + numDistCodes]uint8  // the code lengths, in the order they are sent
	cl       [numLitCodes + numDistCodes]uint16 // seq run-length coded: symbol | extra<<8
	ncl      int
	clFreq   [numCLCodes]uint32
	clLen    [numCLCodes]uint8
	clCode   [numCLCodes]huffCode
}

// plan builds the codes for the given symbol counts and returns the size
// in bits of the block they make: header, symbols, extra bits and end of
// block.
func (b *dynamicBlock) plan(litFreq *[numLitCodes]uint32, distFreq *[numDistCodes]uint32) int {
	b.lits = b.h.build(litFreq[:], maxCodeBits, b.litLen[:], b.litSyms[:])
	b.dists = b.h.build(distFreq[:], maxCodeBits, b.distLen[:], b.distSyms[:])
	b.hlit = max(257, int(b.lits[len(b.lits)-1])+1)
	b.hdist = int(b.dists[len(b.dists)-1]) + 1
	b.runLengths()
	b.cls = b.h.build(b.clFreq[:], maxCLCodeBits, b.clLen[:], b.clSyms[:])
	b.hclen = numCLCodes
	for b.hclen > 4 && b.clLen[clOrder[b.hclen-1]] == 0 {
		b.hclen--
	}
	n := 3 + 5 + 5 + 4 + 3*b.hclen + extraBits(litFreq, distFreq)
	for s, f := range b.clFreq {
		n += int(f) * int(b.clLen[s]+clExtra[s])
	}
	for _, s := range b.lits {
		n += int(litFreq[s]) * int(b.litLen[s])
	}
	for _, s := range b.dists {
		n += int(distFreq[s]) * int(b.distLen[s])
	}
	return n
}

// runLengths codes the sequence of hlit literal/length and hdist
// distance code lengths with the code-length alphabet (RFC 1951 section
// 3.2.7: 16 repeats the previous length 3-6 times, 17 and 18 send 3-10
// and 11-138 zeros) and counts its symbols. It walks the symbols that
// have a code: the zeros between them are runs whose length is known.
func (b *dynamicBlock) runLengths() {
	clear(b.clFreq[:])
	b.ncl = 0
	l, run, next := uint8(0), 0, 0 // the run being counted; next: the position after it
	at := func(pos int, n uint8) { // length n at position pos of the sequence
		if pos > next { // zeros before it
			b.addRun(l, run)
			l, run = 0, pos-next
		}
		if n != l || run == 0 {
			b.addRun(l, run)
			l, run = n, 0
		}
		run++
		next = pos + 1
	}
	for _, s := range b.lits {
		at(int(s), b.litLen[s])
	}
	for _, s := range b.dists {
		at(b.hlit+int(s), b.distLen[s])
	}
	if end := b.hlit + b.hdist; end > next {
		b.addRun(l, run)
		l, run = 0, end-next
	}
	b.addRun(l, run)
}

// addRun codes run code lengths l, a whole run of equal lengths.
func (b *dynamicBlock) addRun(l uint8, run int) {
	if l == 0 {
		for ; run >= 11; run -= min(run, 138) {
			b.addCL(18, min(run, 138)-11)
		}
		if run >= 3 {
			b.addCL(17, run-3)
			run = 0
		}
	} else if run > 0 {
		b.addCL(int(l), 0)
		for run--; run >= 3; run -= min(run, 6) {
			b.addCL(16, min(run, 6)-3)
		}
	}
	for ; run > 0; run-- {
		b.addCL(int(l), 0)
	}
}

func (b *dynamicBlock) addCL(sym, extra int) {
	b.cl[b.ncl] = uint16(sym | extra<<8)
	b.ncl++
	b.clFreq[sym]++
}

// writeHeader writes the block's header (BFINAL 0, BTYPE 10) and sets
// its codes.
func (b *dynamicBlock) writeHeader(w *bitWriter) {
	w.put(4, 3)
	w.put(uint32(b.hlit-257), 5)
	w.put(uint32(b.hdist-1), 5)
	w.put(uint32(b.hclen-4), 4)
	for _, s := range clOrder[:b.hclen] {
		w.put(uint32(b.clLen[s]), 3)
	}
	canonicalCodes(b.clLen[:], b.cls, b.clCode[:])
	for _, v := range b.cl[:b.ncl] {
		s, extra := v&0xff, uint32(v>>8)
		c := b.clCode[s]
		w.put(c.bits|extra<<c.n, c.n+clExtra[s])
	}
	canonicalCodes(b.litLen[:], b.lits, b.lit[:])
	canonicalCodes(b.distLen[:], b.dists, b.dist[:])
}
