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
	for len(pms) > 0 {
		k := min(len(pms), batchMax)
		// The channel that says when the last frame is sent is left
		// unread: it is buffered, and nobody waits.
		if _, err := w.batchLocked(pms[:k]); err != nil {
			return err
		}
		pms = pms[k:]
	}
	return nil
}
