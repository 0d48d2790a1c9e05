package wss

// Gathering in goroutine mode. While a connection's goroutine feeds what
// one read returned (goTurn.feed sets flagTurn), what is written to it is
// gathered in a pooled buffer (connAside.gather), and goes out with one
// write once that input is fed, before the goroutine lets others run, and
// whenever a frame cannot join: a payload above smallWrite (it goes in
// the same writev, not copied), the close frame, or a frame that would
// take the gathered bytes past corkMax. Writes that come while no turn
// runs hand the gathered bytes, if any, to the kernel before their own.
//
// A write from another goroutine that comes while the turn runs cannot be
// told from a handler's, so it is gathered too: it returns before its
// bytes are in the kernel, which they reach when the turn ends, at most
// goTurnLen later. At any other time Write blocks until its bytes are
// handed to the kernel, as it always did.

// corkMax bounds the bytes a turn gathers for one connection before it
// writes them: with one message, the most a peer that does not read makes
// the server hold (see cork_linux.go). A payload above smallWrite is never
// gathered: the goroutine whose turn it is writes what the turn gathered,
// waiting for the peer, and a write from another goroutine gathered
// meanwhile (which cannot be told from a handler's) makes it wait in that
// writer's place, while the peer may wait for it to read (two NetConns
// copying to each other with 32 KiB writes: TestNetConnCopiesBothWays).
// Small writes from other goroutines still are gathered: two
// goroutine-mode NetConns copying to each other in 4 KiB writes can each
// stop in such a write until WriteTimeout (a known limit).
const corkMax = 16 << 10

// gatherOrSend sends a frame on a goroutine-mode connection: in its turn
// it gathers the frame, else it writes the frame after what was gathered.
// c.wmu must be held.
func (w *wire) gatherOrSend(hdr, payload []byte) error {
	a := w.aside
	if !w.state.is(flagTurn) || len(payload) > smallWrite || w.state.is(flagCloseSent) {
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

// endGoTurn writes what c's turn gathered and ends the turn, then calls
// OnDrain if the output drained. It runs on c's goroutine.
func (w *wire) endGoTurn() {
	w.leaveGoTurn()
	w.drained()
}

// leaveGoTurn writes what c's turn gathered and stops gathering for the
// rest of the turn. A handler that is about to wait calls it first (a
// full Inbox): a write from another goroutine gathered meanwhile must not
// wait for the handler, whose wait may be for the answer to that write.
func (w *wire) leaveGoTurn() {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if w.state.is(flagTurn) {
		_ = w.sendGathered(nil, nil)
		w.state.clear(flagTurn)
	}
}
