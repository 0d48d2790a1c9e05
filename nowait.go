package wss

import "errors"

// Writes that never wait for the peer: a broadcaster that serves thousands
// of connections from a few goroutines hands each its frames and moves on,
// as uWebSockets' publish does, instead of holding a goroutine per
// connection that waits until the kernel has them.

// ErrWouldWait is returned by WritePreparedBatchNoWait on a connection
// whose writes may wait for the peer: one in goroutine mode, or a client
// (which masks each frame into a copy). Nothing was written.
var ErrWouldWait = errors.New("wss: write would wait for the peer")

// WritePreparedBatchNoWait sends pms in order, as WritePreparedBatch does,
// but never waits for the peer. On an event-loop server connection what
// the socket does not take waits in the connection's output queue, not
// copied (the messages are immutable), counted by Buffered, and the loop
// sends it as the peer reads; OnDrain (see DrainHandler) follows once it
// is all in the kernel. The connection fails, and later writes with it,
// when that output waits longer than WriteTimeout. Output already queued
// is never overtaken, and no frame of another writer comes between pms.
// On any other connection it returns ErrWouldWait and writes nothing,
// with pms empty as well, so that a caller can ask once which kind of
// writer a connection needs. Safe for concurrent use; pms is not retained
// after it returns, the messages are until they are sent.
func (c *Conn) WritePreparedBatchNoWait(pms []*PreparedMessage) error {
	w := c.wire()
	if !w.onLoop || c.client {
		return ErrWouldWait
	}
	switch n := framesLen(pms); {
	case len(pms) == 1:
		return w.sendNoWait(pms[0].frame, false) // immutable: queued as it is
	case len(pms) > 1 && n <= copyMax:
		return w.sendCopied(pms, n)
	}
	for len(pms) > 0 {
		k := min(len(pms), batchMax)
		// The channel that says when the last frame is sent is left
		// unread: it is buffered, and nobody waits.
		if _, err := w.batchLocked(pms[:k], true); err != nil {
			return err
		}
		pms = pms[k:]
	}
	return nil
}

// copyMax is the most bytes of small frames that are copied into one
// buffer and written with one write rather than with a writev of each:
// the kernel takes one contiguous buffer of 1 KiB in 16 frames in about
// two thirds of the time it takes 16 buffers of 66 B, and the copy costs
// less than that difference up to a few KiB.
const copyMax = 4 << 10

// framesLen returns the bytes of pms's frames.
func framesLen(pms []*PreparedMessage) int {
	n := 0
	for _, pm := range pms {
		n += len(pm.frame)
	}
	return n
}

// sendCopied sends the frames of pms, n bytes in all, copied into one
// buffer: what the socket does not take is queued as a copy.
func (w *wire) sendCopied(pms []*PreparedMessage, n int) error {
	b := getBuf(n)
	for _, pm := range pms {
		*b = append(*b, pm.frame...)
	}
	err := w.sendNoWait(*b, true)
	putBuf(b)
	return err
}

// sendNoWait sends encoded frames under c.wmu without waiting for them:
// with copied, what the socket does not take is copied into the queue;
// without, frames are immutable and wait there as they are.
func (w *wire) sendNoWait(frames []byte, copied bool) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if err := w.writable(opBinary); err != nil {
		return err
	}
	_, err := w.sendBytes(nil, frames, copied)
	w.disown() // copied or not, nobody waits for them
	return err
}
