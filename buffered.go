package wss

// Backpressure: Buffered tells how much output a connection holds that the
// kernel has not taken, and a DrainHandler learns when that has fallen to
// zero again, as uWebSockets' getBufferedAmount and drain handler, or a
// browser's bufferedAmount, tell their users.
//
// flagBacked records that output backed up: the socket refused bytes (an
// event-loop queue formed), or Buffered reported a figure above zero.
// Whoever empties the output turns it into flagDrainDue, under c.wmu on an
// event loop or atomically in goroutine mode (emptied, sent), and OnDrain
// is called once for it, with no lock held (drained).

// DrainHandler is an optional interface of a Handler: OnDrain is called
// once the connection's output has drained (Buffered is 0) after it had
// backed up, which is after the socket refused bytes on an event loop, or
// after Buffered reported a figure above zero; once for each such time.
// On an event loop it runs on the loop, like the other handlers. In
// goroutine mode it runs on the goroutine whose write emptied the output:
// the connection's own, the caller of a Write, before that Write returns,
// or one the connection started to write what its reader could not
// without waiting for the peer.
type DrainHandler interface {
	OnDrain(c *Conn)
}

// Buffered returns the bytes of frames accepted for sending and not yet
// handed to the kernel: gathered in the connection's turn, waiting in an
// event loop's queue for the peer to read, or, in goroutine mode, being
// written by a Write that waits for room in the socket. It is 0 once all
// of them are in the kernel; after a figure above 0, OnDrain (see
// DrainHandler) follows when it is 0 again. Safe for concurrent use; it
// never waits for the peer.
func (c *Conn) Buffered() int {
	w := c.wire()
	n := w.unsent()
	if n == 0 {
		return 0
	}
	w.state.set(flagBacked)
	if w.unsent() == 0 && w.state.take(flagBacked) {
		return 0 // emptied before the flag was set: no OnDrain is owed
	}
	return n
}

// unsent returns the bytes accepted and not yet in the kernel.
func (w *wire) unsent() int {
	if !w.onLoop {
		if a := w.aside; a != nil {
			return int(a.unsent.Load())
		}
		return 0
	}
	w.wmu.Lock()
	defer w.wmu.Unlock()
	return w.unsentLoop()
}

// sent counts n bytes of a goroutine-mode connection as handed to the
// kernel (or lost with the connection).
func (w *wire) sent(n int) {
	if w.aside.unsent.Add(int64(-n)) == 0 && w.state.take(flagBacked) {
		w.state.set(flagDrainDue)
	}
}

// emptied owes OnDrain if an event-loop connection's output backed up and
// is now all in the kernel. c.wmu must be held.
func (w *wire) emptied() {
	if w.state.is(flagBacked) && w.unsentLoop() == 0 && w.state.take(flagBacked) {
		w.state.set(flagDrainDue)
	}
}

// drained calls OnDrain if it is owed; no lock may be held.
func (w *wire) drained() {
	if !w.state.is(flagDrainDue) || !w.state.take(flagDrainDue) {
		return
	}
	if dh, ok := w.h.(DrainHandler); ok {
		dh.OnDrain(w.conn())
	}
}
