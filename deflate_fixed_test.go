package wss

import (
	"bytes"
	stdflate "compress/flate"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"testing"
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

// checkFixedDeflate compresses p after ctx and inflates it with only the
// last maxDist bytes of ctx as the peer's history: a reference further
// back than the window fails to inflate.
func checkFixedDeflate(t *testing.T, ctx, p []byte, maxDist int) {
	t.Helper()
	s := new(fixedScratch)
	comp := fixedDeflate(s, ctx, p, maxDist)
	if !bytes.HasSuffix(comp, deflateTail) {
		t.Fatalf("no sync flush at the end: % x", comp[max(0, len(comp)-8):])
	}
	got, err := inflateWithDict(comp, ctx[max(0, len(ctx)-maxDist):])
	if err != nil || !bytes.Equal(got, p) {
		t.Fatalf("round trip of %d bytes after %d of context, window %d: %d bytes back, %v", len(p), len(ctx), maxDist, len(got), err)
	}
	if limit := 2*len(storedHeader) + 4 + len(p) + len(deflateTail); len(comp) > limit {
		t.Fatalf("%d bytes compressed to %d, more than stored (%d)", len(p), len(comp), limit)
	}
}

// TestFixedDeflateRoundTrip checks the small-message encoder against the
// standard library's inflater (RFC 1951 section 3.2.6, fixed Huffman
// codes): every length code including 258, distances up to the window and
// no further, matches into the context, incompressible input.
func TestFixedDeflateRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	random := make([]byte, fixedDeflateMax)
	r.Read(random)
	json := jsonLike(maxSendContext + fixedDeflateMax)
	cases := []struct {
		name string
		ctx  []byte
		p    []byte
	}{
		{"empty", nil, nil},
		{"one byte", nil, []byte("x")},
		{"four bytes", nil, []byte("abcd")},
		{"every length", nil, bytes.Repeat([]byte("ab"), fixedDeflateMax/2)},
		{"one long run", nil, bytes.Repeat([]byte{0}, fixedDeflateMax)},
		{"all bytes", nil, func() []byte {
			b := make([]byte, 256)
			for i := range b {
				b[i] = byte(i)
			}
			return b
		}()},
		{"random, stored", nil, random},
		{"random after context", json[:2048], random},
		{"json, no context", nil, json[:fixedDeflateMax]},
		{"json after 2 KiB", json[:2048], json[2048 : 2048+300]},
		{"json after 8 KiB", json[:maxSendContext], json[maxSendContext:]},
		{"message repeats context", json[:2048], json[1024 : 1024+fixedDeflateMax]},
	}
	for _, c := range cases {
		for _, bits := range []int{8, 9, 12, 15} {
			t.Run(fmt.Sprintf("%s/window %d", c.name, bits), func(t *testing.T) {
				checkFixedDeflate(t, c.ctx, c.p, 1<<bits)
			})
		}
	}
	for i := range fixedLen { // each length once, matched from the context
		p := bytes.Repeat([]byte{'q'}, i+3)
		checkFixedDeflate(t, bytes.Repeat([]byte{'q'}, 258), append(p, 'z'), 1<<15)
	}
}

// FuzzFixedDeflate round-trips arbitrary context and message through the
// small-message encoder and the standard library's inflater.
//
//	go test -run XXX -fuzz FuzzFixedDeflate -fuzztime 30s
func FuzzFixedDeflate(f *testing.F) {
	f.Add([]byte("hello hello hello"), []byte("hello world hello"), uint8(15))
	f.Add(jsonLike(2048), jsonLike(300), uint8(8))
	f.Fuzz(func(t *testing.T, ctx, p []byte, bits uint8) {
		ctx = ctx[max(0, len(ctx)-maxSendContext):]
		p = p[:min(len(p), fixedDeflateMax)]
		checkFixedDeflate(t, ctx, p, 1<<(8+bits%8))
	})
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
