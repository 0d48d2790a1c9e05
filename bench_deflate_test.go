package wss

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
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
		for _, size := range []int{128, 1024, 16 << 10, 256 << 10} {
			stream := jsonLike(64 * size) // consecutive messages differ, as in real traffic
			for _, m := range modes {
				b.Run(fmt.Sprintf("%s/%s/%d", dm.name, m.name, size), func(b *testing.B) {
					benchEcho(b, d, m.cc, stream, size)
				})
			}
		}
	}
}

func benchEcho(b *testing.B, d *Dispatcher, cc *CompressionConfig, stream []byte, size int) {
	echo := HandlerFuncs{Frame: func(c *Conn, data []byte, text bool) { _ = c.Write(data, text) }}
	srv := httptest.NewServer(HTTPHandler(d, &Config{Compression: cc}, func(*http.Request) Handler { return echo }))
	defer srv.Close()
	ctx := context.Background()
	in := NewInbox(1)
	c, err := Dial(ctx, wsURL(srv), in, &DialOptions{Dispatcher: d, Config: &Config{Compression: cc}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(StatusNormalClosure)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		msg := stream[i*size : (i+1)*size]
		i = (i + 1) % 64
		if err := c.Write(msg, true); err != nil {
			b.Fatal(err)
		}
		if got, err := in.Read(ctx); err != nil || len(got.Data) != size {
			b.Fatalf("echo: %v", err)
		}
	}
}

// jsonLike returns n bytes of text shaped like a stream of JSON records.
func jsonLike(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id":%d,"user":"user%d","text":"message number %d in room %d","ts":%d}`, i, i%97, i, i%7, 1700000000+i*13)
	}
	return bytes.ToValidUTF8(b.Bytes()[:n], nil)
}
