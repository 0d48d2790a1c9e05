package wss

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/wssgo/wss/internal/frame"
)

// echoRoundTrip sends one masked frame and reads its echo into buf.
type echoRoundTrip struct {
	rc    *rawClient
	frame []byte
	want  int // bytes of the echoed frame
	buf   []byte
}

func newEchoRoundTrip(tb testing.TB, dcfg DispatcherConfig, size int, typ MessageType) *echoRoundTrip {
	s := startLoopServer(tb, dcfg, nil, func() Handler { return newEchoHandler() })
	rc := dialRaw(tb, s.addr).connect(sampleKey)
	if _, ok := tb.(*testing.B); ok {
		rc.nc.SetDeadline(time.Time{}) // a benchmark runs as long as -benchtime asks
	}
	op := opBinary
	if typ == Text {
		op = opText
	}
	payload := bytes.Repeat([]byte("wss-"), size/4+1)[:size]
	var hdr [frame.MaxHeaderLen]byte
	n := frame.PutHeader(hdr[:], true, 0, op, size, false, 0)
	return &echoRoundTrip{rc: rc, frame: clientFrame(fin|byte(op), payload), want: n + size, buf: make([]byte, n+size)}
}

func (e *echoRoundTrip) run() error {
	if _, err := e.rc.nc.Write(e.frame); err != nil {
		return err
	}
	_, err := io.ReadFull(e.rc.nc, e.buf)
	return err
}

// echoWarmups and echoRuns are the round trips allocsPerEcho makes: the
// first warm the pools, the others are measured.
const echoWarmups, echoRuns = 50, 200

// allocsPerEcho returns the allocations of one round trip in steady
// state, after warming the pools; it fails t if a round trip fails.
func (e *echoRoundTrip) allocsPerEcho(t *testing.T) float64 {
	t.Helper()
	for range echoWarmups {
		if err := e.run(); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	allocs := testing.AllocsPerRun(echoRuns, func() {
		if err == nil {
			err = e.run()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return allocs
}

// An echoed message costs no allocation in steady state, whole or
// reassembled from many reads, text (validated) or binary.
func TestEchoAllocations(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("round trips over loopback; allocation counts need the race detector off")
	}
	for _, m := range dispatcherModes() {
		for _, size := range []int{64, 16 << 10, 1 << 20} {
			for _, typ := range []MessageType{Binary, Text} {
				t.Run(fmt.Sprintf("%s/%d/%v", m.name, size, typ), func(t *testing.T) {
					e := newEchoRoundTrip(t, m.cfg, size, typ)
					if allocs := e.allocsPerEcho(t); allocs != 0 {
						t.Errorf("%v allocations per echoed message, want 0", allocs)
					}
				})
			}
		}
	}
}

func BenchmarkEcho(b *testing.B) {
	for _, m := range dispatcherModes() {
		for _, size := range []int{64, 16 << 10, 1 << 20} {
			b.Run(fmt.Sprintf("%s/%d", m.name, size), func(b *testing.B) {
				e := newEchoRoundTrip(b, m.cfg, size, Binary)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					if err := e.run(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
