package wss

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// WritePreparedBatchNoWait on an event loop returns at once with more
// than the kernel's buffers hold: the rest waits in the queue, counted by
// Buffered, and so do the batches after it (small frames copied into one
// buffer, one frame alone), which reach the peer in order once it reads;
// then OnDrain follows. In goroutine mode it writes nothing and returns
// ErrWouldWait.
func TestWritePreparedBatchNoWait(t *testing.T) {
	for _, m := range dispatcherModes() {
		if m.cfg.OffLoop {
			continue
		}
		t.Run(m.name, func(t *testing.T) {
			h, peer, c := connectedOutsideTurn(t, m.cfg)
			big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20)
			var pms []*PreparedMessage
			for _, data := range [][]byte{big, []byte("a"), []byte("b"), []byte("c")} {
				pm, err := NewPreparedMessage(data, Binary)
				if err != nil {
					t.Fatal(err)
				}
				pms = append(pms, pm)
			}
			err := c.WritePreparedBatchNoWait(pms[:1])
			if !c.onLoop {
				if !errors.Is(err, ErrWouldWait) {
					t.Fatalf("goroutine mode: err = %v, want ErrWouldWait", err)
				}
				peer.send(binFin, []byte("next"))
				peer.expect(serverFrame(opBinary, []byte("next"))) // nothing was written before it
				return
			}
			for _, batch := range [][]*PreparedMessage{pms[1:3], pms[3:]} {
				if err == nil {
					err = c.WritePreparedBatchNoWait(batch)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := c.Buffered(); n == 0 {
				t.Fatal("Buffered() = 0 with 16 MiB unread")
			}
			peer.deadline()
			peer.expect(serverFrame(opBinary, big))
			peer.expect(serverFrame(opBinary, []byte("a")))
			peer.expect(serverFrame(opBinary, []byte("b")))
			peer.expect(serverFrame(opBinary, []byte("c")))
			select {
			case <-h.drains:
			case <-time.After(testTimeout):
				t.Fatal("OnDrain not called after the output drained")
			}
		})
	}
}
