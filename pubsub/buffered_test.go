package pubsub

import (
	"bytes"
	"testing"
	"time"

	"github.com/wssgo/wss"
	"github.com/wssgo/wss/internal/wstest"
)

// TestBoundCountsWhatTheConnectionHolds: a subscriber written to directly
// as well is bounded on the one figure, Conn.Buffered: with 16 MiB of a
// direct Write unsent (its peer reads nothing) and pubsub's own queue
// empty, a published message takes it over MaxQueueBytes, and the policy
// acts: OverflowDrop drops the message and keeps the subscriber,
// OverflowClose closes it after what it was sent. In each dispatcher mode.
func TestBoundCountsWhatTheConnectionHolds(t *testing.T) {
	const bound = 64 << 10
	modes := []struct {
		name string
		mode wss.Mode
	}{{"event loop", wss.ModeEventLoop}, {"goroutine", wss.ModeGoroutine}}
	policies := []struct {
		name   string
		policy Policy
	}{{"drop", OverflowDrop}, {"close", OverflowClose}}
	for _, m := range modes {
		for _, p := range policies {
			t.Run(m.name+", "+p.name, func(t *testing.T) {
				ps := newPubSub(t, &Options{MaxQueueBytes: bound, Overflow: p.policy})
				conns := make(chan *wss.Conn, 1)
				h := ps.Handler(wss.HandlerFuncs{
					Open:  func(c *wss.Conn) { conns <- c },
					Frame: func(*wss.Conn, []byte, wss.MessageType) {},
					Close: func(*wss.Conn, wss.StatusCode) {},
				})
				cl, err := wstest.Dial(startServer(t, m.mode, h))
				if err != nil {
					t.Fatal(err)
				}
				defer cl.Close()
				c := <-conns
				ps.Subscribe(c, "t")

				big := bytes.Repeat([]byte{'x'}, 16<<20)
				wrote := make(chan error, 1)
				go func() { wrote <- c.Write(big, wss.Binary) }()
				// No event says the kernel's buffers are full: poll.
				deadline := time.Now().Add(10 * time.Second)
				for c.Buffered() <= bound {
					if time.Now().After(deadline) {
						t.Fatalf("Buffered = %d after 10s, want over %d", c.Buffered(), bound)
					}
					time.Sleep(time.Millisecond)
				}
				if msgs, b := ps.Buffered(c); msgs != 0 || b <= bound {
					t.Fatalf("PubSub.Buffered = %d messages, %d bytes; want 0 and the connection's figure, over %d", msgs, b, bound)
				}
				if err := ps.Publish("t", []byte("over"), wss.Text); err != nil {
					t.Fatal(err)
				}
				st := ps.Stats()
				f, err := cl.Read() // the direct write, whole
				if err != nil || f.Op != wstest.OpBinary || len(f.Payload) != len(big) {
					t.Fatalf("first frame: op %d, %d bytes, err %v; want the %d bytes written directly", f.Op, len(f.Payload), err, len(big))
				}
				if err := <-wrote; err != nil {
					t.Fatalf("direct Write: %v", err)
				}
				if p.policy == OverflowDrop {
					if st.Dropped != 1 || st.Overflowed != 0 || ps.Subscribers("t") != 1 {
						t.Fatalf("Stats %+v, %d subscribers; want 1 dropped, the subscriber kept", st, ps.Subscribers("t"))
					}
					ps.Publish("t", []byte("after"), wss.Text)
					if f, err := cl.Read(); err != nil || string(f.Payload) != "after" {
						t.Fatalf("next frame %q (err %v), want the message published after the drop", f.Payload, err)
					}
					return
				}
				if st.Overflowed != 1 || st.Dropped != 0 || ps.Subscribers("t") != 0 {
					t.Fatalf("Stats %+v, %d subscribers; want 1 overflowed, evicted", st, ps.Subscribers("t"))
				}
				f, err = cl.Read()
				if err != nil || f.Op != wstest.OpClose || f.CloseCode() != int(DefaultCloseCode) {
					t.Fatalf("next frame op %d %q (err %v), want a close 1008", f.Op, f.Payload, err)
				}
			})
		}
	}
}
