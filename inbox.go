package wss

import (
	"context"
	"fmt"
)

// Inbox is a Handler that queues messages for a blocking Read, for code
// that prefers pulling messages to callbacks, such as clients and tests.
// OnFrame blocks while the queue is full, which stops reading the
// connection: a fast peer is slowed down, never buffered without bound.
// Read until Read returns an error, or close the connection.
type Inbox struct {
	msgs   chan Message
	done   chan struct{}
	status int
}

// Message is one message taken from an Inbox; Data is owned by the caller.
type Message struct {
	Data []byte
	Text bool
}

// NewInbox returns an Inbox that queues up to size messages (at least 1).
func NewInbox(size int) *Inbox {
	return &Inbox{msgs: make(chan Message, max(size, 1)), done: make(chan struct{})}
}

// OnFrame queues a copy of the message.
func (q *Inbox) OnFrame(_ *Conn, data []byte, text bool) {
	q.msgs <- Message{Data: append([]byte(nil), data...), Text: text}
}

// OnClose records the status and wakes readers.
func (q *Inbox) OnClose(_ *Conn, status int) {
	q.status = status
	close(q.done)
}

// Read returns the next message. Once the connection has ended and every
// queued message was read, it returns an error wrapping ErrClosed that
// names the status OnClose got. Safe for concurrent use.
func (q *Inbox) Read(ctx context.Context) (Message, error) {
	select {
	case m := <-q.msgs:
		return m, nil
	default:
	}
	select {
	case m := <-q.msgs:
		return m, nil
	case <-q.done:
		select {
		case m := <-q.msgs:
			return m, nil
		default:
			return Message{}, fmt.Errorf("%w: status %d", ErrClosed, q.status)
		}
	case <-ctx.Done():
		return Message{}, ctx.Err()
	}
}

// Status returns the status OnClose got, and whether the connection has
// ended.
func (q *Inbox) Status() (int, bool) {
	select {
	case <-q.done:
		return q.status, true
	default:
		return 0, false
	}
}
