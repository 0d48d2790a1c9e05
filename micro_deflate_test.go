package wss

import (
	"fmt"
	"testing"
)

// BenchmarkDeflateMessage measures compressing and inflating one message
// alone, without sockets, per mode and size.
func BenchmarkDeflateMessage(b *testing.B) {
	for _, size := range []int{128, 1024, 16 << 10} {
		stream := jsonLike(64 * size)
		for _, takeover := range []bool{false, true} {
			b.Run(fmt.Sprintf("takeover=%v/%d", takeover, size), func(b *testing.B) {
				tx := &deflate{level: 1, sendBits: 15, sendTakeover: takeover}
				rx := &deflate{recvBits: 15, recvTakeover: takeover}
				b.SetBytes(int64(size))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					msg := stream[i*size : (i+1)*size]
					i = (i + 1) % 64
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
