package wss

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/wssgo/wss/internal/frame"
	"github.com/wssgo/wss/internal/poll"
)

// The write path of event-loop connections. A frame goes out with one
// write or writev, straight from the caller's memory. When the socket
// cannot take it all, the rest waits in the connection's outQueue, which
// the loop flushes when the socket becomes writable:
//   - a writer that must never wait leaves a copy in the queue and returns
//     at once, so that the loop never waits for one slow peer; the write
//     still fails the connection at its deadline. Those writers are the
//     loop while it runs c's turn (flagTurn, which handle sets around
//     feeding c's input: its handlers, automatic pongs, close replies and
//     Serve's response), and the sweeper (writeFrameNoWait). A write from
//     another goroutine that comes while c's turn runs is treated as the
//     turn's own;
//   - any other writer leaves its own bytes in the queue and waits until
//     they are sent, or the deadline passes: Write stays blocking.
// Frames queue behind each other, so they never interleave.

// outQueue is the output of a connection that the socket has not taken yet.
type outQueue struct {
	segs  []*outSeg
	timer *time.Timer // fires at the first segment's deadline
}

// outSeg is one frame, or what is left of it.
type outSeg struct {
	hdr      [frame.MaxHeaderLen]byte
	hlo, hhi uint8
	data     []byte     // payload still to send
	copied   *[]byte    // pooled buffer data lives in, or nil when a writer waits
	done     chan error // the waiting writer, answered once
	deadline time.Time
}

var outSegs = sync.Pool{New: func() any { return new(outSeg) }}

// sendFD sends a frame on an event-loop connection; c.wmu must be held.
// It returns the channel to wait on when the frame waits in the queue for
// a writer that may block (see transmit): not noWait, and not in c's turn.
func (c *Conn) sendFD(hdr, payload []byte, noWait bool) (<-chan error, error) {
	if !c.fd.Acquire() {
		return nil, ErrClosed
	}
	defer c.fd.Release()
	q := c.out.Load()
	if q == nil {
		n, err := poll.WriteFull(c.fd.Num(), hdr, payload)
		if err == nil {
			return nil, nil
		}
		if err != syscall.EAGAIN {
			c.drop(StatusConnLost)
			return nil, fmt.Errorf("wss: write: %w", err)
		}
		hdr, payload = poll.Skip(hdr, payload, n)
		q = &outQueue{}
		c.out.Store(q)
	}
	done := c.enqueue(q, hdr, payload, noWait || c.state.is(flagTurn))
	// Flush once more: room may have appeared before the queue existed,
	// and its event found nothing to flush.
	if err := c.flushLocked(q, false); err != nil && err != syscall.EAGAIN {
		c.drop(StatusConnLost)
		if done == nil {
			return nil, fmt.Errorf("wss: write: %w", err)
		}
	}
	return done, nil // a failed flush has answered done
}

// enqueue appends a frame to q: for a writer that must never wait
// (noWait) a copy; for another the caller's bytes, and the channel that
// says when they are sent. c.wmu must be held.
func (c *Conn) enqueue(q *outQueue, hdr, payload []byte, noWait bool) chan error {
	s := outSegs.Get().(*outSeg)
	s.deadline = time.Now().Add(c.cfg.writeTimeout())
	if noWait {
		b := getBuf(len(hdr) + len(payload))
		*b = append(append(*b, hdr...), payload...)
		s.data, s.copied = *b, b
	} else {
		s.hlo, s.hhi = 0, uint8(copy(s.hdr[:], hdr))
		s.data, s.done = payload, make(chan error, 1)
	}
	q.segs = append(q.segs, s)
	c.d.obs.queued(len(hdr) + len(payload))
	if q.timer == nil {
		q.timer = time.AfterFunc(c.cfg.writeTimeout(), c.outTimeout)
	}
	return s.done
}

// flushOut writes c's pending output when the socket may have room, on
// the loop. It reports whether reading may go on: no output is left, or
// the connection failed.
func (c *Conn) flushOut() bool {
	if !c.fd.Acquire() {
		return true
	}
	c.wmu.Lock()
	var err error
	if q := c.out.Load(); q != nil {
		err = c.flushLocked(q, true)
	}
	paused := err == syscall.EAGAIN
	if paused { // guarded by wmu: read it only while holding that
		c.state.set(flagPaused)
	} else {
		c.state.clear(flagPaused)
	}
	c.wmu.Unlock()
	c.fd.Release()
	if err != nil && err != syscall.EAGAIN {
		c.drop(StatusConnLost)
	}
	return !paused
}

// flushLocked writes q until it is empty (nil) or the socket is full
// (EAGAIN); another error fails the waiting writers. c.wmu must be held
// and c's descriptor acquired. A flush off the loop that drains the queue
// of a connection whose reading paused wakes the loop to read again.
func (c *Conn) flushLocked(q *outQueue, onLoop bool) error {
	for len(q.segs) > 0 {
		s := q.segs[0]
		n, err := poll.WriteFull(c.fd.Num(), s.hdr[s.hlo:s.hhi], s.data)
		c.d.obs.written(n, err)
		if err != nil {
			if err == syscall.EAGAIN {
				var rest []byte
				rest, s.data = poll.Skip(s.hdr[s.hlo:s.hhi], s.data, n)
				s.hlo = s.hhi - uint8(len(rest))
			} else {
				c.abortOut(q, err)
			}
			return err
		}
		q.segs[0] = nil
		q.segs = q.segs[1:]
		s.finish(nil)
		// Output that waited for the peer went out: the peer is alive,
		// even if its answers wait unread while reading is paused.
		c.live.touch(&c.d.sweep)
	}
	q.timer.Stop()
	c.out.Store(nil)
	if c.state.is(flagPaused) && !onLoop {
		c.state.clear(flagPaused)
		_ = c.d.loopOf(c).p.Rearm(c.fd.Num()) // input is reported again
	}
	return nil
}

// abortOut fails everything in q with err. c.wmu must be held.
func (c *Conn) abortOut(q *outQueue, err error) {
	for i, s := range q.segs {
		q.segs[i] = nil
		c.d.obs.queued(-int(s.hhi-s.hlo) - len(s.data))
		s.finish(err)
	}
	q.segs = nil
	if q.timer != nil {
		q.timer.Stop()
	}
	c.out.Store(nil)
}

// finish answers the segment's writer, or frees its copy, and recycles it.
func (s *outSeg) finish(err error) {
	if s.done != nil {
		s.done <- err
	}
	if s.copied != nil {
		putBuf(s.copied)
	}
	*s = outSeg{}
	outSegs.Put(s)
}

// outTimeout fails the connection if the first waiting frame is past its
// deadline, else waits for that deadline.
func (c *Conn) outTimeout() {
	c.wmu.Lock()
	q := c.out.Load()
	if q == nil || len(q.segs) == 0 {
		c.wmu.Unlock()
		return
	}
	if wait := time.Until(q.segs[0].deadline); wait > 0 {
		q.timer.Reset(wait)
		c.wmu.Unlock()
		return
	}
	c.abortOut(q, os.ErrDeadlineExceeded)
	c.wmu.Unlock()
	c.drop(StatusWriteTimeout)
}
