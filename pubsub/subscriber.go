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
	bytes    int            // queued bytes, the write in progress included
	inFlight int            // bytes of the message being written, 0 if none
	draining bool           // a drain goroutine is running
	closing  bool           // overflowed under OverflowClose: close once the write ends
	closeAt  wss.StatusCode // close code to send once the queue is written (CloseWhenSent), 0 if none
	gone     bool           // discarded: queue nothing more
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

// drain writes queued messages until the queue is empty, then exits.
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
		pm := s.queue[s.head]
		s.queue[s.head] = nil
		s.head++
		s.inFlight = pm.Len()
		s.mu.Unlock()

		err := s.c.WritePrepared(pm)

		s.mu.Lock()
		s.inFlight = 0
		s.bytes -= pm.Len()
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

// pendingLocked counts the queued messages and the one being written.
func (s *subscriber) pendingLocked() int {
	n := len(s.queue) - s.head
	if s.inFlight > 0 {
		n++
	}
	return n
}
