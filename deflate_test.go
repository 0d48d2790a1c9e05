package wss

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wssgo/wss/internal/frame"
)

// echoServer serves cfg's connections with an echo handler; cfgFor, if
// set, picks the Config per request.
func echoServer(t testing.TB, cfg *Config) *httptest.Server {
	t.Helper()
	d, err := NewDispatcher(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() }) // after srv.Close: cleanups run last first
	echo := HandlerFuncs{Frame: func(c *Conn, data []byte, typ MessageType) { _ = c.Write(data, typ) }}
	srv := httptest.NewServer(HTTPHandler(d, cfg, func(*Request) (Handler, error) { return echo, nil }))
	t.Cleanup(srv.Close)
	return srv
}

func wsURL(srv *httptest.Server) string { return "ws" + strings.TrimPrefix(srv.URL, "http") }

// TestRFC7692_7_2_3_Examples sends the examples of RFC 7692 section
// 7.2.3 byte for byte and expects "Hello" back, uncompressed (the server's
// threshold keeps it so) so the answer's bytes are exact.
func TestRFC7692_7_2_3_Examples(t *testing.T) {
	srv := echoServer(t, &Config{Compression: &CompressionConfig{Threshold: 1 << 20}})
	hello := []byte{0x81, 0x05, 'H', 'e', 'l', 'l', 'o'}
	tests := []struct {
		name   string
		frames [][]byte // first byte then payload, per frame
		echoes int
	}{
		{"7.2.3.1 a message compressed", [][]byte{{0xc1, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}}, 1},
		{"7.2.3.1 fragmented", [][]byte{{0x41, 0xf2, 0x48, 0xcd}, {0x80, 0xc9, 0xc9, 0x07, 0x00}}, 1},
		{"7.2.3.2 sharing the LZ77 window", [][]byte{
			{0xc1, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00},
			{0xc1, 0xf2, 0x00, 0x11, 0x00, 0x00}}, 2},
		{"7.2.3.3 a stored block", [][]byte{{0xc1, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}}, 1},
		{"7.2.3.4 BFINAL set", [][]byte{{0xc1, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}}, 1},
		{"7.2.3.5 two deflate blocks", [][]byte{{0xc1, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00}}, 1},
		{"uncompressed message on a compressed connection", [][]byte{{0x81, 'H', 'e', 'l', 'l', 'o'}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, srv.Listener.Addr().String()).connectExt("permessage-deflate")
			if c.ext != "permessage-deflate" {
				t.Fatalf("extensions %q", c.ext)
			}
			for _, f := range tt.frames {
				c.send(f[0], f[1:])
			}
			for range tt.echoes {
				c.expect(hello)
			}
		})
	}
}

// TestRFC7692_6_RSV1 checks where RSV1 may appear: only on the first
// frame of a data message, only once permessage-deflate is negotiated.
func TestRFC7692_6_RSV1(t *testing.T) {
	srv := echoServer(t, &Config{Compression: &CompressionConfig{}})
	tests := []struct {
		name   string
		offer  string
		frames [][]byte
	}{
		{"RSV1 without negotiation", "", [][]byte{{0xc1, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}}},
		{"RSV1 on a continuation", "permessage-deflate", [][]byte{{0x41, 0xf2, 0x48, 0xcd}, {0xc0, 0xc9, 0xc9, 0x07, 0x00}}},
		{"RSV1 on a ping", "permessage-deflate", [][]byte{{0xc9}}},
		{"RSV1 on a close", "permessage-deflate", [][]byte{{0xc8, 0x03, 0xe8}}},
		{"RSV2 on a text frame", "permessage-deflate", [][]byte{{0xa1, 'H', 'i'}}},
		{"RSV3 on a text frame", "permessage-deflate", [][]byte{{0x91, 'H', 'i'}}},
		{"RSV1 and RSV2", "permessage-deflate", [][]byte{{0xe1, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}}},
		{"corrupt deflate data", "permessage-deflate", [][]byte{{0xc1, 0xff, 0xff, 0xff, 0xff}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, srv.Listener.Addr().String()).connectExt(tt.offer)
			for _, f := range tt.frames {
				c.send(f[0], f[1:])
			}
			c.expectFail(StatusProtocolError)
		})
	}
}

// TestCompressedTextInvalidUTF8 checks that UTF-8 is validated on the
// inflated bytes: a compressed text message whose inflated form is not
// UTF-8 closes with 1007.
func TestCompressedTextInvalidUTF8(t *testing.T) {
	srv := echoServer(t, &Config{Compression: &CompressionConfig{}})
	c := dialRaw(t, srv.Listener.Addr().String()).connectExt("permessage-deflate")
	c.send(0xc1, compressForTest(t, []byte("valid, then \xff")))
	c.expectFail(StatusInvalidData)
}

// compressForTest deflates p the way a peer without context takeover
// would, tail removed.
func compressForTest(t testing.TB, p []byte) []byte {
	t.Helper()
	d := &deflate{level: 1, sendBits: 15}
	buf := getBuf(64)
	out, err := d.compress(&buf, p)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), out...)
}

// TestCompressionBomb sends a message that inflates far past
// MaxMessageSize: the server must close with 1009, after inflating no more
// than the limit.
func TestCompressionBomb(t *testing.T) {
	const limit = 64 << 10
	srv := echoServer(t, &Config{MaxMessageSize: limit, Compression: &CompressionConfig{}})
	bomb := compressForTest(t, make([]byte, 32<<20)) // 32 MiB of zeros, ~32 KiB compressed
	if len(bomb) > limit {
		t.Fatalf("the bomb is %d bytes compressed, over the limit itself", len(bomb))
	}
	c := dialRaw(t, srv.Listener.Addr().String()).connectExt("permessage-deflate")
	go func() { _, _ = c.nc.Write(clientFrame(0xc2, bomb)) }()
	c.expect(serverClose(StatusMessageTooBig))
}

// TestInflateStopsAtLimit checks the inflater itself: it returns 1009 and
// holds no buffer much larger than the limit, however large the bomb.
func TestInflateStopsAtLimit(t *testing.T) {
	bomb := compressForTest(t, make([]byte, 64<<20))
	d := &deflate{recvBits: 15}
	for _, limit := range []int64{1, 1000, 1 << 16, 1 << 20} {
		out, code := d.inflateMessage(bomb, limit, false, 4096)
		if out != nil || code != StatusMessageTooBig {
			t.Fatalf("limit %d: code %d, want %d", limit, code, StatusMessageTooBig)
		}
	}
	var before, after runtimeMem
	before.read()
	_, code := d.inflateMessage(bomb, 1<<20, false, 4096)
	after.read()
	if code != StatusMessageTooBig {
		t.Fatalf("code %d", code)
	}
	if grown := after.total - before.total; grown > 8<<20 {
		t.Fatalf("inflating a bomb with a 1 MiB limit allocated %d bytes", grown)
	}
}

// TestFragmentedCompressedMessages sends compressed messages split into
// many frames, and frames split across writes, from our client: the
// server must reassemble, inflate and echo each.
func TestFragmentedCompressedMessages(t *testing.T) {
	srv := echoServer(t, &Config{Compression: &CompressionConfig{}})
	for _, size := range []int{1, 7, 100, 5000, 200_000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			c := dialRaw(t, srv.Listener.Addr().String()).connectExt("permessage-deflate")
			msg := bytes.Repeat([]byte("fragment "), size/9+1)[:size]
			comp := compressForTest(t, msg)
			var frames []byte
			for i, step := 0, max(1, len(comp)/5); i < len(comp); i += step {
				b0 := byte(opContinuation)
				if i == 0 {
					b0 = frame.Rsv1 | byte(opText)
				}
				if i+step >= len(comp) {
					b0 |= frame.Fin
				}
				frames = append(frames, clientFrame(b0, comp[i:min(i+step, len(comp))])...)
			}
			go func() {
				for i := 0; i < len(frames); i += 3 { // a few bytes per write
					if _, err := c.nc.Write(frames[i:min(i+3, len(frames))]); err != nil {
						return
					}
				}
			}()
			f := c.readFrame()
			if !f.fin {
				t.Fatalf("fragmented server frame, opcode %#x", f.op)
			}
			if f.rsv1 { // one message per connection: a fresh inflater is right
				out, code := (&deflate{}).inflateMessage(f.payload, 1<<30, false, 4096)
				if code != 0 {
					t.Fatalf("inflate: %d", code)
				}
				f.payload = *out
			}
			if !bytes.Equal(f.payload, msg) {
				t.Fatalf("echo of %d bytes differs (%d bytes)", size, len(f.payload))
			}
		})
	}
}

type runtimeMem struct{ total uint64 }

func (m *runtimeMem) read() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.total = ms.TotalAlloc
}

// TestClientServerCompressionCombinations runs our client against our
// server over every combination of offer and server settings: context
// takeover on and off in each direction, every window size 8-15 (and
// none) on each side. Each connection sends messages that refer back to
// earlier ones, so a context mismatch shows as corrupt data.
func TestClientServerCompressionCombinations(t *testing.T) {
	servers := []struct {
		name string
		cc   *CompressionConfig
		all  bool // every offer, not only equal windows both ways
	}{
		{"default", &CompressionConfig{Threshold: -1}, true},
		{"no takeover", &CompressionConfig{Threshold: -1, ServerNoContextTakeover: true, ClientNoContextTakeover: true}, false},
		{"small windows", &CompressionConfig{Threshold: -1, ServerMaxWindowBits: 9, ClientMaxWindowBits: 10}, false},
		{"level 9", &CompressionConfig{Threshold: -1, Level: 9}, false},
	}
	bitsList := []int{0, 8, 9, 10, 11, 12, 13, 14, 15}
	msgs := testMessages()[:12] // up to 40 kB: larger ones are sent elsewhere
	for _, s := range servers {
		srv := echoServer(t, &Config{Compression: s.cc})
		t.Run(s.name, func(t *testing.T) {
			for _, noCtx := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				for _, sb := range bitsList {
					for _, cb := range bitsList {
						if !s.all && sb != cb {
							continue
						}
						cc := &CompressionConfig{Threshold: -1, ServerNoContextTakeover: noCtx[0],
							ClientNoContextTakeover: noCtx[1], ServerMaxWindowBits: sb, ClientMaxWindowBits: cb}
						name := fmt.Sprintf("snoctx=%v cnoctx=%v sbits=%d cbits=%d", noCtx[0], noCtx[1], sb, cb)
						echoRoundTrips(t, name, wsURL(srv), cc, msgs, func(d *deflate) error {
							return checkNegotiated(d, s.cc, cc)
						})
					}
				}
			}
		})
	}
}

// checkNegotiated checks the client's negotiated state against what the
// two configurations allow.
func checkNegotiated(d *deflate, s, c *CompressionConfig) error {
	if d == nil {
		return fmt.Errorf("compression not negotiated")
	}
	wantSend := min(s.askedClientBits(), c.clientBits()) // our client always offers client_max_window_bits
	wantRecv := min(s.serverBits(), c.serverBits())
	switch {
	case d.sendBits != wantSend:
		return fmt.Errorf("client window %d, want %d", d.sendBits, wantSend)
	case d.recvBits != wantRecv:
		return fmt.Errorf("server window %d, want %d", d.recvBits, wantRecv)
	case d.sendTakeover == (s.ClientNoContextTakeover || c.ClientNoContextTakeover):
		return fmt.Errorf("client takeover %v", d.sendTakeover)
	case d.recvTakeover == (s.ServerNoContextTakeover || c.ServerNoContextTakeover):
		return fmt.Errorf("server takeover %v", d.recvTakeover)
	}
	return nil
}

// testMessages are messages that compress, refer to each other, and
// cross window sizes.
func testMessages() []Message {
	var msgs []Message
	phrase := []byte("the quick brown fox jumps over the lazy dog; ")
	for i, n := range []int{0, 1, 50, 300, 700, 5000, 40_000, 200_000} {
		b := make([]byte, n)
		for j := range b {
			b[j] = phrase[(j*7+i)%len(phrase)]
		}
		if i%3 == 2 { // some incompressible bytes
			for j := 0; j < n; j += 13 {
				b[j] = byte(j*31 + i)
			}
			msgs = append(msgs, Message{Data: b, Type: Binary})
			continue
		}
		msgs = append(msgs, Message{Data: b, Type: Text}, Message{Data: b, Type: Text})
	}
	return msgs
}

// echoRoundTrips dials url with compression cc, checks the negotiated
// state, sends msgs and expects each back.
func echoRoundTrips(t *testing.T, name, url string, cc *CompressionConfig, msgs []Message, check func(*deflate) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	in := NewInbox(len(msgs))
	c, err := Dial(ctx, url, in, &DialOptions{Config: &Config{Compression: cc}})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer func() {
		_ = c.Close(StatusNormalClosure, "")
		for {
			if _, err := in.Read(ctx); err != nil {
				break
			}
		}
	}()
	if check != nil {
		if err := check(c.dfl()); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for _, m := range msgs {
		if err := c.Write(m.Data, m.Type); err != nil {
			t.Fatalf("%s: write: %v", name, err)
		}
	}
	for i, m := range msgs {
		got, err := in.Read(ctx)
		if err != nil {
			t.Fatalf("%s: message %d: %v", name, i, err)
		}
		if got.Type != m.Type || !bytes.Equal(got.Data, m.Data) {
			t.Fatalf("%s: message %d: got %d bytes text=%v, want %d text=%v", name, i, len(got.Data), got.Type, len(m.Data), m.Type)
		}
	}
}

// TestInflateWindowSlides checks the receive window kept for context
// takeover: it holds the last bytes of the peer's output, at least 512.
func TestInflateWindowSlides(t *testing.T) {
	d := &deflate{recvBits: 10, recvTakeover: true}
	var all []byte
	for i, n := range []int{3, 500, 1, 1500, 20, 1024, 0, 7} {
		p := bytes.Repeat([]byte{byte('a' + i)}, n)
		all = append(all, p...)
		d.slide(p)
		want := all[max(0, len(all)-1024):]
		if !bytes.Equal(d.window, want) {
			t.Fatalf("after %d bytes: window of %d, want last %d", len(all), len(d.window), len(want))
		}
	}
}

// FuzzInflate feeds arbitrary bytes to the inflate path as a compressed
// message, and checks round trips: it must never panic, never return more
// than the limit, and return what was compressed.
func FuzzInflate(f *testing.F) {
	f.Add([]byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, false)
	f.Add([]byte{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}, true)
	f.Add(bytes.Repeat([]byte("abc"), 100), true)
	f.Fuzz(func(t *testing.T, p []byte, text bool) {
		const limit = 1 << 16
		d := &deflate{level: 1, sendBits: 15, recvBits: 15, recvTakeover: true}
		if out, code := d.inflateMessage(p, limit, text, 512); code == 0 {
			if len(*out) > limit || (text && !frame.ValidUTF8(*out)) {
				t.Fatalf("inflated %d bytes, text %v valid %v", len(*out), text, frame.ValidUTF8(*out))
			}
			putBuf(out)
		} else if out != nil {
			t.Fatal("a buffer returned with a failure")
		}
		if len(p) > limit {
			return
		}
		buf := getBuf(64)
		comp, err := d.compress(&buf, p)
		if err != nil {
			t.Fatal(err)
		}
		r := &deflate{recvBits: 15}
		out, code := r.inflateMessage(comp, limit, false, 512)
		putBuf(buf)
		if code != 0 || !bytes.Equal(*out, p) {
			t.Fatalf("round trip of %d bytes: code %d", len(p), code)
		}
		putBuf(out)
	})
}

// TestIdleConnectionHoldsOnlyWindows checks what a connection with
// context takeover keeps between messages (RFC 7692 section 7.2.3): the
// peer's window, as plain bytes within the window the server asked for
// (defaultClientMaxWindowBits, answering a bare client_max_window_bits),
// and at most SendContext bytes of its own messages; and that messages
// referring back to earlier ones arrive intact both ways.
func TestIdleConnectionHoldsOnlyWindows(t *testing.T) {
	kept := make(chan [2]int, 1) // window and context, read where the connection reads
	d, err := NewDispatcher(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	h := HandlerFuncs{Frame: func(c *Conn, data []byte, typ MessageType) {
		_ = c.Write(data, typ)
		c.wmu.Lock()
		sent := cap(c.dfl().sent)
		c.wmu.Unlock()
		kept <- [2]int{cap(c.dfl().window), sent}
	}}
	cfg := &Config{Compression: &CompressionConfig{}}
	srv := httptest.NewServer(HTTPHandler(d, cfg, func(*Request) (Handler, error) { return h, nil }))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in := NewInbox(4)
	c, err := Dial(ctx, wsURL(srv), in, &DialOptions{Config: &Config{Compression: &CompressionConfig{}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(StatusNormalClosure, "")
	next := jsonMessages(3000)
	for round := range 8 {
		msg := next()
		if err := c.Write(msg, Text); err != nil {
			t.Fatal(err)
		}
		m, err := in.Read(ctx)
		if err != nil || !bytes.Equal(m.Data, msg) {
			t.Fatalf("round %d: echo differs (%v)", round, err)
		}
		k := <-kept
		window, sent := k[0], k[1]
		if window > 1<<defaultClientMaxWindowBits || sent > defaultSendContext {
			t.Fatalf("round %d: an idle connection holds %d bytes of the peer's window and %d of its own context, want at most %d and %d",
				round, window, sent, 1<<defaultClientMaxWindowBits, defaultSendContext)
		}
	}
}

// feedDeflate feeds in, split at the given sizes, to a server Conn that
// negotiated permessage-deflate with context takeover, and returns what
// it delivered, wrote and ended with.
func feedDeflate(t *testing.T, in []byte, sizes []int) feedResult {
	var res feedResult
	h := HandlerFuncs{Frame: func(c *Conn, data []byte, typ MessageType) {
		if int64(len(data)) > fuzzConfig.MaxMessageSize || (typ == Text && !frame.ValidUTF8(data)) {
			t.Fatalf("delivered %d bytes, text %v", len(data), typ)
		}
		res.msgs = append(res.msgs, message{bytes.Clone(data), typ})
	}}
	sink := &sinkConn{}
	c := newConn(h, nil, fuzzConfig)
	c.aside = &connAside{nc: sink, dfl: newDeflate(&CompressionConfig{Threshold: 1 << 30}, deflateParams{}, false, 0)}
	c.state.set(flagConnected)
	feedPieces(c, in, sizes, nil)
	c.drop(StatusConnLost)
	c.d.remove(c) // stops a close timer
	c.wmu.Lock()
	c.dfl().release()
	c.wmu.Unlock()
	c.rd.release()
	res.status = c.state.status()
	res.out = sink.out.Bytes()
	return res
}

// FuzzFeedDeflate fuzzes the receive path of a compressing connection:
// arbitrary frames, RSV bits and deflate streams, split arbitrarily. It
// must never panic or deliver more than MaxMessageSize or invalid UTF-8,
// and the outcome must not depend on how the bytes were split.
func FuzzFeedDeflate(f *testing.F) {
	hello := []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}
	f.Add(append(clientFrame(0xc1, hello), clientFrame(0xc1, []byte{0xf2, 0x00, 0x11, 0x00, 0x00})...), 3)
	f.Add(append(clientFrame(0x41, hello[:3]), clientFrame(0x80, hello[3:])...), 1)
	f.Add(clientFrame(0xc2, compressForTest(f, make([]byte, 10000))), 7)
	f.Add(clientFrame(0xc1, compressForTest(f, []byte("ok \xff"))), 2)
	f.Fuzz(func(t *testing.T, in []byte, split int) {
		whole := feedDeflate(t, in, nil)
		sizes := make([]int, len(in))
		for i := range sizes {
			sizes[i] = max(1, split%17+i%5)
		}
		parts := feedDeflate(t, in, sizes)
		if !sameResult(whole, parts) {
			t.Fatalf("split changes the outcome: status %d vs %d, %d vs %d messages", whole.status, parts.status, len(whole.msgs), len(parts.msgs))
		}
	})
}
