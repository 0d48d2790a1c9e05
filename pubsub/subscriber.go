package pubsub

import (
	"sync"

	"github.com/wssgo/wss"
)

// subscriber is one connection's membership and its outgoing queue.
type subscriber struct {
	ps *PubSub
	c  *wss.Conn

	topics map[string]int // topic name -> index in topic.subs; guarded by ps.mu

	mu       sync.Mutex
	queue    []*wss.PreparedMessage // queue[head:] waits to be written
	head     int
	bytes    int                    // queued bytes, the write in progress included
	inFlight int                    // bytes of the messages being written, 0 if none
	inMsgs   int                    // how many messages are being written
	batch    []*wss.PreparedMessage // the messages being written; used by drain only
	draining bool                   // a drain goroutine is running
	closing  bool                   // overflowed under OverflowClose: close once the write ends
	closeAt  wss.StatusCode         // close code to send once the queue is written (CloseWhenSent), 0 if none
	gone     bool                   // discarded: queue nothing more
}

// enqueue queues pm and starts a drain goroutine if none runs. It reports
// whether the subscriber overflowed under OverflowClose and must be evicted.
func (s *subscriber) enqueue(pm *wss.PreparedMessage) (evict bool) {
	o := &s.ps.opts
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone || s.closing {
		return false
	}
	n := s.pendingLocked()
	if n > 0 && (n+1 > o.MaxQueueMessages || s.bytes+pm.Len() > o.MaxQueueBytes) {
		if o.Overflow == OverflowDrop {
			s.ps.dropped.Add(1)
			return false
		}
		s.closing = true
		s.clearLocked()
		return true
	}
	if s.head > 0 && len(s.queue) == cap(s.queue) {
		// Reuse the space of the messages already written.
		k := copy(s.queue, s.queue[s.head:])
		clear(s.queue[k:])
		s.queue, s.head = s.queue[:k], 0
	}
	s.queue = append(s.queue, pm)
	s.bytes += pm.Len()
	s.ps.queued.Add(1)
	if !s.draining {
		s.draining = true
		go s.drain()
	}
	return false
}

// batchMax is the most queued messages drain writes at once, with one
// WritePreparedBatch: one system call where the socket takes them.
const batchMax = 64

// drain writes queued messages until the queue is empty, then exits. It
// takes every message queued (up to batchMax) at once, so that a
// subscriber whose queue filled while a write went on gets them with one
// system call.
func (s *subscriber) drain() {
	for {
		s.mu.Lock()
		if s.closing {
			s.draining = false
			s.gone = true
			s.mu.Unlock()
			_ = s.c.Close(s.ps.opts.CloseCode, "")
			return
		}
		if s.head == len(s.queue) || s.gone {
			s.clearLocked()
			s.draining = false
			code := s.closeAt
			s.mu.Unlock()
			if code != 0 {
				_ = s.c.Close(code, "")
			}
			return
		}
		n := s.takeLocked()
		s.mu.Unlock()

		var err error
		if len(s.batch) == 1 { // the common case, one frame shallower
			err = s.c.WritePrepared(s.batch[0])
		} else {
			err = s.c.WritePreparedBatch(s.batch)
		}
		clear(s.batch)

		s.mu.Lock()
		s.inFlight, s.inMsgs = 0, 0
		s.bytes -= n
		if err != nil {
			s.gone = true
			s.clearLocked()
			s.draining = false
			s.mu.Unlock()
			// The connection is closed: it leaves its topics.
			s.ps.UnsubscribeAll(s.c)
			return
		}
		s.mu.Unlock()
	}
}

// takeLocked moves the first queued messages, up to batchMax, to s.batch
// as the write in progress, and returns their bytes. s.mu must be held.
func (s *subscriber) takeLocked() int {
	k := min(len(s.queue)-s.head, batchMax)
	s.batch = append(s.batch[:0], s.queue[s.head:s.head+k]...)
	clear(s.queue[s.head : s.head+k])
	s.head += k
	n := 0
	for _, pm := range s.batch {
		n += pm.Len()
	}
	s.inFlight, s.inMsgs = n, k
	return n
}

// clearLocked empties the queue; the write in progress still counts.
// s.mu must be held.
func (s *subscriber) clearLocked() {
	clear(s.queue[s.head:])
	s.queue = s.queue[:0]
	s.head = 0
	s.bytes = s.inFlight // subtracted when the write ends
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
	return s.pendingLocked(), s.bytes
}

// pendingLocked counts the queued messages and those being written.
func (s *subscriber) pendingLocked() int {
	return len(s.queue) - s.head + s.inMsgs
}
