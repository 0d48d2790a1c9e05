package wss

import (
	"sync/atomic"
	"time"
)

// pingClock times the round trip of pings for OnPong: it holds when the
// oldest ping not yet answered went out, in microseconds of a process-wide
// monotonic clock (wrapping every 71 minutes, longer than any pong is
// waited for), 0 when none is out. Writers of pings (Ping, keepalive) set
// it; the reader takes it when a pong comes. Four bytes, so that it fits
// the padding of a connection's reader. Safe for concurrent use.
type pingClock struct {
	sent atomic.Uint32
}

// micros returns the clock, never 0.
func micros() uint32 {
	return max(uint32(sinceEpoch()/time.Microsecond), 1)
}

// sending records a ping about to go out, unless an older one is
// unanswered: a peer may answer only the latest of several pings (RFC
// 6455 section 5.5.3), and the round trip counts from the oldest.
func (p *pingClock) sending() { p.sent.CompareAndSwap(0, micros()) }

// answered returns the round trip of the ping a pong answers, at least
// 1 µs, or 0 when no ping was out (an unsolicited pong).
func (p *pingClock) answered() time.Duration {
	sent := p.sent.Swap(0)
	if sent == 0 {
		return 0
	}
	return max(time.Duration(micros()-sent)*time.Microsecond, time.Microsecond)
}
