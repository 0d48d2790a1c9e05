package wss

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// enteringInbox is an Inbox that reports each OnFrame call as it starts.
type enteringInbox struct {
	*Inbox
	entered chan struct{}
}

func (q *enteringInbox) OnFrame(c *Conn, data []byte, typ MessageType) {
	q.entered <- struct{}{}
	q.Inbox.OnFrame(c, data, typ)
}

// TestInboxFullOnEventLoopHoldsOnlyItsConnection checks that a full Inbox
// on an event loop stops only its own connection: another connection of
// the same loop is still served, and the held messages all arrive, in
// order, once read.
func TestInboxFullOnEventLoopHoldsOnlyItsConnection(t *testing.T) {
	if !eventLoopSupported {
		t.Skip("no event loop here")
	}
	sd, err := NewDispatcher(&DispatcherConfig{Mode: ModeGoroutine})
	if err != nil {
		t.Fatal(err)
	}
	closeDispatcher(t, sd)
	srv := startServer(t, sd, nil, nil) // echoes
	cd, err := NewDispatcher(&DispatcherConfig{Mode: ModeEventLoop, Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	closeDispatcher(t, cd)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	url := "ws://" + srv.addr + "/"
	const n = 10
	full := &enteringInbox{NewInbox(1), make(chan struct{}, n)}
	a, err := Dial(ctx, url, full, &DialOptions{Dispatcher: cd})
	if err != nil {
		t.Fatal(err)
	}
	other := NewInbox(1)
	b, err := Dial(ctx, url, other, &DialOptions{Dispatcher: cd})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := a.Write(fmt.Appendf(nil, "a%d", i), Text); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // the first message fills the Inbox, the second finds it full
		select {
		case <-full.entered:
		case <-ctx.Done():
			t.Fatal("the echoes did not reach the full Inbox")
		}
	}
	if err := b.Write([]byte("b"), Text); err != nil {
		t.Fatal(err)
	}
	bctx, bcancel := context.WithTimeout(ctx, testTimeout/2)
	if m, err := other.Read(bctx); err != nil || string(m.Data) != "b" {
		t.Errorf("the other connection of the loop: got %q, %v; want its echo %q", m.Data, err, "b")
	}
	bcancel()
	for i := range n { // also unblocks a loop stalled in OnFrame
		m, err := full.Read(ctx)
		if want := fmt.Sprintf("a%d", i); err != nil || string(m.Data) != want || m.Type != Text {
			t.Fatalf("message %d of the held connection: got %q (text %v), %v; want %q", i, m.Data, m.Type, err, want)
		}
	}
	for _, c := range []struct {
		conn *Conn
		in   *Inbox
	}{{a, full.Inbox}, {b, other}} {
		if err := c.conn.Close(StatusNormalClosure, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := c.in.Read(ctx); !errors.Is(err, ErrClosed) {
			t.Fatalf("read after close: %v", err)
		}
		if st, _ := c.in.Status(); st != StatusNormalClosure {
			t.Fatalf("OnClose status %d, want 1000", st)
		}
	}
}
