package wss

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"
)

// BenchmarkEventLoopPipelinedEcho: bursts of as many 64-byte messages as
// one read of the loop's buffer takes, echoed; one op is one message.
// cpu-ns/op is the process's CPU time (client and server) per message, the
// steadier figure on a shared machine.
func BenchmarkEventLoopPipelinedEcho(b *testing.B) {
	benchmarkPipelinedEcho(b, DispatcherConfig{Mode: ModeEventLoop, Loops: 1}, 64)
}

// BenchmarkPipelinedEcho is the same in each mode, with 64 B messages
// and with bursts of eight 16 KiB ones.
func BenchmarkPipelinedEcho(b *testing.B) {
	for _, m := range dispatcherModes()[:2] {
		for _, size := range []int{64, 16 << 10} {
			b.Run(fmt.Sprintf("%s/%d", m.name, size), func(b *testing.B) { benchmarkPipelinedEcho(b, m.cfg, size) })
		}
	}
}

func benchmarkPipelinedEcho(b *testing.B, dcfg DispatcherConfig, size int) {
	s := startLoopServer(b, dcfg, &Config{PingInterval: -1}, func() Handler { return newEchoHandler() })
	rc := dialRaw(b, s.addr).connect(sampleKey)
	rc.nc.SetDeadline(time.Time{})
	msg := clientFrame(binFin, bytes.Repeat([]byte("a"), size))
	n := max(loopBufSize/len(msg), 8)
	burst := bytes.Repeat(msg, n)
	echo := make([]byte, n*len(serverFrame(opBinary, bytes.Repeat([]byte("a"), size))))
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < b.N; i += n {
		if _, err := rc.nc.Write(burst); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(rc.nc, echo); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}

// BenchmarkClockRead is what a turn pays for each reading of the clock
// (stepsPerClockRead).
func BenchmarkClockRead(b *testing.B) {
	var end turnEnd
	for b.Loop() {
		end = turnEnd{length: loopTurn}
		end.passed()
	}
}
