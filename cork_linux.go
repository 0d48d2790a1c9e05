package wss

import "github.com/wssgo/wss/internal/frame"

// Corking on an event loop: what is written to a connection while its
// loop runs its turn (flagTurn: the handlers of every message one read
// brought, automatic pongs, the close reply, Serve's response, and writes
// from other goroutines that come meanwhile) is gathered in the loop's
// cork, under c.wmu as ever, and written with one write before the loop
// reads into its buffer again (turn.waits) and when the turn ends
// (endTurn), which clears flagTurn under c.wmu. The cork holds only the
// frames of the connection in turn: a loop runs one turn at a time and
// empties the cork before the turn's flag is cleared.
//
// Three things write the cork out earlier, with the frame that caused it
// in the same writev: a payload above loopCorkCopy, or above smallWrite
// when no more input follows in the turn (flagMoreInput), goes from the
// caller's memory, not copied; so does the close frame (the socket may be
// shut down right after it); a frame that would take the cork past
// loopCorkMax writes the cork first. The cork is as big as the loop's
// read buffer, so that the echoes of one read, 16 KiB messages included,
// leave with one write: copying 16 KiB costs less than a system call per
// message, and more than a writev of it when nothing else would join.
// Output that waits for the peer (the outQueue) is never overtaken: while
// it exists, frames queue behind it, and the cork is empty.
//
// So a peer that does not read makes the loop hold at most one batch: the
// read's feeding stops at the first frame after the queue formed
// (feedFrames), and reading pauses (turn.waits), so the queue holds at
// most loopCorkMax bytes of gathered frames, plus the frame that was being
// added: one message, which may be above loopCorkCopy.

// loopCorkMax bounds what a loop's cork gathers (one per loop, the size
// of its read buffer), and loopCorkCopy the payload it copies rather than
// write it at once with what the cork holds.
const (
	loopCorkMax  = loopBufSize
	loopCorkCopy = loopBufSize / 2
)

// loop returns the event loop that serves c; c's descriptor must be
// acquired, or c in its turn (the loop lets go of it only after).
func (w *wire) loop() *loop { return w.d.loopOf(w.conn()) }

// newCork returns a loop's cork: loopCorkMax, and the header that may go out
// with the gathered bytes.
func newCork() []byte { return make([]byte, 0, loopCorkMax+frame.MaxHeaderLen) }

// cork adds a frame to the output of c's turn. c.wmu must be held and c
// in its turn, which keeps c's descriptor open. Nothing waits for the
// peer: what the socket does not take is copied into the queue.
func (w *wire) cork(hdr, payload []byte) error {
	if w.out.Load() != nil { // the cork is empty: queue behind what waits
		_, err := w.writeOrQueue(hdr, payload, true)
		return err
	}
	b := &w.loop().cork
	if w.goesAtOnce(payload, loopCorkCopy) {
		*b = append(*b, hdr...)
		_, err := w.writeOrQueue(*b, payload, true)
		*b = (*b)[:0]
		return err
	}
	if len(*b)+len(hdr)+len(payload) > loopCorkMax {
		if err := w.writeCork(b); err != nil || w.out.Load() != nil {
			_, err := w.writeOrQueue(hdr, payload, true)
			return err
		}
	}
	*b = append(append(*b, hdr...), payload...)
	return nil
}

// corkPlain is cork for the common frame, a small plain one that joins
// what the cork holds: it encodes the header in the cork, in place. It
// reports false, having done nothing, for any other (see cork). c.wmu must
// be held and c in its turn.
func (w *wire) corkPlain(o *outgoing) bool {
	b := &w.loop().cork
	n := len(*b)
	if len(o.payload) > smallWrite || o.op == opClose || w.out.Load() != nil || n+frame.MaxHeaderLen+len(o.payload) > loopCorkMax {
		return false
	}
	*b = o.appendTo(*b, w.client)
	return true
}

// writeCork writes what the cork holds. c.wmu must be held and c's
// descriptor acquired, or c in its turn.
func (w *wire) writeCork(b *[]byte) error {
	if len(*b) == 0 {
		return nil
	}
	_, err := w.writeOrQueue(*b, nil, true)
	*b = (*b)[:0]
	w.emptied()
	return err
}

// sendFDPastTurn writes what c's turn gathered, then a frame that does
// not join it, whose writer waits for it (see sendPastTurn). c.wmu must
// be held and c in its turn.
func (w *wire) sendFDPastTurn(hdr, payload []byte) (<-chan error, error) {
	if err := w.writeCork(&w.loop().cork); err != nil {
		return nil, err
	}
	return w.writeOrQueue(hdr, payload, false)
}

// flushTurn writes what c's turn has gathered so far, with one write. It
// runs on the loop, in c's turn, which keeps c's descriptor open. A
// failure to send drops the connection, as any failed write does.
func (w *wire) flushTurn() {
	w.wmu.Lock()
	_ = w.writeCork(&w.loop().cork)
	w.wmu.Unlock()
}

// endTurn writes what c's turn gathered and ends the turn: later writes go
// to the socket at once. Then it calls OnDrain if the output drained.
func (l *loop) endTurn(c *Conn) {
	w := c.wire()
	w.wmu.Lock()
	_ = w.writeCork(&l.cork) // the turn keeps c's descriptor open
	w.state.clear(flagTurn)
	w.wmu.Unlock()
	w.drained()
}

// unsentLoop returns the bytes c's queue and, in c's turn, its loop's cork
// hold. c.wmu must be held.
func (w *wire) unsentLoop() int {
	n := 0
	if q := w.out.Load(); q != nil {
		n = q.n
	}
	if w.state.is(flagTurn) {
		n += len(w.loop().cork)
	}
	return n
}
