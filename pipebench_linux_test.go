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
	benchmarkPipelinedEcho(b, DispatcherConfig{Mode: ModeEventLoop, Loops: 1}, 64, loopBufSize/70)
}

// BenchmarkPipelinedEcho is the same in each mode, in the bursts of the
// runner's pipelined scenarios: 32 and 4 messages of 64 B, 8 of 16 KiB.
func BenchmarkPipelinedEcho(b *testing.B) {
	for _, m := range dispatcherModes()[:2] {
		for _, c := range []struct{ size, burst int }{{64, 32}, {64, 4}, {16 << 10, 8}} {
			b.Run(fmt.Sprintf("%s/%dx%d", m.name, c.size, c.burst), func(b *testing.B) { benchmarkPipelinedEcho(b, m.cfg, c.size, c.burst) })
		}
	}
}

// benchmarkPipelinedEcho echoes bursts of n messages of size bytes, sent
// with one write and read back whole.
func benchmarkPipelinedEcho(b *testing.B, dcfg DispatcherConfig, size, n int) {
	s := startLoopServer(b, dcfg, &Config{PingInterval: -1}, func() Handler { return newEchoHandler() })
	rc := dialRaw(b, s.addr).connect(sampleKey)
	rc.nc.SetDeadline(time.Time{})
	burst := bytes.Repeat(clientFrame(binFin, bytes.Repeat([]byte("a"), size)), n)
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
