package wss

import (
	"fmt"
	"net"
	"sync"
	"time"
)

// Batches: several prepared messages sent by a goroutine other than the
// loop with one system call, as uWebSockets' cork does for its users. A
// broadcast subscriber whose queue holds several messages then costs one
// writev, not one each.

// batchMax is the most frames one batch writes: the writev's buffers.
const batchMax = 64

// WritePreparedBatch sends pms in order, as WritePrepared sends each, with
// one write (writev) where the socket takes them all; no frame of another
// writer comes between them. Like Write, in the connection's turn it
// gathers them, and otherwise it blocks until the kernel has them all or
// WriteTimeout passes; it returns the first error. The messages, which
// are immutable, are never copied. A client, which masks each frame, sends
// them one by one. Safe for concurrent use.
func (c *Conn) WritePreparedBatch(pms []*PreparedMessage) error {
	if len(pms) == 1 {
		return c.WritePrepared(pms[0]) // one frame: no list of buffers to build
	}
	if c.client {
		for _, pm := range pms {
			if err := c.WritePrepared(pm); err != nil {
				return err
			}
		}
		return nil
	}
	w := c.wire()
	for len(pms) > 0 {
		k := min(len(pms), batchMax)
		if err := w.await(w.batchLocked(pms[:k], false)); err != nil {
			return err
		}
		pms = pms[k:]
	}
	if !w.onLoop {
		w.drained()
	}
	return nil
}

// frameList holds the frames of one batch, pooled so that a batch
// allocates nothing.
type frameList struct {
	arr  [batchMax][]byte
	bufs [][]byte
	nb   net.Buffers // bufs, consumed by a goroutine-mode write
}

var frameLists = sync.Pool{New: func() any { return new(frameList) }}

// batchLocked sends the frames of pms, at most batchMax, under c.wmu;
// noWait tells that the writer does not wait for them (see outQueue).
func (w *wire) batchLocked(pms []*PreparedMessage, noWait bool) (<-chan error, error) {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if err := w.writable(opBinary); err != nil {
		return nil, err
	}
	if w.state.is(flagTurn) {
		for _, pm := range pms {
			if _, err := w.sendBytes(nil, pm.frame, false); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	l := frameLists.Get().(*frameList)
	defer func() {
		l.arr, l.bufs, l.nb = [batchMax][]byte{}, nil, nil
		frameLists.Put(l)
	}()
	l.bufs = l.arr[:0]
	for _, pm := range pms {
		l.bufs = append(l.bufs, pm.frame)
	}
	if w.onLoop {
		ch, err := w.sendFDFrames(l.bufs)
		if noWait {
			w.disown() // nobody waits for them
		}
		return ch, err
	}
	return nil, w.sendFrames(l)
}

// sendFrames writes l's frames to a goroutine-mode connection with one
// writev, under WriteTimeout, and drops the connection if that fails.
// c.wmu must be held.
func (w *wire) sendFrames(l *frameList) error {
	if err := w.sendGathered(nil, nil); err != nil {
		return err
	}
	nc := w.conn().netConn()
	if err := nc.SetWriteDeadline(time.Now().Add(w.cfg.writeTimeout())); err != nil {
		return fmt.Errorf("wss: write: %w", err)
	}
	total := 0
	for _, f := range l.bufs {
		total += len(f)
	}
	w.aside.unsent.Add(int64(total))
	l.nb = l.bufs
	_, err := l.nb.WriteTo(nc)
	w.sent(total)
	if err != nil {
		w.conn().drop(writeFailure(err))
		return fmt.Errorf("wss: write: %w", err)
	}
	return nil
}
