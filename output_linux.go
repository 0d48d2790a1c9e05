package wss

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wssgo/wss/internal/frame"
	"github.com/wssgo/wss/internal/poll"
)

// The write path of event-loop connections. Outside a turn, a frame goes
// out with one write or writev, straight from the caller's memory; in a
// turn it joins the turn's cork first (cork_linux.go). When the socket
// cannot take it all, the rest waits in the connection's outQueue, which
// the loop flushes when the socket becomes writable:
//   - a writer that must never wait leaves a copy in the queue and returns
//     at once, so that the loop never waits for one slow peer; the write
//     still fails the connection at its deadline. Those writers are every
//     write made while c's turn runs (flagTurn), whose cork is copied, and
//     the sweeper (writeFrameNoWait);
//   - any other writer leaves its own bytes in the queue and waits until
//     they are sent, or the deadline passes: Write stays blocking.
// Frames queue behind each other, so they never interleave.

// outQueue is the output of a connection that the socket has not taken yet.
type outQueue struct {
	segs  []*outSeg
	n     int         // bytes in segs, for Buffered
	timer *time.Timer // fires at the first segment's deadline
	// unowned: it holds bytes no writer waits for (a turn's, the sweeper's,
	// WritePreparedBatchNoWait's), so reading waits until it drains
	// (pauseReading), and they stay bounded. Bytes of writers that wait
	// for them do not stop reading: two peers that both write more than
	// the sockets hold and read what comes (NetConns copying both ways)
	// would each wait for the other to read. Set under c.wmu; read
	// without it by the turn that feeds c (turnOver).
	unowned atomic.Bool
}

// holdsUnowned reports whether q, which may be nil, holds output no
// writer waits for.
func (q *outQueue) holdsUnowned() bool { return q != nil && q.unowned.Load() }

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
// In c's turn the frame joins the turn's cork. Otherwise it returns the
// channel to wait on when the frame waits in the queue for a writer that
// may block (see transmit): not noWait.
func (w *wire) sendFD(hdr, payload []byte, noWait bool) (<-chan error, error) {
	if w.state.is(flagTurn) {
		// No Acquire: the loop lets go of c's descriptor only after the
		// turn, which ends under c.wmu (endTurn).
		return nil, w.cork(hdr, payload)
	}
	if !w.fd.Acquire() {
		return nil, ErrClosed
	}
	defer w.fd.Release()
	return w.writeOrQueue(hdr, payload, noWait)
}

// writeOrQueue writes hdr and payload with one writev, and queues what the
// socket does not take (see enqueue): output already queued is never
// overtaken. c.wmu must be held and c's descriptor acquired.
func (w *wire) writeOrQueue(hdr, payload []byte, noWait bool) (<-chan error, error) {
	if w.out.Load() == nil {
		n, err := poll.WriteFull(w.fd.Num(), hdr, payload)
		if err == nil {
			return nil, nil
		}
		return w.queueRest(hdr, payload, n, err, noWait)
	}
	return w.queue(hdr, payload, noWait)
}

// queueRest queues what a write that stopped with err after n bytes left
// of hdr and payload, or drops the connection if err is not EAGAIN.
func (w *wire) queueRest(hdr, payload []byte, n int, err error, noWait bool) (<-chan error, error) {
	if err != syscall.EAGAIN {
		w.conn().drop(StatusConnLost)
		return nil, fmt.Errorf("wss: write: %w", err)
	}
	hdr, payload = poll.Skip(hdr, payload, n)
	w.out.Store(&outQueue{})
	return w.queue(hdr, payload, noWait)
}

// queue appends a frame to c's queue behind what waits there, and flushes
// once more. c.wmu must be held and c's descriptor acquired.
func (w *wire) queue(hdr, payload []byte, noWait bool) (<-chan error, error) {
	q := w.out.Load()
	done := w.enqueue(q, hdr, payload, noWait)
	// Flush once more: room may have appeared before the queue existed,
	// and its event found nothing to flush.
	if err := w.flushLocked(q, false); err != nil && err != syscall.EAGAIN {
		w.conn().drop(StatusConnLost)
		if done == nil {
			return nil, fmt.Errorf("wss: write: %w", err)
		}
	}
	if w.out.Load() != nil {
		w.state.set(flagBacked) // the socket refused bytes: OnDrain follows
	}
	return done, nil // a failed flush has answered done
}

// enqueue appends a frame to q: for a writer that must never wait
// (noWait) a copy; for another the caller's bytes, and the channel that
// says when they are sent. c.wmu must be held.
func (w *wire) enqueue(q *outQueue, hdr, payload []byte, noWait bool) chan error {
	s := outSegs.Get().(*outSeg)
	s.deadline = time.Now().Add(w.cfg.writeTimeout())
	if noWait {
		q.unowned.Store(true)
		b := getBuf(len(hdr) + len(payload))
		*b = append(append(*b, hdr...), payload...)
		s.data, s.copied = *b, b
	} else {
		s.hlo, s.hhi = 0, uint8(copy(s.hdr[:], hdr))
		s.data, s.done = payload, make(chan error, 1)
	}
	q.segs = append(q.segs, s)
	q.n += len(hdr) + len(payload)
	w.d.obs.queued(len(hdr) + len(payload))
	if q.timer == nil {
		q.timer = time.AfterFunc(w.cfg.writeTimeout(), w.outTimeout)
	}
	return s.done
}

// disown records that c's queued output, if any, holds bytes no writer
// waits for (see outQueue). c.wmu must be held.
func (w *wire) disown() {
	if q := w.out.Load(); q != nil {
		q.unowned.Store(true)
	}
}

// flushOut writes c's pending output when the socket may have room, on
// the loop. It reports whether reading may go on: no output is left, or
// the connection failed.
func (w *wire) flushOut() bool {
	if !w.fd.Acquire() {
		return true
	}
	w.wmu.Lock()
	var err error
	if q := w.out.Load(); q != nil {
		err = w.flushLocked(q, true)
	}
	// On EAGAIN the queue is still there; flagPaused is guarded by wmu.
	paused := err == syscall.EAGAIN && w.out.Load().holdsUnowned()
	if paused {
		w.state.set(flagPaused)
	} else {
		w.state.clear(flagPaused)
	}
	w.wmu.Unlock()
	w.fd.Release()
	if err != nil && err != syscall.EAGAIN {
		w.conn().drop(StatusConnLost)
	}
	return !paused
}

// flushLocked writes q until it is empty (nil) or the socket is full
// (EAGAIN); another error fails the waiting writers. c.wmu must be held
// and c's descriptor acquired. A flush off the loop that drains the queue
// of a connection whose reading paused, or that owes OnDrain, wakes the
// loop, which reads again and calls OnDrain.
func (w *wire) flushLocked(q *outQueue, onLoop bool) error {
	for len(q.segs) > 0 {
		s := q.segs[0]
		n, err := poll.WriteFull(w.fd.Num(), s.hdr[s.hlo:s.hhi], s.data)
		q.n -= n
		w.d.obs.written(n, err)
		if err != nil {
			if err == syscall.EAGAIN {
				var rest []byte
				rest, s.data = poll.Skip(s.hdr[s.hlo:s.hhi], s.data, n)
				s.hlo = s.hhi - uint8(len(rest))
			} else {
				w.abortOut(q, err)
			}
			return err
		}
		q.segs[0] = nil
		q.segs = q.segs[1:]
		s.finish(nil)
		// Output that waited for the peer went out: the peer is alive,
		// even if its answers wait unread while reading is paused.
		w.live.touch(&w.d.sweep)
	}
	q.timer.Stop()
	w.out.Store(nil)
	w.emptied()
	if !onLoop && (w.state.is(flagPaused) || w.state.is(flagDrainDue)) {
		w.state.clear(flagPaused)
		_ = w.d.loopOf(w.conn()).p.Rearm(w.fd.Num()) // input is reported again
	}
	return nil
}

// abortOut fails everything in q with err. c.wmu must be held.
func (w *wire) abortOut(q *outQueue, err error) {
	for i, s := range q.segs {
		q.segs[i] = nil
		w.d.obs.queued(-int(s.hhi-s.hlo) - len(s.data))
		s.finish(err)
	}
	q.segs, q.n = nil, 0
	if q.timer != nil {
		q.timer.Stop()
	}
	w.out.Store(nil)
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
func (w *wire) outTimeout() {
	w.wmu.Lock()
	q := w.out.Load()
	if q == nil || len(q.segs) == 0 {
		w.wmu.Unlock()
		return
	}
	if wait := time.Until(q.segs[0].deadline); wait > 0 {
		q.timer.Reset(wait)
		w.wmu.Unlock()
		return
	}
	w.abortOut(q, os.ErrDeadlineExceeded)
	w.wmu.Unlock()
	w.conn().drop(StatusWriteTimeout)
}

// sendFDFrames sends immutable frames (PreparedMessage's) on an event-loop
// connection with one writev; what the socket does not take waits in the
// queue, not copied, and the returned channel says when the last frame is
// sent. c.wmu must be held; c is not in its turn.
func (w *wire) sendFDFrames(frames [][]byte) (<-chan error, error) {
	if !w.fd.Acquire() {
		return nil, ErrClosed
	}
	defer w.fd.Release()
	q := w.out.Load()
	if q == nil {
		n, err := poll.WritevFull(w.fd.Num(), frames)
		if err == nil {
			return nil, nil
		}
		if err != syscall.EAGAIN {
			w.conn().drop(StatusConnLost)
			return nil, fmt.Errorf("wss: write: %w", err)
		}
		for n >= len(frames[0]) { // frames[0] is not all written, or err would be nil
			n -= len(frames[0])
			frames = frames[1:]
		}
		frames[0] = frames[0][n:]
		q = &outQueue{}
		w.out.Store(q)
	}
	var done chan error
	for i, f := range frames {
		done = w.enqueueShared(q, f, i == len(frames)-1)
	}
	if err := w.flushLocked(q, false); err != nil && err != syscall.EAGAIN {
		w.conn().drop(StatusConnLost) // a failed flush has answered done
	}
	if w.out.Load() != nil {
		w.state.set(flagBacked)
	}
	return done, nil
}

// enqueueShared appends an immutable frame to q without copying it; with
// last, it returns the channel that says when it is sent. c.wmu must be
// held.
func (w *wire) enqueueShared(q *outQueue, frame []byte, last bool) chan error {
	s := outSegs.Get().(*outSeg)
	s.deadline = time.Now().Add(w.cfg.writeTimeout())
	s.data = frame
	if last {
		s.done = make(chan error, 1)
	}
	q.segs = append(q.segs, s)
	q.n += len(frame)
	if q.timer == nil {
		q.timer = time.AfterFunc(w.cfg.writeTimeout(), w.outTimeout)
	}
	return s.done
}
