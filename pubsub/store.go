package pubsub

import (
	"context"
	"errors"
	"time"

	"github.com/wssgo/wss"
)

// Message is one message of a durable topic, as a Store keeps it.
type Message struct {
	Topic string
	// ID is the message's position in its Store: IDs increase with every
	// message appended, across all topics, and are never reused. A
	// subscriber that saw ID n resumes with SubscribeFrom(…, n, …).
	ID uint64
	// Prev is the ID of the message before this one in its topic when it
	// was appended, or 0 if the topic held none. It chains a topic's
	// messages, so a reader can tell a complete run from one with a hole.
	Prev uint64
	Data []byte
	Type wss.MessageType
}

// Limits bound what a Store keeps; a zero field means no bound. The oldest
// messages go first.
type Limits struct {
	PerTopic int           // messages kept per topic
	MaxBytes int64         // bytes of message data kept in all topics together
	MaxAge   time.Duration // how long a message is kept
}

// ErrGap says that some of the messages asked for are no longer kept: the
// messages returned with it are the ones after the hole.
var ErrGap = errors.New("pubsub: messages missed were dropped from the history")

// Store keeps the recent messages of durable topics for every node that
// shares it, and delivers each new message to every node once, in ID order.
// A PubSub with Options.Store uses it for Append and SubscribeFrom.
// Implementations are safe for concurrent use.
type Store interface {
	// Start begins delivering the messages appended from now on, by any
	// node, to deliver, which is called for one message at a time, in ID
	// order; m.Data is valid only during the call.
	Start(deliver func(m Message)) error
	// Append queues a message for the store and returns; it is delivered
	// (to this node too) once stored. The messages of one node are stored in
	// the order it appended them, each once, retried through outages. An
	// error means it was not queued (the store is closed or its queue full).
	Append(topic string, data []byte, typ wss.MessageType) error
	// Since returns the kept messages of topic with an ID above after,
	// oldest first (after 0: all kept). If messages after it were dropped,
	// it returns those kept and an error wrapping ErrGap.
	Since(ctx context.Context, topic string, after uint64) ([]Message, error)
	// Close stops delivery; appends still queued are given up to a second.
	Close() error
}

// CheckRun reports ErrGap if msgs, a topic's kept messages above after in
// ID order, do not start right after it. For Store implementations.
func CheckRun(after uint64, msgs []Message) error {
	if after > 0 && len(msgs) > 0 && msgs[0].Prev != after {
		return ErrGap
	}
	return nil
}
