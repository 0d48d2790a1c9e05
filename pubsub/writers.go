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
	max int // the most goroutines at once
	// takeMax is the most subscribers a goroutine takes from the line at
	// once, at most handTakeMax: 1 where a write waits for the peer, so
	// that a subscriber that reads nothing holds back only itself.
	takeMax int
	work    func(s *subscriber, batch *[]*wss.PreparedMessage) // writes s's queue, then lets it go
	mu      sync.Mutex
	line    []*subscriber // waiting subscribers, line[head:]
	head    int
	busy    int // goroutines running
}

// add puts s in line and starts a goroutine if fewer than max run. The
// caller has set s.scheduled under s.mu, so s is in line at most once.
func (w *writers) add(s *subscriber) { w.addAll([]*subscriber{s}) }

// addAll puts subs in line with one lock, and starts goroutines for them
// while fewer than max run: a publish to thousands of subscribers takes
// the line's lock once per lineMax of them (lineup), not once a
// subscriber.
func (w *writers) addAll(subs []*subscriber) {
	w.mu.Lock()
	if w.head > 0 && len(w.line)+len(subs) > cap(w.line) {
		// Reuse the space of the subscribers already taken.
		k := copy(w.line, w.line[w.head:])
		clear(w.line[k:])
		w.line, w.head = w.line[:k], 0
	}
	w.line = append(w.line, subs...)
	start := min(w.max-w.busy, len(subs))
	w.busy += start
	w.mu.Unlock()
	for range start {
		go w.run()
	}
}

// handTakeMax is the most subscribers a writer whose writes never wait
// takes from the line at once: one lock for several subscribers.
const handTakeMax = 16

// run serves the line until it is empty.
func (w *writers) run() {
	var batch []*wss.PreparedMessage // the writes' buffer
	var mine [handTakeMax]*subscriber
	for n := w.take(&mine); n > 0; n = w.take(&mine) {
		for i, s := range mine[:n] {
			w.work(s, &batch)
			mine[i] = nil
		}
	}
}

// take moves the first subscribers in line to mine, a fair share of them
// among the goroutines running, and returns how many; when the line is
// empty, it ends the calling goroutine's service and returns 0.
func (w *writers) take(mine *[handTakeMax]*subscriber) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	waiting := len(w.line) - w.head
	if waiting == 0 {
		w.line, w.head = w.line[:0], 0
		w.busy--
		return 0
	}
	n := copy(mine[:min(w.takeMax, max(1, waiting/w.busy))], w.line[w.head:])
	clear(w.line[w.head : w.head+n])
	w.head += n
	return n
}

// lineup gathers the subscribers a publish schedules, to put them in line
// with a lock each time one of its batches is full and once at the end
// (flush): a batch for each set of writers.
type lineup struct {
	batches [2]lineBatch // the handing writers', the waiting writers'
}

// lineMax is the most subscribers a lineup gathers for one set of writers
// before it puts them in line.
const lineMax = 32

type lineBatch struct {
	w    *writers
	n    int
	subs [lineMax]*subscriber
}

// add gathers s, which the caller scheduled under s.mu.
func (l *lineup) add(s *subscriber) {
	b := &l.batches[0]
	if s.waits {
		b = &l.batches[1]
	}
	if b.n == len(b.subs) {
		b.flush()
	}
	b.w = s.writers()
	b.subs[b.n] = s
	b.n++
}

// flush puts what l gathered in line.
func (l *lineup) flush() {
	for i := range l.batches {
		l.batches[i].flush()
	}
}

func (b *lineBatch) flush() {
	if b.n > 0 {
		b.w.addAll(b.subs[:b.n])
		clear(b.subs[:b.n])
		b.n = 0
	}
}
