package wss

import (
	"bytes"
	stdflate "compress/flate"
	"fmt"
	"io"
	"testing"

	"github.com/klauspost/compress/flate"
)

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
		stream := jsonLike(64 * size)
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
				dst := make([]byte, size)
				b.SetBytes(int64(size))
				total, i := 0, 0
				for b.Loop() {
					msg := stream[i*size : (i+1)*size]
					i = (i + 1) % 64
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
