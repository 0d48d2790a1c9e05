package wss

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// BenchmarkEventLoopPipelinedEcho: bursts of as many 64-byte messages as
// one read of the loop's buffer takes, echoed; one op is one message.
// cpu-ns/op is the process's CPU time (client and server) per message, the
// steadier figure on a shared machine.
func BenchmarkEventLoopPipelinedEcho(b *testing.B) {
	s := startLoopServer(b, DispatcherConfig{Mode: ModeEventLoop, Loops: 1}, &Config{PingInterval: -1}, func() Handler { return newEchoHandler() })
	rc := dialRaw(b, s.addr).connect(sampleKey)
	rc.nc.SetDeadline(time.Time{})
	msg := clientFrame(binFin, bytes.Repeat([]byte("a"), 64))
	n := loopBufSize / len(msg)
	burst := bytes.Repeat(msg, n)
	echo := make([]byte, n*len(serverFrame(opBinary, bytes.Repeat([]byte("a"), 64))))
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
