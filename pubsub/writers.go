package pubsub

import (
	"sync"

	"github.com/wssgo/wss"
)

// writers is a bounded set of goroutines that write subscribers' queues:
// a subscriber with messages to send waits in line (at most once: its
// scheduled flag) until one of them takes it. The goroutines start when
// there is work and exit when there is none, so an idle PubSub holds none.
type writers struct {
	max  int                                                // the most goroutines at once
	work func(s *subscriber, batch *[]*wss.PreparedMessage) // writes s's queue, then lets it go
	mu   sync.Mutex
	line []*subscriber // waiting subscribers, line[head:]
	head int
	busy int // goroutines running
}

// add puts s in line and starts a goroutine if fewer than max run. The
// caller has set s.scheduled under s.mu, so s is in line at most once.
func (w *writers) add(s *subscriber) {
	w.mu.Lock()
	if w.head > 0 && len(w.line) == cap(w.line) {
		// Reuse the space of the subscribers already taken.
		k := copy(w.line, w.line[w.head:])
		clear(w.line[k:])
		w.line, w.head = w.line[:k], 0
	}
	w.line = append(w.line, s)
	start := w.busy < w.max
	if start {
		w.busy++
	}
	w.mu.Unlock()
	if start {
		go w.run()
	}
}

// run serves the line until it is empty.
func (w *writers) run() {
	var batch []*wss.PreparedMessage // the writes' buffer
	for s := w.next(); s != nil; s = w.next() {
		w.work(s, &batch)
	}
}

// next takes the first subscriber in line, or, when the line is empty,
// ends the calling goroutine's service and returns nil.
func (w *writers) next() *subscriber {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.head == len(w.line) {
		w.line, w.head = w.line[:0], 0
		w.busy--
		return nil
	}
	s := w.line[w.head]
	w.line[w.head] = nil
	w.head++
	return s
}
