//go:build unix

package inflate

import (
	"bytes"
	stdflate "compress/flate"
	"fmt"
	"io"
	"math/rand/v2"
	"syscall"
	"testing"
)

// cpuTime is the CPU time the process has used, in nanoseconds: on a
// shared machine it counts only this benchmark's work.
func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkInflate inflates a JSON-like message against a 4 KiB history,
// with Inflate and with compress/flate (Reset with the history as its
// dictionary), which wss used before.
//
//	go test -run XXX -bench Inflate ./internal/inflate
func BenchmarkInflate(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, size := range []int{300, 1200, 16 << 10} {
		hist, p := text(rng, 4096), text(rng, size)
		src := compress(b, p, hist, 1, false)
		b.Run(fmt.Sprintf("inflate/%d", size), func(b *testing.B) {
			var d Decoder
			out := make([]byte, 0, size)
			b.SetBytes(int64(size))
			cpu := cpuTime()
			for b.Loop() {
				if got, err := d.Inflate(out, hist, src, syncTail, size, nil); err != nil || len(got) != size {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
		b.Run(fmt.Sprintf("compress-flate/%d", size), func(b *testing.B) {
			in := bytes.NewReader(nil)
			full := append(append([]byte(nil), src...), syncTail...)
			r := stdflate.NewReader(in)
			out := make([]byte, size+1)
			b.SetBytes(int64(size))
			cpu := cpuTime()
			for b.Loop() {
				in.Reset(full)
				r.(stdflate.Resetter).Reset(in, hist)
				if n, _ := io.ReadFull(r, out); n != size {
					b.Fatal(n)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
