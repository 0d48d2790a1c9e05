package wss

import (
	"fmt"
	"testing"
)

// BenchmarkSmallDeflate measures the level-1 encoder alone on JSON
// records, each message after 2 KiB of the previous ones as its context,
// against klauspost's level-1 encoder primed with the same context (what
// messages above smallDeflateMax use), and reports the process CPU time
// per message and the ratio.
//
//	go test -run XXX -bench SmallDeflate -cpu 1
func BenchmarkSmallDeflate(b *testing.B) {
	for _, size := range []int{300, 1200, 4096} {
		for _, enc := range []string{"small", "klauspost"} {
			b.Run(fmt.Sprintf("%s/%d", enc, size), func(b *testing.B) {
				next := jsonMessages(size)
				tx := &deflate{level: 1, sendBits: 15, sendTakeover: true, sendContext: defaultSendContext}
				s := smallScratches.Get().(*smallScratch)
				defer smallScratches.Put(s)
				var out sliceWriter
				in, sent := 0, 0
				b.SetBytes(int64(size))
				b.ReportAllocs()
				cpu0 := cpuTime()
				for b.Loop() {
					p := next()
					if enc == "small" {
						sent += len(smallDeflate(s, tx.sent, p, 1<<15, false))
					} else {
						out.b = getBuf(size)
						fw := getWriter(1, 15)
						fw.ResetDict(&out, tx.sent)
						_, _ = fw.Write(p)
						_ = fw.Flush()
						putWriter(fw, 1, 15)
						sent += len(*out.b)
						putBuf(out.b)
					}
					in += len(p)
					tx.sent = keepLast(tx.sent, p, tx.sendContext)
				}
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
				b.ReportMetric(float64(in)/float64(sent), "ratio")
			})
		}
	}
}
