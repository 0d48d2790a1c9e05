package pubsub

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/wssgo/wss"
)

// ErrStoreFull is returned by Append when a store's queue of appends is full.
var ErrStoreFull = errors.New("pubsub: store queue full")

// MemoryStore is an in-process Store within the bounds of its Limits,
// shared by the PubSubs of one process as if they were separate nodes
// (see Node). Safe for concurrent use.
type MemoryStore struct {
	limits Limits
	now    func() time.Time
	in     chan Message // appends waiting to be stored and delivered
	done   chan struct{}
	ended  chan struct{}

	mu     sync.Mutex
	lastID uint64
	topics map[string][]*memEntry // per topic, oldest first
	order  []*memEntry            // every kept entry, oldest first
	bytes  int64
	nodes  map[*memNode]func(Message)
	closed bool
}

type memEntry struct {
	m       Message
	at      time.Time
	removed bool
}

// NewMemoryStore returns an empty store that keeps messages within limits.
// Close it to stop its goroutine.
func NewMemoryStore(limits Limits) *MemoryStore {
	s := &MemoryStore{
		limits: limits,
		now:    time.Now,
		in:     make(chan Message, 4096),
		done:   make(chan struct{}),
		ended:  make(chan struct{}),
		topics: make(map[string][]*memEntry),
		nodes:  make(map[*memNode]func(Message)),
	}
	go s.run()
	return s
}

// Node returns a Store for one PubSub: it shares this store's topics and
// gets every message appended by any node.
func (s *MemoryStore) Node() Store { return &memNode{s: s} }

// Close stops the store; its nodes stop with it.
func (s *MemoryStore) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.done)
	<-s.ended
	return nil
}

// Bytes returns the bytes of message data kept.
func (s *MemoryStore) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// run stores and delivers appends one at a time, so every node sees the
// same order.
func (s *MemoryStore) run() {
	defer close(s.ended)
	for {
		select {
		case <-s.done:
			return
		case m := <-s.in:
			s.deliver(s.keep(m))
		}
	}
}

// keep assigns m its ID and chains it to its topic, then trims to limits.
func (s *MemoryStore) keep(m Message) Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastID++
	m.ID = s.lastID
	if msgs := s.topics[m.Topic]; len(msgs) > 0 {
		m.Prev = msgs[len(msgs)-1].m.ID
	}
	e := &memEntry{m: m, at: s.now()}
	s.topics[m.Topic] = append(s.topics[m.Topic], e)
	s.order = append(s.order, e)
	s.bytes += int64(len(m.Data))
	if n := s.limits.PerTopic; n > 0 && len(s.topics[m.Topic]) > n {
		s.dropOldestOfLocked(m.Topic)
	}
	s.trimLocked()
	return m
}

// trimLocked drops the oldest entries beyond the byte and age bounds.
func (s *MemoryStore) trimLocked() {
	for len(s.order) > 0 {
		e := s.order[0]
		if !e.removed {
			over := s.limits.MaxBytes > 0 && s.bytes > s.limits.MaxBytes
			old := s.limits.MaxAge > 0 && s.now().Sub(e.at) > s.limits.MaxAge
			if !over && !old {
				return
			}
			s.dropOldestOfLocked(e.m.Topic)
		}
		s.order[0] = nil
		s.order = s.order[1:]
	}
}

// dropOldestOfLocked removes a topic's oldest entry; a topic left empty is
// forgotten, so memory follows what is kept.
func (s *MemoryStore) dropOldestOfLocked(topic string) {
	msgs := s.topics[topic]
	e := msgs[0]
	e.removed = true
	s.bytes -= int64(len(e.m.Data))
	msgs[0] = nil
	if len(msgs) == 1 {
		delete(s.topics, topic)
		return
	}
	s.topics[topic] = msgs[1:]
}

func (s *MemoryStore) deliver(m Message) {
	s.mu.Lock()
	fns := make([]func(Message), 0, len(s.nodes))
	for _, fn := range s.nodes {
		fns = append(fns, fn)
	}
	s.mu.Unlock()
	for _, fn := range fns {
		fn(m)
	}
}

func (s *MemoryStore) since(topic string, after uint64) ([]Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trimLocked()
	var out []Message
	for _, e := range s.topics[topic] {
		if e.m.ID > after {
			out = append(out, e.m)
		}
	}
	return out, CheckRun(after, out)
}

// memNode is one PubSub's view of a MemoryStore.
type memNode struct{ s *MemoryStore }

func (n *memNode) Start(deliver func(Message)) error {
	n.s.mu.Lock()
	defer n.s.mu.Unlock()
	if n.s.closed {
		return ErrClosed
	}
	n.s.nodes[n] = deliver
	return nil
}

func (n *memNode) Append(topic string, data []byte, typ wss.MessageType) error {
	m := Message{Topic: topic, Data: append([]byte(nil), data...), Type: typ}
	select {
	case <-n.s.done:
		return ErrClosed
	default:
	}
	select {
	case n.s.in <- m:
		return nil
	default:
		return ErrStoreFull
	}
}

func (n *memNode) Since(_ context.Context, topic string, after uint64) ([]Message, error) {
	return n.s.since(topic, after)
}

func (n *memNode) Close() error {
	n.s.mu.Lock()
	delete(n.s.nodes, n)
	n.s.mu.Unlock()
	return nil
}
