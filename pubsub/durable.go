package pubsub

import (
	"context"
	"errors"
	"fmt"

	"github.com/wssgo/wss"
)

// ErrNoStore is returned by Append and SubscribeFrom on a PubSub without a
// Store.
var ErrNoStore = errors.New("pubsub: no store")

// Append stores a message on a durable topic. It returns once the message
// is queued for the Store; every subscriber of the topic on every node gets
// it once it is stored, rendered by Options.Render, with its ID. data is
// not retained.
func (ps *PubSub) Append(name string, data []byte, typ wss.MessageType) error {
	if ps.opts.Store == nil {
		return ErrNoStore
	}
	ps.published.Add(1)
	if err := ps.opts.Store.Append(name, data, typ); err != nil {
		return fmt.Errorf("pubsub: append to %q: %w", name, err)
	}
	return nil
}

// fromStore delivers a stored message to this node's subscribers.
func (ps *PubSub) fromStore(m Message) {
	ps.stored.Add(1)
	data, typ := ps.render(m)
	if err := ps.deliver(m.Topic, data, typ, m.ID); err != nil {
		ps.log.Warn("pubsub: stored message not delivered", "topic", m.Topic, "err", err)
	}
}

func (ps *PubSub) render(m Message) ([]byte, wss.MessageType) {
	if ps.opts.Render == nil {
		return m.Data, m.Type
	}
	return ps.opts.Render(m)
}

// Replay holds the optional hooks of SubscribeFrom.
type Replay struct {
	// Subscribed is called once the subscriber is in the topic (what is
	// published from then on is held for it) and before the store is
	// read: a snapshot of some state taken then, sent by Intro, misses
	// nothing that c does not then get as a message.
	Subscribed func()
	// Intro is called once before the replay with the number of messages
	// replayed and whether some were missed beyond recovery; the text
	// frames it returns are queued ahead of them. It runs under the
	// PubSub's lock: it must not call the PubSub.
	Intro func(replayed int, gap bool) [][]byte
}

// SubscribeFrom adds c to a durable topic and first queues for it the
// stored messages with an ID above after (after 0: all that are kept),
// then every later message, each once and in order, with the hooks of r
// (nil for none).
//
// If messages after after were dropped, c gets those still kept and the
// error wraps ErrGap. If the Store cannot be read, c is subscribed to what
// comes next and the error says why. Subscribing twice is the same as once.
func (ps *PubSub) SubscribeFrom(ctx context.Context, c *wss.Conn, name string, after uint64, r *Replay) error {
	if ps.opts.Store == nil {
		return ErrNoStore
	}
	if r == nil {
		r = &Replay{}
	}
	s, t, ok, err := ps.startCatchup(c, name)
	if !ok || err != nil {
		return err
	}
	if r.Subscribed != nil {
		r.Subscribed()
	}
	msgs, err := ps.opts.Store.Since(ctx, name, after)
	replay, trimmed := ps.replayFrames(msgs)
	gap := err != nil || trimmed
	if trimmed && err == nil {
		err = ErrGap
	}

	ps.mu.Lock()
	if _, still := s.topics.get(name); !still || ps.topics[name] != t {
		ps.mu.Unlock() // it left (or was evicted) meanwhile
		return nil
	}
	held := t.catchup[s]
	delete(t.catchup, s)
	over := false
	if r.Intro != nil {
		for _, b := range r.Intro(len(replay), gap) {
			if pm, perr := wss.NewPreparedMessage(b, wss.Text); perr == nil {
				over = s.enqueue(pm) || over
			}
		}
	}
	var last uint64
	for _, f := range replay {
		over = s.enqueue(f.pm) || over
		last = f.id
	}
	for _, f := range held {
		if f.id == 0 || f.id > last {
			over = s.enqueue(f.pm) || over
			last = max(last, f.id)
		}
	}
	if last > 0 {
		if t.replayed == nil {
			t.replayed = make(map[*subscriber]uint64)
		}
		t.replayed[s] = last
	}
	ps.mu.Unlock()
	if over {
		ps.evict([]*subscriber{s})
	}
	if err != nil {
		return fmt.Errorf("pubsub: history of %q: %w", name, err)
	}
	return nil
}

// startCatchup subscribes c to topic name with its frames held until its
// replay is queued. ok is false if c was subscribed already.
func (ps *PubSub) startCatchup(c *wss.Conn, name string) (s *subscriber, t *topic, ok bool, err error) {
	ps.mu.Lock()
	if ps.closed {
		ps.mu.Unlock()
		return nil, nil, false, ErrClosed
	}
	s = ps.subscriberLocked(c)
	if _, ok := s.topics.get(name); ok {
		ps.mu.Unlock()
		return nil, nil, false, nil
	}
	t, first := ps.topicLocked(name)
	s.topics.set(name, len(t.subs))
	t.subs = append(t.subs, s)
	if t.catchup == nil {
		t.catchup = make(map[*subscriber][]heldFrame)
	}
	t.catchup[s] = nil
	ps.mu.Unlock()
	if first {
		ps.backplaneInterest(name)
	}
	return s, t, true, nil
}

// replayFrames renders and frames msgs, keeping the newest that fit in
// MaxReplayBytes; trimmed reports whether older ones were left out.
func (ps *PubSub) replayFrames(msgs []Message) (frames []heldFrame, trimmed bool) {
	frames = make([]heldFrame, 0, len(msgs))
	for _, m := range msgs {
		data, typ := ps.render(m)
		pm, err := wss.NewPreparedMessage(data, typ)
		if err != nil {
			ps.log.Warn("pubsub: stored message not replayed", "topic", m.Topic, "id", m.ID, "err", err)
			continue
		}
		frames = append(frames, heldFrame{id: m.ID, pm: pm})
	}
	size, start := 0, len(frames)
	for start > 0 && size+frames[start-1].pm.Len() <= ps.opts.MaxReplayBytes {
		start--
		size += frames[start].pm.Len()
	}
	return frames[start:], start > 0
}

// holdForCatchup keeps pm for the subscribers of t still catching up and
// returns them. ps.mu must be read-locked.
func (t *topic) holdForCatchup(id uint64, pm *wss.PreparedMessage) map[*subscriber]bool {
	t.catchMu.Lock()
	defer t.catchMu.Unlock()
	if len(t.catchup) == 0 {
		return nil
	}
	held := make(map[*subscriber]bool, len(t.catchup))
	for s, frames := range t.catchup {
		t.catchup[s] = append(frames, heldFrame{id: id, pm: pm})
		held[s] = true
	}
	return held
}

// replayedAlready reports whether stored message id reached s in its
// replay, and forgets the replay's end once delivery has passed it. ps.mu
// must be read-locked.
func (t *topic) replayedAlready(s *subscriber, id uint64) bool {
	if id == 0 {
		return false
	}
	t.catchMu.Lock()
	defer t.catchMu.Unlock()
	last, ok := t.replayed[s]
	if !ok {
		return false
	}
	if id >= last {
		delete(t.replayed, s)
	}
	return id <= last
}
