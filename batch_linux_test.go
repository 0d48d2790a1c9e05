package wss

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/wssgo/wss/internal/poll"
)

// WritePreparedBatch from a goroutine other than the loop sends its
// messages in order with one writev when the socket takes them; when it
// does not, the rest waits in the queue, uncopied, and Write returns once
// the peer has taken all of it.
func TestEventLoopWritePreparedBatchWritesOnce(t *testing.T) {
	forEachModeOf(t, testModes[1:2], func(t *testing.T, d *Dispatcher) {
		s := startServer(t, d, nil, nil)
		peer := dialRaw(t, s.addr).connect(sampleKey)
		c, _ := s.next(t)
		for _, tc := range []struct {
			name   string
			size   int
			writes int // -1: not counted (the socket fills)
		}{{"small", 64, 1}, {"more than the socket holds", 256 << 10, -1}} {
			var pms []*PreparedMessage
			var want [][]byte
			for i := range 8 {
				p := bytes.Repeat(fmt.Appendf(nil, "%d", i), tc.size)
				pm, err := NewPreparedMessage(p, Binary)
				if err != nil {
					t.Fatal(err)
				}
				pms = append(pms, pm)
				want = append(want, serverFrame(opBinary, p))
			}
			fd := c.fd.Num()
			counted := make(chan struct{}, 1024)
			restore := poll.SetWriteHook(func(got int32) {
				if got == fd {
					counted <- struct{}{}
				}
			})
			t.Cleanup(restore)
			done := make(chan error, 1)
			go func() { done <- c.WritePreparedBatch(pms) }()
			peer.deadline()
			peer.expect(bytes.Join(want, nil))
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			restore()
			writes := len(counted)
			if tc.writes >= 0 && writes != tc.writes {
				t.Errorf("%s: %d writes, want %d", tc.name, writes, tc.writes)
			}
		}
	})
}
