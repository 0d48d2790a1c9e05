package wss

import "github.com/wssgo/wss/internal/frame"

// Gathering in goroutine mode. While a connection's goroutine feeds what
// one read returned (goTurn.feed sets flagTurn), what is written to it is
// gathered in a pooled buffer (connAside.gather), and is written once that
// input is fed, before the goroutine lets others run (leaveGoTurn), and
// whenever a frame cannot join (goesAtOnce): a big payload (it goes in the
// same writev, not copied: corkCopy), the close frame, or a frame that
// would take the gathered bytes past corkMax. Writes that come while no
// turn runs hand the gathered bytes, if any, to the kernel before their
// own.
//
// A Conn.Write from another goroutine that comes while the turn runs
// cannot be told from a handler's, so it is gathered too: it returns
// before its bytes are in the kernel. A NetConn's write is never gathered
// (outgoing.alone). At any other time Write blocks until its bytes
// are handed to the kernel, as it always did. The reader, which must go
// on reading whatever the peer does, writes at a turn's end only what the
// socket takes at once; a flusher goroutine writes the rest, waiting for
// the peer in the reader's place (leaveGoTurn).

// corkMax bounds the bytes a turn gathers for one connection before it
// writes them: with one message, the most a peer that does not read makes
// the server hold (see cork_linux.go). It is goroutine mode's big read, so
// that the echoes of one read, 16 KiB messages included, leave with one
// write. A payload above corkCopy is written at once with what was
// gathered, from the caller's memory, as is one above smallWrite when no
// more input follows in the turn (flagMoreInput): copying it costs more
// than a writev, unless it saves a system call.
const (
	corkMax  = bigReadSize
	corkCopy = corkMax / 2
)

// gatherOrSend sends a frame on a goroutine-mode connection: in its turn
// it gathers the frame, else it writes the frame after what was gathered.
// c.wmu must be held.
func (w *wire) gatherOrSend(hdr, payload []byte) error {
	a := w.aside
	if !w.state.is(flagTurn) || w.goesAtOnce(payload, corkCopy) {
		return w.sendGathered(hdr, payload)
	}
	if a.gather != nil && len(*a.gather)+len(hdr)+len(payload) > corkMax {
		if err := w.sendGathered(nil, nil); err != nil {
			return err
		}
	}
	if a.gather == nil {
		a.gather = getBuf(corkMax)
	}
	*a.gather = append(append(*a.gather, hdr...), payload...)
	a.unsent.Add(int64(len(hdr) + len(payload)))
	return nil
}

// gatherPlain is gatherOrSend for the common frame, a small plain one that
// joins what c's turn gathered: it encodes the header in the buffer, in
// place. It reports false, having done nothing, for any other. c.wmu must
// be held and c in its turn.
func (w *wire) gatherPlain(o *outgoing) bool {
	a := w.aside
	if len(o.payload) > smallWrite || o.op == opClose || a.gather != nil && len(*a.gather)+frame.MaxHeaderLen+len(o.payload) > corkMax {
		return false
	}
	if a.gather == nil {
		a.gather = getBuf(corkMax) // room enough: the check above
	}
	n := len(*a.gather)
	*a.gather = o.appendTo(*a.gather, w.client)
	a.unsent.Add(int64(len(*a.gather) - n))
	return true
}

// sendGathered writes what c's turn gathered, then hdr and payload, with
// one write; a failure drops the connection. c.wmu must be held.
func (w *wire) sendGathered(hdr, payload []byte) error {
	a := w.aside
	var head []byte
	if a.gather != nil {
		head = *a.gather
	}
	if len(head)+len(hdr)+len(payload) == 0 {
		return nil
	}
	err := w.sendOrDrop(head, hdr, payload)
	if a.gather != nil {
		putBuf(a.gather)
		a.gather = nil
	}
	return err
}

// trySend writes what the socket takes of p at once, never waiting for
// the peer, and returns how many bytes it took; an error is the socket's
// failure (a full socket is none).
type trySend func(p []byte) (int, error)

// endGoTurn ends c's turn (leaveGoTurn), then calls OnDrain if the output
// drained. It runs on c's goroutine.
func (w *wire) endGoTurn(try trySend) {
	w.leaveGoTurn(try)
	w.drained()
}

// leaveGoTurn stops gathering for the rest of c's turn and hands what it
// gathered to the kernel, on c's goroutine, which never waits for the
// peer here: what was gathered may hold other goroutines' Conn.Writes,
// which cannot be told from the handlers', and the peer may be waiting for
// this reader to read before it reads them (a program that copies between
// two connections). So the reader writes only what the socket takes at
// once (try), and leaves the rest to a flusher goroutine (flushLater); and
// it does not wait for c.wmu, which a writer holds while it waits for the
// peer. try is nil where the net.Conn cannot write without waiting (TLS,
// systems without raw sockets) and for a handler about to wait (a full
// Inbox), which calls this too: then every turn with output starts a
// flusher, one goroutine start and no allocation.
//
// flagTurn is cleared before c.wmu is tried: writers test it under c.wmu,
// so a frame gathered after that was gathered by a writer that held c.wmu
// at the time, and the flusher, which takes c.wmu, sends it.
func (w *wire) leaveGoTurn(try trySend) {
	if !w.state.is(flagTurn) {
		return
	}
	w.state.clear(flagTurn)
	if !w.wmu.TryLock() {
		w.flushLater()
		return
	}
	done := w.tryGathered(try)
	w.wmu.Unlock()
	if !done {
		w.flushLater()
	}
}

// tryGathered writes what c's turns gathered with try, keeping what the
// socket does not take, and reports whether nothing is left; a failure
// drops the connection. c.wmu must be held.
func (w *wire) tryGathered(try trySend) bool {
	a := w.aside
	if a.gather == nil {
		return true
	}
	if try == nil {
		return false
	}
	b := *a.gather
	n, err := try(b)
	if err != nil {
		n = len(b) // lost with the connection
		w.conn().drop(writeFailure(err))
	}
	w.sent(n)
	if n == len(b) {
		putBuf(a.gather)
		a.gather = nil
		return true
	}
	*a.gather = b[:copy(b, b[n:])]
	return false
}

// flushLater has a goroutine of its own write what c's turns gathered
// once c.wmu is free; there is at most one such goroutine waiting for it.
func (w *wire) flushLater() {
	a := w.aside
	if !a.flushing.CompareAndSwap(false, true) {
		return
	}
	if a.flush == nil { // only the reader starts flushers: no race
		a.flush = w.flushWhenFree
	}
	go a.flush() // a func value without arguments: the go statement allocates no closure
}

// flushWhenFree writes what c's turns gathered, waiting for c.wmu and for
// the peer, then calls OnDrain if the output drained.
func (w *wire) flushWhenFree() {
	w.wmu.Lock()
	// Cleared before the gathered bytes are looked at: what a later
	// leaveGoTurn leaves is sent here, or by the flusher it starts.
	w.aside.flushing.Store(false)
	w.sendOwedPong()
	_ = w.sendGathered(nil, nil)
	w.wmu.Unlock()
	w.drained()
}

// sendPong answers a ping with payload p (RFC 6455 section 5.5.2). In
// goroutine mode the reader does not wait for c.wmu, which a writer may
// hold while it waits for the peer: when it is taken, the pong is owed,
// and the flusher sends it, only the latest ping's if several wait (as
// section 5.5.3 allows).
func (w *wire) sendPong(p []byte) error {
	if w.onLoop {
		return w.writeFrame(opPong, p)
	}
	if !w.wmu.TryLock() {
		owed := append([]byte(nil), p...) // rare: the copy may allocate
		w.aside.pong.Store(&owed)
		w.flushLater()
		return nil
	}
	err := w.sendPongHeld(p)
	w.wmu.Unlock()
	return err
}

// sendPongHeld sends a pong with payload p through the write path.
// c.wmu must be held.
func (w *wire) sendPongHeld(p []byte) error {
	o := outgoing{op: opPong, how: plainFrame, payload: p}
	w.mask(&o)
	_, err := w.transmitHeld(&o, nil) // goroutine mode: never a channel to wait on
	o.release()
	return err
}

// owedPongFirst sends the pong a goroutine-mode reader owes, if any,
// before the frame the caller is about to send: a pong follows its ping
// in the order of the input, ahead of what the handlers answer to later
// messages. c.wmu must be held.
func (w *wire) owedPongFirst() {
	if !w.onLoop && w.aside.pong.Load() != nil {
		w.sendOwedPong()
	}
}

// sendOwedPong sends the pong the reader owes, if any. c.wmu must be held.
func (w *wire) sendOwedPong() {
	if p := w.aside.pong.Swap(nil); p != nil {
		_ = w.sendPongHeld(*p)
	}
}
