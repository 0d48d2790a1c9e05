package wss

import (
	"bytes"
	stdflate "compress/flate"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"sync"
	"testing"

	"github.com/wssgo/wss/internal/inflate"
)

// inflateWithDict inflates a sync-flushed stream that may refer back to
// dict, as a peer does.
func inflateWithDict(comp, dict []byte) ([]byte, error) {
	got, err := io.ReadAll(stdflate.NewReaderDict(bytes.NewReader(comp), dict))
	if err == io.ErrUnexpectedEOF { // a sync flush does not end the stream
		err = nil
	}
	return got, err
}

// reused is a scratch that checkSmallDeflate uses again and again.
var reused struct {
	sync.Mutex
	s smallScratch
}

// checkSmallDeflate compresses p after ctx and inflates it, with the
// standard library's inflater and with internal/inflate, given only the
// last maxDist bytes of ctx as the peer's history: a reference further
// back than the window fails to inflate. The output is never longer than
// p stored, and the same from a scratch that compressed other input
// before (with ctx and p swapped, and the previous call's), as a pooled
// one has: the encoder clears only the part of its table a message reads;
// and the same from a scratch that has just compressed ctx and keeps its
// index, as the pool gives a connection's next message.
func checkSmallDeflate(t *testing.T, ctx, p []byte, maxDist int) {
	t.Helper()
	comp := smallDeflate(new(smallScratch), ctx, p, maxDist, false)
	reused.Lock()
	s := &reused.s
	smallDeflate(s, p[max(0, len(p)-maxSendContext):], ctx, maxDist, false)
	again := smallDeflate(s, ctx, p, maxDist, false)
	same := bytes.Equal(again, comp)
	smallDeflate(s, nil, ctx, maxDist, false) // ctx as the message before p: its index is kept
	kept := smallDeflate(s, ctx, p, maxDist, true)
	sameKept := bytes.Equal(kept, comp)
	reused.Unlock()
	if !same {
		t.Fatalf("%d bytes after %d of context, window %d: a reused scratch compressed differently from a new one", len(p), len(ctx), maxDist)
	}
	if !sameKept {
		t.Fatalf("%d bytes after %d of context, window %d: the context's kept index compressed differently from a new one", len(p), len(ctx), maxDist)
	}
	if !bytes.HasSuffix(comp, deflateTail) {
		t.Fatalf("no sync flush at the end: % x", comp[max(0, len(comp)-8):])
	}
	window := ctx[max(0, len(ctx)-maxDist):]
	got, err := inflateWithDict(comp, window)
	if err != nil || !bytes.Equal(got, p) {
		t.Fatalf("compress/flate: round trip of %d bytes after %d of context, window %d: %d bytes back, %v", len(p), len(ctx), maxDist, len(got), err)
	}
	var dec inflate.Decoder
	got, err = dec.Inflate(nil, window, comp[:len(comp)-len(deflateTail)], deflateTail, len(p), nil)
	if err != nil || !bytes.Equal(got, p) {
		t.Fatalf("internal/inflate: round trip of %d bytes after %d of context, window %d: %d bytes back, %v", len(p), len(ctx), maxDist, len(got), err)
	}
	if limit := 6 + len(p) + len(deflateTail); len(comp) > limit {
		t.Fatalf("%d bytes compressed to %d, more than stored (%d)", len(p), len(comp), limit)
	}
}

// TestSmallDeflateRoundTrip checks the level-1 encoder against two
// inflaters (RFC 1951 sections 3.2.4-3.2.7: stored, fixed and dynamic
// blocks): every length code including 258, distances up to the window
// and no further, matches into the context, incompressible input, and
// messages up to smallDeflateMax.
func TestSmallDeflateRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	random := make([]byte, smallDeflateMax)
	r.Read(random)
	json := jsonLike(maxSendContext + smallDeflateMax)
	cases := []struct {
		name string
		ctx  []byte
		p    []byte
	}{
		{"empty", nil, nil},
		{"one byte", nil, []byte("x")},
		{"four bytes", nil, []byte("abcd")},
		{"every length", nil, bytes.Repeat([]byte("ab"), smallDeflateMax/2)},
		{"one long run", nil, bytes.Repeat([]byte{0}, smallDeflateMax)},
		{"all bytes", nil, allBytes()},
		{"random, stored", nil, random},
		{"random after context", json[:2048], random},
		{"random with a repeat", nil, append(random[:3000:3000], random[:3000]...)},
		{"json, no context", nil, json[:smallDeflateMax]},
		{"json after 2 KiB", json[:2048], json[2048 : 2048+300]},
		{"json after 8 KiB", json[:maxSendContext], json[maxSendContext:]},
		{"message repeats context", json[:2048], json[1024 : 1024+smallDeflateMax]},
		{"skewed symbols", nil, skewed(smallDeflateMax)},
	}
	for _, c := range cases {
		for _, bits := range []int{8, 9, 12, 15} {
			t.Run(fmt.Sprintf("%s/window %d", c.name, bits), func(t *testing.T) {
				checkSmallDeflate(t, c.ctx, c.p, 1<<bits)
			})
		}
	}
	for i := range 256 { // each length once, matched from the context
		p := bytes.Repeat([]byte{'q'}, i+3)
		checkSmallDeflate(t, bytes.Repeat([]byte{'q'}, 258), append(p, 'z'), 1<<15)
	}
}

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// skewed returns n bytes whose symbol counts grow like Fibonacci numbers,
// so that an unlimited Huffman code would be longer than 15 bits and the
// code lengths must be limited.
func skewed(n int) []byte {
	var b []byte
	f0, f1 := 1, 1
	for c := byte(0); len(b) < n && c < 26; c++ {
		for range f0 {
			b = append(b, 'a'+c, 'A'+c, '0'+c%10) // three symbols a step, no repeats of 4
		}
		f0, f1 = f1, f0+f1
	}
	b = b[:min(len(b), n)]
	rand.New(rand.NewSource(2)).Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
	return b
}

// FuzzSmallDeflate round-trips arbitrary context and message through the
// level-1 encoder and both inflaters, in every window.
//
//	go test -run XXX -fuzz FuzzSmallDeflate -fuzztime 60s
func FuzzSmallDeflate(f *testing.F) {
	f.Add([]byte("hello hello hello"), []byte("hello world hello"), uint8(15))
	f.Add(jsonLike(2048), jsonLike(300), uint8(8))
	f.Add(jsonLike(2688), jsonLike(1200), uint8(12))
	f.Add([]byte(nil), bytes.Repeat([]byte{0}, 3000), uint8(9))
	f.Add(allBytes(), skewed(4000), uint8(10))
	f.Add(bytes.Repeat([]byte("abc"), 100), bytes.Repeat([]byte("abcd"), 300), uint8(8))
	f.Fuzz(func(t *testing.T, ctx, p []byte, bits uint8) {
		ctx = ctx[max(0, len(ctx)-maxSendContext):]
		p = p[:min(len(p), smallDeflateMax)]
		checkSmallDeflate(t, ctx, p, 1<<(8+bits%8))
	})
}

// TestDeflateBlockChoice checks what a server with context takeover sends
// for its first message at the sizes where the choice changes: the block
// type (RFC 1951 section 3.2.3) and, for the level-1 encoder, that the
// block chosen is the shortest of the three and that its predicted size
// is its size. From 198 bytes of these JSON records on, a dynamic block is
// shorter than a fixed one (below, only at 174 bytes); incompressible
// input is stored; past smallDeflateMax klauspost's encoder takes over.
func TestDeflateBlockChoice(t *testing.T) {
	random := make([]byte, smallDeflateMax+1)
	rand.New(rand.NewSource(3)).Read(random)
	json := jsonLike(smallDeflateMax + 1)
	for _, tc := range []struct {
		name string
		p    []byte
		want blockType
	}{
		{"0 bytes", nil, fixedBlock},
		{"1 byte", []byte("x"), fixedBlock},
		{"json, last fixed", json[:197], fixedBlock},
		{"json, first dynamic", json[:198], dynamicHuffmanBlock},
		{"json at smallDeflateMax", json[:smallDeflateMax], dynamicHuffmanBlock},
		{"json past smallDeflateMax", json, dynamicHuffmanBlock},
		{"random, 1 byte", random[:1], fixedBlock},
		{"random at smallDeflateMax", random[:smallDeflateMax], storedBlock},
		{"random past smallDeflateMax", random, storedBlock},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, d := negotiateOffers([]string{"permessage-deflate; client_max_window_bits"}, &CompressionConfig{})
			buf := getBuf(len(tc.p))
			defer putBuf(buf)
			comp, err := d.compress(&buf, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if got := blockType(comp[0] >> 1 & 3); got != tc.want {
				t.Errorf("block type %d, want %d", got, tc.want)
			}
			if got, err := inflateWithDict(append(comp, deflateTail...), nil); err != nil || !bytes.Equal(got, tc.p) {
				t.Fatalf("round trip: %d bytes, %v", len(got), err)
			}
			if len(tc.p) <= smallDeflateMax {
				checkShortestBlock(t, tc.p)
			}
		})
	}
}

// checkShortestBlock writes p's parse as each block type and checks that
// smallDeflate's output is the shortest and that fixedBits and plan
// predict the Huffman blocks' sizes exactly.
func checkShortestBlock(t *testing.T, p []byte) {
	t.Helper()
	s := new(smallScratch)
	chosen := len(smallDeflate(s, nil, p, 1<<15, false))
	dynamic := s.block.plan(&s.litFreq, &s.distFreq)
	fixed := s.fixedBits()
	sizes := map[blockType]int{}
	for typ, bits := range map[blockType]int{storedBlock: -1, fixedBlock: fixed, dynamicHuffmanBlock: dynamic} {
		out := s.write(p, typ)
		if got, err := inflateWithDict(out, nil); err != nil || !bytes.Equal(got, p) {
			t.Fatalf("block type %d: round trip %d bytes, %v", typ, len(got), err)
		}
		sizes[typ] = len(out)
		if want := (bits+3+7)/8 + len(deflateTail); bits >= 0 && len(out) != want {
			t.Errorf("block type %d: %d bytes, %d bits predicted (%d bytes)", typ, len(out), bits, want)
		}
	}
	if shortest := min(sizes[storedBlock], sizes[fixedBlock], sizes[dynamicHuffmanBlock]); chosen != shortest {
		t.Errorf("%d bytes chosen, the shortest block takes %d (%v)", chosen, shortest, sizes)
	}
}

// TestHuffmanCodeLengths checks the code lengths of a dynamic block's
// codes (RFC 1951 section 3.2.7): never longer than the limit, even for
// counts whose optimal code is longer (Fibonacci counts), always complete
// (Kraft sum exactly 1, as zlib and compress/flate require) and, without
// a limit in the way, optimal.
func TestHuffmanCodeLengths(t *testing.T) {
	fib := make([]uint32, 30)
	fib[0], fib[1] = 1, 1
	for i := 2; i < len(fib); i++ {
		fib[i] = fib[i-1] + fib[i-2]
	}
	for _, tc := range []struct {
		name  string
		freq  []uint32
		limit int
		bits  int // total coded bits, when known; 0: not checked
	}{
		{"none used", make([]uint32, 30), 15, 0},
		{"one used", []uint32{0, 0, 5}, 15, 5},
		{"two used", []uint32{3, 0, 5}, 15, 8},
		{"uniform 4", []uint32{1, 1, 1, 1}, 15, 8},
		{"classic", []uint32{5, 9, 12, 13, 16, 45}, 15, 224},
		{"fibonacci, limit 15", fib, 15, 0},
		{"fibonacci 19, limit 7", fib[:19], 7, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h huffBuilder
			lengths := make([]uint8, len(tc.freq))
			h.build(tc.freq, tc.limit, lengths, make([]uint16, len(tc.freq)))
			kraft, used, total := 0, 0, 0
			for s, n := range lengths {
				if n > uint8(tc.limit) {
					t.Fatalf("symbol %d: %d bits, limit %d", s, n, tc.limit)
				}
				if tc.freq[s] > 0 && n == 0 {
					t.Fatalf("symbol %d used but has no code", s)
				}
				if n > 0 {
					kraft += 1 << (tc.limit - int(n))
					used++
				}
				total += int(tc.freq[s]) * int(n)
			}
			if used < 2 || kraft != 1<<tc.limit {
				t.Errorf("%d codes, Kraft sum %d/%d: not a complete code of at least two", used, kraft, 1<<tc.limit)
			}
			if tc.bits != 0 && total != tc.bits {
				t.Errorf("%d bits coded, want %d", total, tc.bits)
			}
		})
	}
}

// TestCompressedMessageAllocations checks that, once its pools are warm, a
// server with context takeover compresses a message without allocating,
// at every size and window the encoders choose between, and inflates a
// client's message without allocating, 16 KiB messages (whose Huffman
// codes are longer than 9 bits) included.
func TestCompressedMessageAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items: allocation counts need it off")
	}
	for _, tc := range []struct {
		offer       string
		size        int
		inflateFree bool
	}{
		{"permessage-deflate; client_max_window_bits", 300, true},
		{"permessage-deflate; client_max_window_bits", 1200, true},
		{"permessage-deflate; client_max_window_bits", 16 << 10, true},
		{"permessage-deflate; server_max_window_bits=10", 300, true},
		{"permessage-deflate; server_max_window_bits=10", 1200, true},
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.offer, tc.size), func(t *testing.T) {
			resp, srv := negotiateOffers([]string{tc.offer}, &CompressionConfig{})
			cli, err := acceptDeflateResponse(http.Header{"Sec-Websocket-Extensions": {resp}}, &CompressionConfig{})
			if err != nil {
				t.Fatal(err)
			}
			next := jsonMessages(tc.size)
			in := make([][]byte, 64)
			for i := range in {
				buf := getBuf(tc.size)
				comp, err := cli.compress(&buf, next())
				if err != nil {
					t.Fatal(err)
				}
				in[i] = append([]byte(nil), comp...)
				putBuf(buf)
			}
			i := 0
			inflate := func() {
				out, code := srv.inflateMessage(in[i%len(in)], 1<<30, true, 4096)
				if code != 0 || len(*out) != tc.size {
					t.Fatalf("inflate: code %d, %d bytes", code, len(*out))
				}
				putBuf(out)
			}
			compress := func() {
				buf := getBuf(tc.size/2 + 64)
				if _, err := srv.compress(&buf, next()); err != nil {
					t.Fatal(err)
				}
				putBuf(buf)
			}
			for ; i < len(in); i++ { // fill the windows and the pools
				inflate()
				compress()
			}
			if allocs := testing.AllocsPerRun(len(in), compress); allocs != 0 {
				t.Errorf("%v allocations per compressed message, want 0", allocs)
			}
			if allocs := testing.AllocsPerRun(len(in), func() { inflate(); i++ }); tc.inflateFree && allocs != 0 {
				t.Errorf("%v allocations per inflated message, want 0", allocs)
			}
		})
	}
}

// TestSmallDeflateKeptIndex checks the index a scratch keeps for a
// connection's next message with context takeover (RFC 7692 section
// 7.2.3.3): over a stream compressed message after message, each with
// the end of the previous ones as its context, a scratch that keeps its
// index adds only the message's positions to its chains until its src is
// full, writes the same bytes as a new scratch, and both inflaters give
// the message back from the peer's window, in every window size.
func TestSmallDeflateKeptIndex(t *testing.T) {
	for bits := 8; bits <= 15; bits++ {
		for _, size := range []int{300, 1200, smallDeflateMax} {
			t.Run(fmt.Sprintf("window %d/%d bytes", bits, size), func(t *testing.T) {
				next := chatMessages(size)
				d := &deflate{sendBits: bits, sendContext: min(defaultSendContext, 1<<bits)}
				kept, fresh := newSmallScratch(), newSmallScratch()
				var window []byte // the peer's: the last 1<<bits bytes it inflated
				reuses := 0
				for i := range 100 {
					p := next()
					from, reuse := kept.indexed, i > 0 && len(kept.src)+len(p) <= smallSrcMax
					got := smallDeflate(kept, d.sent, p, 1<<bits, i > 0)
					if added := kept.indexed - from; reuse && added != len(p) {
						t.Fatalf("message %d: %d positions indexed for %d bytes after %d of context", i, added, len(p), len(d.sent))
					}
					if reuse {
						reuses++
					}
					if want := smallDeflate(fresh, d.sent, p, 1<<bits, false); !bytes.Equal(got, want) {
						t.Fatalf("message %d: the kept index compressed differently from a new one (%d and %d bytes)", i, len(got), len(want))
					}
					checkInflates(t, got, window, p)
					window = keepLast(window, p, 1<<bits)
					d.sent = keepLast(d.sent, p, d.sendContext)
				}
				if reuses < 50 {
					t.Fatalf("the index was kept for %d messages of 100", reuses)
				}
			})
		}
	}
}

// checkInflates inflates comp, a sync-flushed message, with the standard
// library's inflater and with internal/inflate against the peer's window.
func checkInflates(t *testing.T, comp, window, p []byte) {
	t.Helper()
	if got, err := inflateWithDict(comp, window); err != nil || !bytes.Equal(got, p) {
		t.Fatalf("compress/flate: %d bytes back of %d, %v", len(got), len(p), err)
	}
	var dec inflate.Decoder
	got, err := dec.Inflate(nil, window, comp[:len(comp)-len(deflateTail)], deflateTail, len(p), nil)
	if err != nil || !bytes.Equal(got, p) {
		t.Fatalf("internal/inflate: %d bytes back of %d, %v", len(got), len(p), err)
	}
}

// TestCompressKeptIndexSameBytes checks what the pool's scratches do to
// the bytes on the wire: two connections with context takeover compress
// their streams interleaved, in runs of messages, with messages above
// smallDeflateMax among them, and every message is what a new scratch
// writes from the connection's own context (so a kept index is used only
// by its connection, for its next message), which the peer inflates.
func TestCompressKeptIndexSameBytes(t *testing.T) {
	for bits := 8; bits <= 15; bits++ {
		t.Run(fmt.Sprintf("window %d", bits), func(t *testing.T) {
			type conn struct {
				d      *deflate
				next   func() []byte
				window []byte
			}
			var conns [2]conn
			for k := range conns {
				conns[k] = conn{d: &deflate{level: 1, threshold: 0, sendBits: bits, sendTakeover: true,
					sendContext: min(defaultSendContext, 1<<bits), id: deflateIDs.Add(1)}, next: chatMessages(300 + 900*k)}
			}
			fresh := newSmallScratch()
			big := jsonLike(smallDeflateMax + 100)
			for i := range 120 {
				c := &conns[i/3%2] // three messages in a row on each
				p := c.next()
				if i%17 == 16 {
					p = big
				}
				var want []byte
				if len(p) <= smallDeflateMax {
					want = bytes.Clone(smallDeflate(fresh, c.d.sent, p, 1<<bits, false))
				}
				buf := getBuf(len(p))
				comp, err := c.d.compress(&buf, p)
				if err != nil {
					t.Fatal(err)
				}
				full := append(bytes.Clone(comp), deflateTail...)
				putBuf(buf)
				if want != nil && !bytes.Equal(full, want) {
					t.Fatalf("message %d (%d bytes): %d bytes sent, a new scratch writes %d", i, len(p), len(full), len(want))
				}
				checkInflates(t, full, c.window, p)
				c.window = keepLast(c.window, p, 1<<bits)
			}
		})
	}
}
