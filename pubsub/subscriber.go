package pubsub

import (
	"errors"
	"sync"

	"github.com/wssgo/wss"
)

// subscriber is one connection's membership and its outgoing queue.
type subscriber struct {
	ps *PubSub
	c  *wss.Conn

	topics memberships // guarded by ps.mu

	mu    sync.Mutex
	queue []run // queue[head:] waits to be handed to c
	head  int
	bytes int   // bytes of the messages in queue[head:]
	count int32 // how many
	// inMsgs and inFlight count the messages handed to c and their bytes
	// not known to be in the kernel yet: the write in progress, and on an
	// event loop what waits in c's output queue (cleared once c.Buffered
	// is 0).
	inMsgs   int32
	inFlight int
	connHeld int // c.Buffered when last read (heldLocked)

	closeAt   uint16 // close code to send once the queue is written (CloseWhenSent), 0 if none
	writing   bool   // a writer holds a batch taken from the queue
	scheduled bool   // in a writers' line, or held by a writer
	closing   bool   // overflowed under OverflowClose: close once the write ends
	gone      bool   // discarded: queue nothing more
	// waits says c's writes may wait for the peer (goroutine mode, a
	// client): ps.waiting writes its queue, else ps.handing. Set once.
	waits bool
}

// newSubscriber returns c's subscriber, asking c once which writers it needs.
func newSubscriber(ps *PubSub, c *wss.Conn) *subscriber {
	waits := errors.Is(c.WritePreparedBatchNoWait(nil), wss.ErrWouldWait)
	return &subscriber{ps: ps, c: c, waits: waits, topics: newMemberships()}
}

// enqueue queues pm and puts s in line for a writer if it is not. It
// reports whether the subscriber overflowed under OverflowClose and must
// be evicted.
func (s *subscriber) enqueue(pm *wss.PreparedMessage) (evict bool) {
	queued, evict := s.enqueueAt(pm, nil, 0, nil)
	if queued {
		s.ps.queued.Add(1)
	}
	return evict
}

// enqueueAt is enqueue for pm recorded in a topic's log as message at of
// seg (nil if it is not): a run of the queue that ends just before it
// takes it. It reports whether it queued pm, which the caller counts in
// Stats (once for a whole publish: an atomic add per subscriber costs as
// much as queueing). A subscriber it schedules goes in line through up,
// unless up is nil.
func (s *subscriber) enqueueAt(pm *wss.PreparedMessage, seg *segment, at int, up *lineup) (queued, evict bool) {
	o := &s.ps.opts
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone || s.closing {
		return false, false
	}
	n, held := s.pendingLocked(), s.heldLocked(s.count == 0)
	if (n > 0 || held > 0) && (n+1 > o.MaxQueueMessages || held+pm.Len() > o.MaxQueueBytes) {
		if o.Overflow == OverflowDrop {
			s.ps.dropped.Add(1)
			return false, false
		}
		s.closing = true
		s.clearLocked()
		s.scheduleLocked(up) // its writer closes c
		return false, true
	}
	s.push(pm, seg, at)
	s.count++
	s.bytes += pm.Len()
	s.scheduleLocked(up)
	return true, false
}

// push appends pm to the queue, to its last run if pm follows it in seg.
// s.mu must be held.
func (s *subscriber) push(pm *wss.PreparedMessage, seg *segment, at int) {
	if last := len(s.queue) - 1; last >= s.head && s.queue[last].extends(seg, at) {
		s.queue[last].hi++
		return
	}
	if s.head > 0 && len(s.queue) == cap(s.queue) {
		// Reuse the space of the runs already written.
		k := copy(s.queue, s.queue[s.head:])
		clear(s.queue[k:])
		s.queue, s.head = s.queue[:k], 0
	}
	r := run{pm: pm}
	if seg != nil {
		r = run{seg: seg, lo: int32(at), hi: int32(at) + 1}
	}
	s.queue = append(s.queue, r)
}

// scheduleLocked puts s in line for its writers unless it is already:
// through up, or at once if up is nil. s.mu must be held.
func (s *subscriber) scheduleLocked(up *lineup) {
	if s.scheduled {
		return
	}
	s.scheduled = true
	if up != nil {
		up.add(s)
	} else {
		s.writers().add(s)
	}
}

// writers returns the writers s needs: ones that wait for the peer, or
// ones that never do.
func (s *subscriber) writers() *writers {
	if s.waits {
		return &s.ps.waiting
	}
	return &s.ps.handing
}

// batchMax is the most queued messages a writer hands over at once, with
// one WritePreparedBatch(NoWait): one system call where the socket takes
// them.
const batchMax = 64

// write is a writer's service of s: it writes the queue until it is
// empty, then lets s go. It takes every message queued (up to batchMax)
// at once, so that the messages published while s waited in line, a
// burst of them, go out with one system call. With wait, each write
// returns once the kernel has it all; without, it returns at once (an
// event loop sends what the socket did not take) and the writer never
// waits for the peer.
// batch is the writer's own buffer, kept from one subscriber to the next.
func (s *subscriber) write(batch *[]*wss.PreparedMessage, wait bool) {
	s.mu.Lock()
	for !s.closing && !s.gone && s.head < len(s.queue) {
		*batch = s.takeLocked(*batch)
		s.mu.Unlock()
		var err error
		if wait {
			err = s.c.WritePreparedBatch(*batch)
		} else {
			err = s.c.WritePreparedBatchNoWait(*batch)
		}
		clear(*batch)
		s.mu.Lock()
		if !s.settleLocked(err, wait) {
			s.mu.Unlock()
			// The connection is closed: it leaves its topics.
			s.ps.UnsubscribeAll(s.c)
			return
		}
	}
	code := s.endLocked()
	s.mu.Unlock()
	s.closeConn(code, wait)
}

// closeConn closes c with code, unless code is 0. Close returns once the
// close frame is sent, so a writer that must not wait leaves it to a
// goroutine of its own: it runs only for a subscriber that overflowed or
// asked for it (CloseWhenSent).
func (s *subscriber) closeConn(code wss.StatusCode, wait bool) {
	switch {
	case code == 0:
	case wait:
		_ = s.c.Close(code, "")
	default:
		go s.c.Close(code, "")
	}
}

// endLocked lets s go when its writer stops, and returns the close code to
// send now, 0 if none. s.mu must be held.
func (s *subscriber) endLocked() wss.StatusCode {
	s.scheduled = false
	if s.closing {
		s.gone = true
		s.clearLocked()
		return s.ps.opts.CloseCode
	}
	s.clearLocked()
	code := wss.StatusCode(s.closeAt)
	s.closeAt = 0
	return code
}

// settleLocked ends the write of the batch taken; waited says it
// returned once all of c's output was in the kernel. It reports whether
// the writer goes on with s: not once c failed, which makes s leave its
// topics (the caller's to do, with s.mu released). s.mu must be held.
func (s *subscriber) settleLocked(err error, waited bool) bool {
	s.writing = false
	if waited || err != nil {
		s.inFlight, s.inMsgs = 0, 0
	}
	if err == nil {
		return true
	}
	s.gone = true
	s.clearLocked()
	s.scheduled = false
	return false
}

// takeLocked moves the first queued messages, up to batchMax, to batch
// as the write in progress, and returns it. s.mu must be held.
func (s *subscriber) takeLocked(batch []*wss.PreparedMessage) []*wss.PreparedMessage {
	batch = batch[:0]
	for len(batch) < batchMax && s.head < len(s.queue) {
		r := &s.queue[s.head]
		if r.seg != nil {
			r.seg.taken()
			k := min(r.hi-r.lo, int32(batchMax-len(batch)))
			batch = append(batch, r.seg.msgs[r.lo:r.lo+k]...)
			if r.lo += k; r.lo < r.hi {
				break // the batch is full
			}
		} else {
			batch = append(batch, r.pm)
		}
		*r = run{}
		s.head++
	}
	k := len(batch)
	s.count -= int32(k)
	n := 0
	for _, pm := range batch {
		n += pm.Len()
	}
	s.bytes -= n
	s.inFlight += n
	s.inMsgs += int32(k)
	s.writing = true
	return batch
}

// clearLocked empties the queue; what was handed to c still counts.
// s.mu must be held.
func (s *subscriber) clearLocked() {
	clear(s.queue[s.head:])
	s.queue = s.queue[:0]
	s.head = 0
	s.count, s.bytes = 0, 0
}

// discard empties the queue and refuses further messages.
func (s *subscriber) discard() {
	s.mu.Lock()
	s.gone = true
	s.clearLocked()
	s.mu.Unlock()
}

func (s *subscriber) buffered() (messages, bytes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	held := s.heldLocked(true) // first: it may learn that the messages handed are sent
	return s.pendingLocked(), held
}

// heldLocked returns the figure the bound applies to: the bytes queued
// here, plus what c holds unsent (c.Buffered: handed by pubsub or written
// to c directly), where the messages handed by pubsub count whole until
// they are all in the kernel. With fresh it reads c.Buffered again, else
// it uses the figure read last: enqueue reads it for a message that finds
// nothing queued here, so that the messages of a burst cost one reading.
// s.mu must be held.
func (s *subscriber) heldLocked(fresh bool) int {
	if fresh {
		s.connHeld = s.c.Buffered()
		if s.connHeld == 0 && !s.writing {
			s.inFlight, s.inMsgs = 0, 0 // all that was handed to c is in the kernel
		}
	}
	return s.bytes + max(s.inFlight, s.connHeld)
}

// pendingLocked counts the queued messages and those handed to c and not
// known to be in the kernel.
func (s *subscriber) pendingLocked() int {
	return int(s.count) + int(s.inMsgs)
}
