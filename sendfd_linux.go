package wss

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The write path of event-loop connections. A frame goes out with one
// write or writev, straight from the caller's memory. When the socket
// cannot take it all, the rest waits in the connection's outQueue, which
// the loop flushes when the socket becomes writable:
//   - a writer on an event loop (a handler, or anything the loop calls)
//     leaves a copy in the queue and returns at once, so that the loop never
//     waits for one slow peer; the write still fails the connection at its
//     deadline;
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
	hdr      [maxHeaderLen]byte
	hlo, hhi uint8
	data     []byte     // payload still to send
	copied   *[]byte    // pooled buffer data lives in, or nil when a writer waits
	done     chan error // the waiting writer, answered once
	deadline time.Time
}

var outSegs = sync.Pool{New: func() any { return new(outSeg) }}

// sendFD sends a frame on an event-loop connection. c.wmu must be held;
// sendFD unlocks it.
func (c *Conn) sendFD(hdr, payload []byte) error {
	if !c.fdAcquire() {
		c.wmu.Unlock()
		return ErrClosed
	}
	q := c.out.Load()
	if q == nil {
		n, err := writeFull(c.fd, hdr, payload)
		if err == nil {
			c.wmu.Unlock()
			c.fdRelease()
			return nil
		}
		if err != unix.EAGAIN {
			c.wmu.Unlock()
			c.fdRelease()
			c.drop(StatusConnLost)
			return fmt.Errorf("wss: write: %w", err)
		}
		hdr, payload = skip(hdr, payload, n)
		q = &outQueue{}
		c.out.Store(q)
	}
	s := outSegs.Get().(*outSeg)
	s.deadline = time.Now().Add(c.cfg.writeTimeout())
	if isLoopGoroutine() {
		b := getBuf(len(hdr) + len(payload))
		*b = append(append(*b, hdr...), payload...)
		s.data, s.copied = *b, b
	} else {
		s.hlo, s.hhi = 0, uint8(copy(s.hdr[:], hdr))
		s.data, s.done = payload, make(chan error, 1)
	}
	done := s.done
	q.segs = append(q.segs, s)
	if q.timer == nil {
		q.timer = time.AfterFunc(c.cfg.writeTimeout(), c.outTimeout)
	}
	// Flush once more: room may have appeared before the queue existed,
	// and its event found nothing to flush.
	err := c.flushLocked(q, false)
	c.wmu.Unlock()
	c.fdRelease()
	if err != nil && err != unix.EAGAIN {
		c.drop(StatusConnLost)
	}
	if done != nil {
		err = <-done // answered by a flush, the deadline or the end of c
	}
	if err != nil && err != unix.EAGAIN {
		return fmt.Errorf("wss: write: %w", err)
	}
	return nil
}

// flushOut writes c's pending output when the socket may have room, on
// the loop. It reports whether reading may go on: no output is left, or
// the connection failed.
func (c *Conn) flushOut() bool {
	if !c.fdAcquire() {
		return true
	}
	c.wmu.Lock()
	var err error
	if q := c.out.Load(); q != nil {
		err = c.flushLocked(q, true)
	}
	paused := err == unix.EAGAIN
	if paused { // guarded by wmu: read it only while holding that
		c.set(flagPaused)
	} else {
		c.clear(flagPaused)
	}
	c.wmu.Unlock()
	c.fdRelease()
	if err != nil && err != unix.EAGAIN {
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
		n, err := writeFull(c.fd, s.hdr[s.hlo:s.hhi], s.data)
		if err != nil {
			if err == unix.EAGAIN {
				var rest []byte
				rest, s.data = skip(s.hdr[s.hlo:s.hhi], s.data, n)
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
		c.touch()
	}
	q.timer.Stop()
	c.out.Store(nil)
	if c.is(flagPaused) && !onLoop {
		c.clear(flagPaused)
		_ = sysEpollCtl(c.loop().epfd, unix.EPOLL_CTL_MOD, c.fd, loopEvents) // re-arms: input is reported again
	}
	return nil
}

// abortOut fails everything in q with err. c.wmu must be held.
func (c *Conn) abortOut(q *outQueue, err error) {
	for i, s := range q.segs {
		q.segs[i] = nil
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

// writeFull writes a then b with writev until both are written or the
// socket is full. It returns the bytes written and nil, EAGAIN or the
// error that stopped it.
func writeFull(fd int32, a, b []byte) (int, error) {
	total := 0
	for {
		n, err := writev2(fd, a, b)
		if n > 0 {
			total += n
			a, b = skip(a, b, n)
			if len(a) == 0 && len(b) == 0 {
				return total, nil
			}
			continue // partial: write again until the socket says it is full
		}
		switch {
		case err == unix.EINTR:
		case err != nil:
			return total, err
		case len(a) == 0 && len(b) == 0:
			return total, nil
		}
	}
}

// writev2 writes a and b with one system call.
func writev2(fd int32, a, b []byte) (int, error) {
	switch {
	case len(a) == 0:
		return sysWrite(fd, b)
	case len(b) == 0:
		return sysWrite(fd, a)
	}
	return sysWritev2(fd, a, b)
}

// skip drops the first n bytes of a then b.
func skip(a, b []byte, n int) ([]byte, []byte) {
	k := min(n, len(a))
	return a[k:], b[n-k:]
}

// loopGoroutines holds the goroutine ids of the running event loops.
var loopGoroutines sync.Map

// isLoopGoroutine reports whether the caller is an event loop, which must
// never wait for a peer. It is asked only when a write cannot complete at
// once, so its cost (about a microsecond) stays off the common path.
func isLoopGoroutine() bool {
	_, ok := loopGoroutines.Load(goid())
	return ok
}

// goid returns the calling goroutine's id, from the first line of its
// stack trace: "goroutine 123 [running]:".
func goid() uint64 {
	var b [64]byte
	s := b[:runtime.Stack(b[:], false)]
	const prefix = len("goroutine ")
	end := prefix
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	id, _ := strconv.ParseUint(string(s[prefix:end]), 10, 64)
	return id
}
