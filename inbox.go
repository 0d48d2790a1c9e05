package wss

import (
	"context"
	"sync"
)

// Inbox is a Handler that queues messages for a blocking Read, for code
// that prefers pulling messages to callbacks, such as clients and tests.
// While the queue is full the connection is not read: a fast peer is
// slowed down, never buffered without bound, and only this connection
// waits. In goroutine mode and with OffLoop, OnFrame blocks its reader;
// on an event loop it must not block the loop, which serves other
// connections, so it keeps the message that did not fit and the loop
// holds that connection's input until Read makes room. Read until Read
// returns an error, or close the connection. One Inbox serves one
// connection; Read and Status are safe for concurrent use.
type Inbox struct {
	msgs chan Message
	done chan struct{}
	end  CloseError // how the connection ended, once done is closed

	mu   sync.Mutex // orders OnFrame's overflow with Read's refill
	held []Message  // on an event loop: messages that did not fit, in order
	conn *Conn      // the connection whose input is held, while held != nil
}

// Message is one message taken from an Inbox; Data is owned by the caller.
type Message struct {
	// Data is the message's payload, a copy the Inbox no longer touches.
	Data []byte
	// Type is Text or Binary.
	Type MessageType
}

// NewInbox returns an Inbox that queues up to size messages (at least 1).
func NewInbox(size int) *Inbox {
	return &Inbox{msgs: make(chan Message, max(size, 1)), done: make(chan struct{})}
}

// OnFrame queues a copy of the message. With the queue full it blocks, or
// on an event loop keeps the message and holds c's input.
func (q *Inbox) OnFrame(c *Conn, data []byte, typ MessageType) {
	m := Message{Data: append([]byte(nil), data...), Type: typ}
	if c.wire().handlerMayBlock() {
		blockedReaders.send(c, q.msgs, m)
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.held) == 0 {
		select {
		case q.msgs <- m:
			return
		default:
		}
	}
	q.held = append(q.held, m)
	q.conn = c
	c.state.hold()
}

// refill moves held messages into the queue while it has room, and lets
// the connection's loop feed it again once none is left.
func (q *Inbox) refill() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.conn == nil {
		return
	}
	for len(q.held) > 0 {
		select {
		case q.msgs <- q.held[0]:
			q.held[0] = Message{}
			q.held = q.held[1:]
		default:
			return
		}
	}
	q.held = nil
	if q.conn.state.unhold() {
		q.conn.d.rearm(q.conn)
	}
	q.conn = nil
}

// OnClose records how the connection ended and wakes readers.
func (q *Inbox) OnClose(c *Conn, status StatusCode) {
	q.end = CloseError{Code: status}
	if e, ok := c.Err().(CloseError); ok {
		q.end = e
	}
	close(q.done)
}

// Read returns the next message. Once the connection has ended and every
// queued message was read, it returns the CloseError with the status
// OnClose got and the peer's reason (errors.Is(err, ErrClosed) holds).
// Safe for concurrent use.
func (q *Inbox) Read(ctx context.Context) (Message, error) {
	m, err := q.take(ctx)
	if err == nil {
		q.refill()
	}
	return m, err
}

// take returns the next queued message, or why there is none.
func (q *Inbox) take(ctx context.Context) (Message, error) {
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
			return Message{}, q.end
		}
	case <-ctx.Done():
		return Message{}, ctx.Err()
	}
}

// Status returns the status OnClose got, and whether the connection has
// ended.
func (q *Inbox) Status() (StatusCode, bool) {
	select {
	case <-q.done:
		return q.end.Code, true
	default:
		return 0, false
	}
}

// blockedReaders holds the wake-up of each connection whose reader waits
// in a full Inbox, so that dropping the connection ends the wait: nothing
// else would, as the reader does not read while it waits, and the
// connection could then never finish (its OnClose, Dispatcher.Close and
// Shutdown would wait for ever).
var blockedReaders blockedSet

type blockedSet struct{ m sync.Map } // *Conn → chan struct{}

// send queues m on msgs, waiting while msgs is full, until c is dropped;
// the message is then discarded with its connection.
func (b *blockedSet) send(c *Conn, msgs chan<- Message, m Message) {
	select {
	case msgs <- m:
		return
	default:
	}
	if !c.wire().onLoop {
		c.wire().leaveGoTurn(nil) // what the turn gathered must not wait for Read
	}
	wake := make(chan struct{})
	b.m.Store(c, wake)
	defer b.m.Delete(c)
	// A drop that set flagClosed before the Store did not see wake.
	if c.state.is(flagClosed) {
		return
	}
	select {
	case msgs <- m:
	case <-wake:
	}
}

// wake ends the wait of c's reader, if it waits; drop calls it once.
func (b *blockedSet) wake(c *Conn) {
	if w, ok := b.m.LoadAndDelete(c); ok {
		close(w.(chan struct{}))
	}
}
