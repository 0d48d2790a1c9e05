// Package pubsub adds topics to wss connections: a connection subscribes to
// topics, and a message published on a topic reaches every subscriber.
//
// # Broadcast
//
// A published message is framed once ([wss.NewPreparedMessage]) and the same
// bytes are written to every subscriber. A topic records its messages once
// for all its subscribers, and a subscriber's queue refers to the run of
// them it has not been sent (a burst is one entry, not one per message), in
// the order they were published, with what [PubSub.Send] queued for it
// among them.
//
// Publish never writes to a socket: a few goroutines, started when there
// is work and ended when there is none, hand the queues to the
// connections. Each takes a subscriber in line and sends everything queued
// for it (a burst published meanwhile) with one system call where its
// socket takes it. On an event loop that write never waits for the peer
// ([wss.Conn.WritePreparedBatchNoWait]): what the socket does not take
// waits in the connection's output, which the loop sends as the peer
// reads, so GOMAXPROCS goroutines serve any number of subscribers, and a
// subscriber that reads slowly delays only itself. A connection whose
// writes wait (goroutine mode, a client) is written by at most
// [Options.Writers] goroutines ([wss.Conn.WritePreparedBatch]); one whose
// peer reads nothing holds one of them until its write passes the
// connection's WriteTimeout.
//
// # Slow subscribers
//
// What a subscriber holds unsent is bounded in messages
// ([Options.MaxQueueMessages]) and in bytes ([Options.MaxQueueBytes]), on
// the figure of [wss.Conn.Buffered]: the bytes queued here plus what the
// connection holds unsent, so that a subscriber that is also written to
// directly is bounded by what its peer has not read of both. The messages
// handed to the connection count whole until they are all in the kernel.
// The connection's part is read when a message finds nothing queued here,
// so that a burst costs one reading, and by [PubSub.Buffered], which
// returns the figure. A message that would
// take a subscriber over its bound is handled by [Options.Overflow]:
//
//   - [OverflowClose] (the default): the subscriber leaves all its topics at
//     once, its queue is discarded, and its connection is closed with
//     [Options.CloseCode] (1008 by default) after what was handed to it
//     already. A peer that reads nothing at all is dropped when that output
//     waits longer than the connection's WriteTimeout.
//   - [OverflowDrop]: the message is not queued for that subscriber (it sees
//     a gap); the messages already queued are kept. Dropped messages are
//     counted in [Stats].
//
// # Several servers
//
// A [Backplane] carries messages between server processes ("nodes") so they
// share topics: a message published on one node reaches every subscriber of
// every node once, in the order its publisher published it. Without one, a
// PubSub serves its own process. [Bus] is an in-process backplane (several
// PubSubs in one process); package natsbus is one over a NATS server.
//
// # Durable topics
//
// With a [Store] ([Options.Store]), a topic can keep its recent messages:
// [PubSub.Append] stores a message, which every node then delivers with
// its ID, and [PubSub.SubscribeFrom] sends a subscriber what it missed
// after the last ID it saw, then every later message, or tells it that
// the gap cannot be filled ([ErrGap]). [MemoryStore] is an in-process
// store; package jsbus is one on NATS JetStream.
//
// # Leaving
//
// A subscriber whose connection fails a write leaves all its topics. A
// connection that closes while idle must be removed with
// [PubSub.UnsubscribeAll] from its OnClose, or its handler wrapped with
// [PubSub.Handler], which does that.
package pubsub

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/wssgo/wss"
)

// Policy says what happens to a subscriber whose queue is full.
type Policy int

const (
	// OverflowClose closes the subscriber's connection with CloseCode.
	OverflowClose Policy = iota
	// OverflowDrop drops the messages that do not fit in its queue.
	OverflowDrop
)

// Defaults used for the zero fields of Options.
const (
	DefaultMaxQueueMessages = 1024
	DefaultMaxQueueBytes    = 4 << 20
	DefaultCloseCode        = wss.StatusPolicyViolation
	DefaultWriters          = 128
)

// Options holds the settings of a PubSub; the zero value (or nil) uses the
// defaults.
type Options struct {
	// MaxQueueMessages bounds the messages one subscriber holds unsent:
	// queued here, or handed to its connection and not yet all in the
	// kernel.
	MaxQueueMessages int
	// MaxQueueBytes bounds the bytes (frames on the wire) one subscriber
	// holds unsent: those queued here, plus what its connection holds and
	// the kernel has not taken (wss.Conn.Buffered), whether pubsub or
	// another writer gave it to the connection. The messages pubsub handed
	// to the connection count whole until they are all in the kernel; the
	// connection's figure is read when a message finds nothing queued here
	// (once a burst). A single message larger than the bound is still
	// queued when nothing is held.
	MaxQueueBytes int
	// Overflow is the policy for a subscriber over its bound.
	Overflow Policy
	// Writers bounds the goroutines that write to subscribers whose writes
	// wait for the peer (connections in goroutine mode, clients); 128 if
	// zero. Subscribers on event loops need none of them.
	Writers int
	// CloseCode is the close code sent by OverflowClose, for example 1008
	// (policy violation) or 1013 (try again later).
	CloseCode wss.StatusCode
	// Backplane, if set, shares topics with other nodes. The PubSub starts
	// it and closes it on Close.
	Backplane Backplane
	// Logger receives backplane errors; nil means slog.Default().
	Logger *slog.Logger
	// Store, if set, keeps durable topics: Append stores a message and
	// SubscribeFrom replays what a subscriber missed. The PubSub starts it
	// and closes it on Close.
	Store Store
	// Render turns a stored message into the frame its subscribers get,
	// once per message on each node; nil sends m.Data as it is. It must
	// not retain m.Data.
	Render func(m Message) (data []byte, typ wss.MessageType)
	// MaxReplayBytes bounds the frames SubscribeFrom replays to one
	// subscriber; older ones count as a gap. Half of MaxQueueBytes if zero.
	MaxReplayBytes int
}

// Stats are counters of a PubSub since it was created.
type Stats struct {
	Published  uint64 // messages published here (Publish and PublishLocal)
	Received   uint64 // messages received from other nodes
	Queued     uint64 // messages queued for subscribers
	Dropped    uint64 // messages dropped by OverflowDrop
	Overflowed uint64 // subscribers closed by OverflowClose
	Stored     uint64 // stored messages delivered here by the Store
}

// ErrClosed is returned by operations on a closed PubSub.
var ErrClosed = errors.New("pubsub: closed")

// PubSub is a set of topics and their subscribers. Safe for concurrent use.
type PubSub struct {
	opts Options
	log  *slog.Logger

	mu     sync.RWMutex
	topics map[string]*topic
	subs   map[*wss.Conn]*subscriber
	closed bool

	interest sync.Mutex // orders Subscribe/Unsubscribe calls to the backplane

	handing writers // write the queues of subscribers whose writes never wait
	waiting writers // write the queues of the others

	published, received, queued, dropped, overflowed, stored atomic.Uint64
}

// topic holds one topic's local subscribers and listeners.
type topic struct {
	name      string
	subs      []*subscriber
	listeners map[*listener]struct{}
	log       topicLog // the messages its subscribers' queues refer to

	// catchup holds the frames for subscribers still being sent what they
	// missed (SubscribeFrom); written under ps.mu.RLock with catchMu, read
	// and removed under ps.mu.Lock.
	catchMu sync.Mutex
	catchup map[*subscriber][]heldFrame
	// replayed holds, for subscribers whose replay ran ahead of this
	// node's delivery of the stored messages, the last ID replayed: stored
	// messages up to it are not sent to them again. Guarded like catchup.
	replayed map[*subscriber]uint64
}

// heldFrame is a frame held for a subscriber catching up; id is its stored
// message's ID, 0 if it was not stored.
type heldFrame struct {
	id uint64
	pm *wss.PreparedMessage
}

type listener struct {
	fn func(data []byte, typ wss.MessageType)
}

func (t *topic) empty() bool { return len(t.subs) == 0 && len(t.listeners) == 0 }

// New returns a PubSub with the settings of opts, and starts its backplane.
func New(opts *Options) (*PubSub, error) {
	ps := &PubSub{topics: make(map[string]*topic), subs: make(map[*wss.Conn]*subscriber)}
	if opts != nil {
		ps.opts = *opts
	}
	o := &ps.opts
	if o.MaxQueueMessages <= 0 {
		o.MaxQueueMessages = DefaultMaxQueueMessages
	}
	if o.MaxQueueBytes <= 0 {
		o.MaxQueueBytes = DefaultMaxQueueBytes
	}
	if o.CloseCode == 0 {
		o.CloseCode = DefaultCloseCode
	}
	if o.MaxReplayBytes <= 0 {
		o.MaxReplayBytes = o.MaxQueueBytes / 2
	}
	if o.Writers <= 0 {
		o.Writers = DefaultWriters
	}
	ps.handing = writers{max: runtime.GOMAXPROCS(0), takeMax: handTakeMax, work: func(s *subscriber, b *[]*wss.PreparedMessage) { s.write(b, false) }}
	ps.waiting = writers{max: o.Writers, takeMax: 1, work: func(s *subscriber, b *[]*wss.PreparedMessage) { s.write(b, true) }}
	ps.log = o.Logger
	if ps.log == nil {
		ps.log = slog.Default()
	}
	if o.Backplane != nil {
		if err := o.Backplane.Start(ps.fromBackplane); err != nil {
			return nil, fmt.Errorf("pubsub: start backplane: %w", err)
		}
	}
	if o.Store != nil {
		if err := o.Store.Start(ps.fromStore); err != nil {
			return nil, fmt.Errorf("pubsub: start store: %w", err)
		}
	}
	return ps, nil
}

// Close closes the backplane, if any. Subscribers are left as they are:
// close their connections to end them.
func (ps *PubSub) Close() error {
	ps.mu.Lock()
	if ps.closed {
		ps.mu.Unlock()
		return nil
	}
	ps.closed = true
	ps.mu.Unlock()
	var errs []error
	if ps.opts.Store != nil {
		errs = append(errs, ps.opts.Store.Close())
	}
	if ps.opts.Backplane != nil {
		errs = append(errs, ps.opts.Backplane.Close())
	}
	return errors.Join(errs...)
}

// Subscribe adds c to topic; subscribing twice is the same as once.
func (ps *PubSub) Subscribe(c *wss.Conn, name string) error {
	ps.mu.Lock()
	if ps.closed {
		ps.mu.Unlock()
		return ErrClosed
	}
	s := ps.subscriberLocked(c)
	if _, ok := s.topics.get(name); ok {
		ps.mu.Unlock()
		return nil
	}
	t, first := ps.topicLocked(name)
	s.topics.set(name, len(t.subs))
	t.subs = append(t.subs, s)
	ps.mu.Unlock()
	if first {
		ps.backplaneInterest(name)
	}
	return nil
}

// Unsubscribe removes c from topic.
func (ps *PubSub) Unsubscribe(c *wss.Conn, name string) {
	ps.mu.Lock()
	last := false
	if s := ps.subs[c]; s != nil {
		last = ps.leaveLocked(s, name)
	}
	ps.mu.Unlock()
	if last {
		ps.backplaneInterest(name)
	}
}

// UnsubscribeAll removes c from all its topics and discards its queue.
// Call it when c closes (see Handler).
func (ps *PubSub) UnsubscribeAll(c *wss.Conn) {
	ps.mu.Lock()
	s := ps.subs[c]
	var gone []string
	if s != nil {
		gone = ps.removeLocked(s)
	}
	ps.mu.Unlock()
	if s != nil {
		s.discard()
	}
	for _, name := range gone {
		ps.backplaneInterest(name)
	}
}

// Listen calls fn with every message of topic, local or from other nodes,
// until stop is called. fn runs on the publisher's goroutine (or the
// backplane's), one message at a time per publisher; it must not block and
// must not call Listen or stop. data is valid only during the call.
func (ps *PubSub) Listen(name string, fn func(data []byte, typ wss.MessageType)) (stop func()) {
	l := &listener{fn: fn}
	ps.mu.Lock()
	t, first := ps.topicLocked(name)
	t.listeners[l] = struct{}{}
	ps.mu.Unlock()
	if first {
		ps.backplaneInterest(name)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			ps.mu.Lock()
			delete(t.listeners, l)
			last := ps.dropIfEmptyLocked(t)
			ps.mu.Unlock()
			if last {
				ps.backplaneInterest(name)
			}
		})
	}
}

// Publish sends data to every subscriber of topic, here and, through the
// backplane, on other nodes. Text must be valid UTF-8. data is not retained.
// It never blocks on a subscriber; a backplane failure is logged and
// returned, after local delivery.
func (ps *PubSub) Publish(name string, data []byte, typ wss.MessageType) error {
	if err := ps.PublishLocal(name, data, typ); err != nil {
		return err
	}
	if bp := ps.opts.Backplane; bp != nil {
		if err := bp.Publish(name, data, typ); err != nil {
			ps.log.Warn("pubsub: backplane publish failed", "topic", name, "err", err)
			return fmt.Errorf("pubsub: backplane: %w", err)
		}
	}
	return nil
}

// PublishLocal is Publish without the backplane: only this node's
// subscribers and listeners get the message.
func (ps *PubSub) PublishLocal(name string, data []byte, typ wss.MessageType) error {
	ps.published.Add(1)
	return ps.deliver(name, data, typ, 0)
}

// fromBackplane delivers a message from another node.
func (ps *PubSub) fromBackplane(name string, data []byte, typ wss.MessageType) {
	ps.received.Add(1)
	if err := ps.deliver(name, data, typ, 0); err != nil {
		ps.log.Warn("pubsub: message from backplane not delivered", "topic", name, "err", err)
	}
}

// deliver frames a message once and queues it for the local subscribers;
// id is its stored message's ID, 0 if it was not stored.
func (ps *PubSub) deliver(name string, data []byte, typ wss.MessageType, id uint64) error {
	var pm *wss.PreparedMessage
	var over []*subscriber
	ps.mu.RLock()
	if ps.closed {
		ps.mu.RUnlock()
		return ErrClosed
	}
	t := ps.topics[name]
	if t == nil {
		ps.mu.RUnlock()
		return nil
	}
	var fns []func([]byte, wss.MessageType)
	for l := range t.listeners {
		fns = append(fns, l.fn)
	}
	if len(t.subs) > 0 {
		var err error
		if pm, err = wss.NewPreparedMessage(data, typ); err != nil {
			ps.mu.RUnlock()
			return fmt.Errorf("pubsub: publish: %w", err)
		}
		held := t.holdForCatchup(id, pm)
		seg, at := t.log.record(pm)
		queued := 0
		var up lineup
		for _, s := range t.subs {
			if (held != nil || id != 0) && (held[s] || t.replayedAlready(s, id)) { // a subscriber catching up
				continue
			}
			q, evict := s.enqueueAt(pm, seg, at, &up)
			if q {
				queued++
			}
			if evict {
				over = append(over, s)
			}
		}
		up.flush()
		ps.queued.Add(uint64(queued))
	}
	ps.mu.RUnlock()
	ps.evict(over)
	// Listeners run unlocked, so they may publish.
	for _, fn := range fns {
		fn(data, typ)
	}
	return nil
}

// Send queues data for c alone, behind what is already queued for it,
// under the same bounds and policy as published messages: for replies that
// must keep their order with the broadcasts c receives. Text must be valid
// UTF-8. data is not retained.
func (ps *PubSub) Send(c *wss.Conn, data []byte, typ wss.MessageType) error {
	pm, err := wss.NewPreparedMessage(data, typ)
	if err != nil {
		return fmt.Errorf("pubsub: send: %w", err)
	}
	return ps.SendPrepared(c, pm)
}

// SendPrepared is Send with a message framed already.
func (ps *PubSub) SendPrepared(c *wss.Conn, pm *wss.PreparedMessage) error {
	ps.mu.Lock()
	if ps.closed {
		ps.mu.Unlock()
		return ErrClosed
	}
	s := ps.subscriberLocked(c)
	ps.mu.Unlock()
	if s.enqueue(pm) {
		ps.evict([]*subscriber{s})
	}
	return nil
}

// CloseWhenSent closes c with code once what is queued for it now has been
// written: for a last message that must reach the peer before the close.
func (ps *PubSub) CloseWhenSent(c *wss.Conn, code wss.StatusCode) {
	ps.mu.Lock()
	s := ps.subscriberLocked(c)
	ps.mu.Unlock()
	s.mu.Lock()
	// A code out of uint16's range is invalid: Close refuses it at once.
	idle := !s.scheduled || code != wss.StatusCode(uint16(code))
	if !idle {
		s.closeAt = uint16(code)
	}
	s.mu.Unlock()
	if idle {
		_ = c.Close(code, "")
	}
}

// Buffered returns the messages and bytes c holds unsent, the figure
// Options.MaxQueueBytes bounds: the messages queued here and those handed
// to c and not yet all in the kernel; the bytes queued here plus what c
// holds unsent (c.Buffered), where the messages handed count whole.
func (ps *PubSub) Buffered(c *wss.Conn) (messages, bytes int) {
	ps.mu.RLock()
	s := ps.subs[c]
	ps.mu.RUnlock()
	if s == nil {
		return 0, 0
	}
	return s.buffered()
}

// Subscribers returns the number of this node's subscribers of topic.
func (ps *PubSub) Subscribers(name string) int {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	if t := ps.topics[name]; t != nil {
		return len(t.subs)
	}
	return 0
}

// Topics returns the topics c is subscribed to, in no particular order.
func (ps *PubSub) Topics(c *wss.Conn) []string {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	s := ps.subs[c]
	if s == nil {
		return nil
	}
	return s.topics.names()
}

// Stats returns the counters.
func (ps *PubSub) Stats() Stats {
	return Stats{
		Published:  ps.published.Load(),
		Received:   ps.received.Load(),
		Queued:     ps.queued.Load(),
		Dropped:    ps.dropped.Load(),
		Overflowed: ps.overflowed.Load(),
	}
}

// Handler wraps h so that its connection leaves all its topics when it
// closes, before h.OnClose is called. The wrapper keeps h's OnOpen, OnPing,
// OnPong and OnDrain. (A FragmentHandler's messages arrive whole through
// the wrapper: wrap it another way to keep them in pieces.)
func (ps *PubSub) Handler(h wss.Handler) wss.Handler {
	f := wss.HandlerFuncs{
		Frame: h.OnFrame,
		Close: func(c *wss.Conn, status wss.StatusCode) {
			ps.UnsubscribeAll(c)
			h.OnClose(c, status)
		},
	}
	if oh, ok := h.(wss.OpenHandler); ok {
		f.Open = oh.OnOpen
	}
	if ph, ok := h.(wss.PingHandler); ok {
		f.Ping = ph.OnPing
	}
	if ph, ok := h.(wss.PongHandler); ok {
		f.Pong = ph.OnPong
	}
	if dh, ok := h.(wss.DrainHandler); ok {
		f.Drain = dh.OnDrain
	}
	return f
}

// evict removes subscribers that overflowed from all their topics.
func (ps *PubSub) evict(over []*subscriber) {
	for _, s := range over {
		ps.overflowed.Add(1)
		ps.mu.Lock()
		gone := ps.removeLocked(s)
		ps.mu.Unlock()
		for _, name := range gone {
			ps.backplaneInterest(name)
		}
	}
}

// subscriberLocked returns c's subscriber, creating it. ps.mu must be held.
func (ps *PubSub) subscriberLocked(c *wss.Conn) *subscriber {
	s := ps.subs[c]
	if s == nil {
		s = newSubscriber(ps, c)
		ps.subs[c] = s
	}
	return s
}

// topicLocked returns topic name, creating it; first reports whether it
// was created. ps.mu must be held.
func (ps *PubSub) topicLocked(name string) (t *topic, first bool) {
	t = ps.topics[name]
	if t == nil {
		t = &topic{name: name, listeners: make(map[*listener]struct{})}
		ps.topics[name] = t
		first = true
	}
	return t, first
}

// leaveLocked removes s from topic name and reports whether the topic lost
// its last local interest. ps.mu must be held.
func (ps *PubSub) leaveLocked(s *subscriber, name string) bool {
	i, ok := s.topics.get(name)
	if !ok {
		return false
	}
	s.topics.remove(name)
	t := ps.topics[name]
	delete(t.catchup, s)
	delete(t.replayed, s)
	last := len(t.subs) - 1
	if i != last {
		moved := t.subs[last]
		t.subs[i] = moved
		moved.topics.set(name, i)
	}
	t.subs[last] = nil
	t.subs = t.subs[:last]
	return ps.dropIfEmptyLocked(t)
}

// removeLocked removes s from all its topics and from the PubSub, and
// returns the topics that lost their last local interest. ps.mu must be held.
func (ps *PubSub) removeLocked(s *subscriber) (gone []string) {
	for _, name := range s.topics.names() {
		if ps.leaveLocked(s, name) {
			gone = append(gone, name)
		}
	}
	if ps.subs[s.c] == s {
		delete(ps.subs, s.c)
	}
	return gone
}

// dropIfEmptyLocked forgets t if nothing here listens to it any more.
func (ps *PubSub) dropIfEmptyLocked(t *topic) bool {
	if t.empty() && ps.topics[t.name] == t {
		delete(ps.topics, t.name)
		return true
	}
	return false
}

// backplaneInterest tells the backplane whether this node now has an
// interest in topic name. It reads the current state under ps.interest, so
// racing changes settle on the last state.
func (ps *PubSub) backplaneInterest(name string) {
	bp := ps.opts.Backplane
	if bp == nil {
		return
	}
	ps.interest.Lock()
	defer ps.interest.Unlock()
	ps.mu.RLock()
	_, want := ps.topics[name]
	ps.mu.RUnlock()
	var err error
	if want {
		err = bp.Subscribe(name)
	} else {
		err = bp.Unsubscribe(name)
	}
	if err != nil {
		ps.log.Warn("pubsub: backplane interest change failed", "topic", name, "subscribe", want, "err", err)
	}
}
