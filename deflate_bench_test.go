package wss

// Benchmarks of permessage-deflate: echo round trips over sockets, one
// message alone, and the two flate implementations side by side.

import (
	"bytes"
	stdflate "compress/flate"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/klauspost/compress/flate"

	"github.com/wssgo/wss/internal/wstest"
)

// BenchmarkEchoCompression measures a round trip (our client writes, our
// server echoes, the client reads) over loopback, with compression off,
// without context takeover and with it, for text that compresses like
// chat or JSON traffic.
//
//	go test -run XXX -bench EchoCompression -benchmem
func BenchmarkEchoCompression(b *testing.B) {
	modes := []struct {
		name string
		cc   *CompressionConfig
	}{
		{"off", nil},
		{"no-takeover", &CompressionConfig{ServerNoContextTakeover: true, ClientNoContextTakeover: true}},
		{"takeover", &CompressionConfig{}},
	}
	for _, dm := range []struct {
		name string
		mode Mode
	}{{"goroutine", ModeGoroutine}, {"eventloop", ModeEventLoop}} {
		d, err := NewDispatcher(&DispatcherConfig{Mode: dm.mode})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { d.Close() })
		for _, size := range []int{128, 1024, 16 << 10, 256 << 10} {
			for _, m := range modes {
				b.Run(fmt.Sprintf("%s/%s/%d", dm.name, m.name, size), func(b *testing.B) {
					benchEcho(b, d, m.cc, size)
				})
			}
		}
	}
}

func benchEcho(b *testing.B, d *Dispatcher, cc *CompressionConfig, size int) {
	next := jsonMessages(size)
	echo := HandlerFuncs{Frame: func(c *Conn, data []byte, typ MessageType) { _ = c.Write(data, typ) }}
	srv := httptest.NewServer(HTTPHandler(d, &Config{Compression: cc}, func(*Request) (Handler, error) { return echo, nil }))
	defer srv.Close()
	ctx := context.Background()
	in := NewInbox(1)
	c, err := Dial(ctx, wsURL(srv), in, &DialOptions{Dispatcher: d, Config: &Config{Compression: cc}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(StatusNormalClosure, "")
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Write(next(), Text); err != nil {
			b.Fatal(err)
		}
		if got, err := in.Read(ctx); err != nil || len(got.Data) != size {
			b.Fatalf("echo: %d bytes, %v", len(got.Data), err)
		}
	}
}

// jsonLike returns n bytes of text shaped like a stream of JSON records.
func jsonLike(n int) []byte { return wstest.JSONLike(n) }

// jsonMessages returns a function yielding size-byte JSON-like messages
// from a stream of 64 in turn: consecutive messages differ, as in real
// traffic.
func jsonMessages(size int) func() []byte { return inTurn(wstest.JSONRecords(64, size)) }

// inTurn returns a function yielding msgs in turn, for ever.
func inTurn(msgs [][]byte) func() []byte {
	i := 0
	return func() []byte {
		msg := msgs[i]
		i = (i + 1) % len(msgs)
		return msg
	}
}

// BenchmarkDeflateMessage measures compressing and inflating one message
// alone, without sockets, per mode and size.
func BenchmarkDeflateMessage(b *testing.B) {
	for _, size := range []int{128, 1024, 16 << 10} {
		for _, takeover := range []bool{false, true} {
			b.Run(fmt.Sprintf("takeover=%v/%d", takeover, size), func(b *testing.B) {
				tx := &deflate{level: 1, sendBits: 15, sendTakeover: takeover}
				rx := &deflate{recvBits: 15, recvTakeover: takeover}
				next := jsonMessages(size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					msg := next()
					buf := getBuf(size/2 + 64)
					comp, err := tx.compress(&buf, msg)
					if err != nil {
						b.Fatal(err)
					}
					out, code := rx.inflateMessage(comp, 1<<30, true, 4096)
					if code != 0 || len(*out) != size {
						b.Fatalf("code %d", code)
					}
					putBuf(out)
					putBuf(buf)
				}
			})
		}
	}
}

// BenchmarkFlateImplementations compares compress/flate with
// klauspost/compress/flate at level 1 on what permessage-deflate does
// without context takeover: deflate one JSON-like message with a sync
// flush, then inflate it. It backs the choice of klauspost/compress.
//
//	go test -run XXX -bench FlateImplementations
func BenchmarkFlateImplementations(b *testing.B) {
	type resetter interface {
		io.Writer
		Flush() error
		Reset(io.Writer)
	}
	for _, size := range []int{1024, 16 << 10} {
		for _, impl := range []string{"stdlib", "klauspost"} {
			b.Run(fmt.Sprintf("%s/%d", impl, size), func(b *testing.B) {
				var out bytes.Buffer
				src := bytes.NewReader(nil)
				var w resetter
				var r io.ReadCloser
				if impl == "stdlib" {
					w, _ = stdflate.NewWriter(&out, 1)
					r = stdflate.NewReader(src)
				} else {
					w, _ = flate.NewWriter(&out, 1)
					r = flate.NewReader(src)
				}
				next := jsonMessages(size)
				dst := make([]byte, size)
				b.SetBytes(int64(size))
				total := 0
				for b.Loop() {
					msg := next()
					out.Reset()
					w.Reset(&out)
					_, _ = w.Write(msg)
					_ = w.Flush()
					total += out.Len()
					src.Reset(out.Bytes())
					_ = r.(flate.Resetter).Reset(src, nil)
					if n, _ := io.ReadFull(r, dst); n != size || !bytes.Equal(dst, msg) {
						b.Fatalf("round trip: %d bytes", n)
					}
				}
				b.ReportMetric(float64(total)/float64(b.N)/float64(size), "ratio")
			})
		}
	}
}

// BenchmarkServerMessage measures the server's share of a compressed echo
// with context takeover, negotiated from a browser-like offer
// (permessage-deflate; client_max_window_bits): inflate the client's
// message, deflate the echo. Two streams: the JSON records of
// jsonMessages, and chat-like batches of events (chatMessages). Two
// clients: wss's own (wss-client), and a compressor kept for the
// connection with the negotiated 4 KiB window, as a browser's zlib
// keeps one (window-client: klauspost's window encoder standing for
// zlib), whose bytes do not depend on the server's build. The client's
// messages are compressed before the clock starts. It reports the
// server's ratio on what it sends and the process CPU time per message.
//
//	go test -run XXX -bench ServerMessage -benchtime 20000x
func BenchmarkServerMessage(b *testing.B) {
	streams := []struct {
		name string
		next func(size int) func() []byte
	}{{"records", jsonMessages}, {"chat", chatMessages}}
	for _, client := range []string{"wss-client", "window-client"} {
		for _, st := range streams {
			for _, size := range []int{300, 1200, 16 << 10} {
				b.Run(fmt.Sprintf("%s/%s/%d", client, st.name, size), func(b *testing.B) {
					benchServerMessage(b, client, st.next(size), size)
				})
			}
		}
	}
}

func benchServerMessage(b *testing.B, client string, next func() []byte, size int) {
	offer := []string{"permessage-deflate; client_max_window_bits"}
	resp, srv := negotiateOffers(offer, &CompressionConfig{})
	cli, err := acceptDeflateResponse(http.Header{"Sec-Websocket-Extensions": {resp}}, &CompressionConfig{})
	if err != nil {
		b.Fatal(err)
	}
	var kept bytes.Buffer
	zw, err := flate.NewWriterWindow(&kept, 1<<srv.recvBits)
	if err != nil {
		b.Fatal(err)
	}
	in := make([][]byte, b.N)
	lens := make([]int, b.N)
	total := 0
	for i := range in {
		msg := next()
		if client == "wss-client" {
			buf := getBuf(len(msg))
			comp, err := cli.compress(&buf, msg)
			if err != nil {
				b.Fatal(err)
			}
			in[i] = append([]byte(nil), comp...)
			putBuf(buf)
		} else {
			kept.Reset()
			if _, err := zw.Write(msg); err != nil {
				b.Fatal(err)
			}
			if err := zw.Flush(); err != nil {
				b.Fatal(err)
			}
			in[i] = bytes.Clone(bytes.TrimSuffix(kept.Bytes(), deflateTail))
		}
		lens[i] = len(msg)
		total += len(msg)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	cpu0 := cpuTime()
	if os.Getenv("WSS_BENCH_SETUP_ONLY") != "" {
		return // for instruction counts: the same run without the timed part
	}
	b.ResetTimer()
	sent, err := serveMessages(srv, in, lens)
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/msg")
	b.ReportMetric(float64(total)/float64(sent), "ratio")
}

// serveMessages is the timed part of BenchmarkServerMessage: it inflates
// each of in and deflates it back, and returns the bytes sent. Its
// instructions per message are those of a run less those of the same run
// with WSS_BENCH_SETUP_ONLY set, at two b.N (docs/compression.md).
//
//go:noinline
func serveMessages(srv *deflate, in [][]byte, lens []int) (sent int, err error) {
	for i := range in {
		out, code := srv.inflateMessage(in[i], 1<<30, true, 4096)
		if code != 0 || len(*out) != lens[i] {
			return 0, fmt.Errorf("inflate: code %d", code)
		}
		buf := getBuf(len(*out)/2 + 64)
		comp, err := srv.compress(&buf, *out)
		if err != nil {
			return 0, err
		}
		sent += len(comp)
		putBuf(buf)
		putBuf(out)
	}
	return sent, nil
}

// chatMessages returns a function yielding messages of about size bytes
// from a stream of 512 in turn, each a batch of chat events as a chat
// server pushes them (wstest.ChatMessages, which bench/ratio sends too).
func chatMessages(size int) func() []byte { return inTurn(wstest.ChatMessages(512, size)) }
