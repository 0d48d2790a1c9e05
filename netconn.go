package wss

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// netConnQueue is how many messages a NetConn queues before its
// connection is no longer read.
const netConnQueue = 8

// NetConn is a net.Conn over a WebSocket connection, for tunnels and
// libraries that take a net.Conn. It is the connection's Handler: give it
// to Dial, New or the function that chooses a Handler, then read and write
// it as a stream. Each Write sends one binary message; Read returns the
// bytes of the messages received, text or binary, in order and across
// message boundaries. The zero value is ready to use; a NetConn serves one
// connection and must not be copied after first use.
//
// Up to 8 messages wait for Read; while they do, the connection is not
// read (on an event loop only this connection is held, as with an Inbox),
// so memory stays bounded by 8 times Config.MaxMessageSize.
//
// Its methods are safe for concurrent use. Deadlines follow net.Conn: an
// expired one makes Read and Write fail with an error that wraps
// os.ErrDeadlineExceeded, also for calls blocked at the time. A write
// deadline that passes while a message is being sent drops the
// connection, as a frame cannot be taken back. Read returns io.EOF once
// the peer closed with 1000, 1001 or no code; Close sends a close frame
// with 1000 and returns without waiting for the peer's.
type NetConn struct {
	once   sync.Once
	in     *Inbox
	rsem   chan struct{} // held by the one Read that takes messages
	rest   []byte        // the unread part of the current message; guarded by rsem
	opened chan struct{} // closed by OnOpen, once conn and the addresses are set
	closed context.Context
	close  context.CancelFunc // called once, by Close
	rd, wd deadline

	conn          *Conn
	local, remote net.Addr
}

func (n *NetConn) init() {
	n.once.Do(func() {
		n.in = NewInbox(netConnQueue)
		n.rsem = make(chan struct{}, 1)
		n.opened = make(chan struct{})
		n.closed, n.close = context.WithCancel(context.Background())
		n.rd.parent = n.closed // Close wakes blocked reads
		n.wd.parent = context.Background()
	})
}

// OnOpen records c; Write waits for it. It is called by the connection.
func (n *NetConn) OnOpen(c *Conn) {
	n.init()
	n.conn, n.local, n.remote = c, localAddr(c), c.RemoteAddr()
	close(n.opened)
	if n.closed.Err() != nil {
		_ = c.Close(StatusNormalClosure, "") // closed before it opened
	}
}

// OnFrame queues the message for Read. It is called by the connection.
func (n *NetConn) OnFrame(c *Conn, data []byte, typ MessageType) {
	n.init()
	n.in.OnFrame(c, data, typ)
}

// OnClose ends reading once the queued messages are read. It is called by
// the connection.
func (n *NetConn) OnClose(c *Conn, status StatusCode) {
	n.init()
	n.in.OnClose(c, status)
}

// Read reads the bytes of the messages received, across message
// boundaries.
func (n *NetConn) Read(p []byte) (int, error) {
	n.init()
	ctx := n.rd.context()
	select {
	case n.rsem <- struct{}{}:
	case <-ctx.Done():
		return 0, n.ioError("read", nil)
	}
	defer func() { <-n.rsem }()
	for len(n.rest) == 0 {
		if ctx.Err() != nil {
			return 0, n.ioError("read", nil)
		}
		m, err := n.in.Read(ctx)
		if err != nil {
			return 0, n.ioError("read", err)
		}
		n.rest = m.Data
	}
	k := copy(p, n.rest)
	if n.rest = n.rest[k:]; len(n.rest) == 0 {
		n.rest = nil // let the message go
	}
	return k, nil
}

// Write sends p as one binary message. Before the connection is open it
// waits for OnOpen, the write deadline or Close.
func (n *NetConn) Write(p []byte) (int, error) {
	n.init()
	ctx := n.wd.context()
	select {
	case <-n.opened:
	case <-ctx.Done():
		return 0, n.ioError("write", nil)
	case <-n.closed.Done():
		return 0, n.ioError("write", nil)
	}
	switch {
	case n.closed.Err() != nil || ctx.Err() != nil:
		return 0, n.ioError("write", nil)
	case len(p) == 0:
		return 0, nil
	}
	c := n.conn
	stop := context.AfterFunc(ctx, func() { c.drop(StatusWriteTimeout) })
	// Never a handler of c: its messages need not join c's turns, and
	// must not count as their output, which stops reading c while it
	// waits for the peer (outQueue.unowned): two NetConns that copy to
	// each other would each wait for the other to read.
	err := c.write(p, Binary, true)
	if !stop() {
		return 0, n.ioError("write", nil)
	}
	if err != nil {
		return 0, n.ioError("write", err)
	}
	return len(p), nil
}

// ioError is the error of a failed Read or Write: err, or if it is nil
// why the call could not wait (Close, or the deadline of ctx), as a
// *net.OpError. A peer's clean close is io.EOF.
func (n *NetConn) ioError(op string, err error) error {
	switch {
	case n.closed.Err() != nil:
		err = net.ErrClosed
	case err == nil || errors.Is(err, context.Canceled):
		err = os.ErrDeadlineExceeded
	case op == "read" && errors.Is(err, ErrClosed):
		switch status, _ := n.in.Status(); status {
		case StatusNormalClosure, StatusGoingAway, StatusNoStatus:
			return io.EOF
		}
	}
	return &net.OpError{Op: op, Net: "websocket", Source: n.LocalAddr(), Addr: n.RemoteAddr(), Err: err}
}

// Close sends a close frame with 1000, or does once the connection opens,
// and makes blocked and later Reads and Writes fail with net.ErrClosed.
// Closing again returns net.ErrClosed.
func (n *NetConn) Close() error {
	n.init()
	if n.closed.Err() != nil {
		return net.ErrClosed
	}
	n.close()
	select {
	case <-n.opened:
	default:
		return nil // OnOpen closes the connection
	}
	if err := n.conn.Close(StatusNormalClosure, ""); err != nil && !errors.Is(err, ErrClosed) {
		return err
	}
	return nil
}

// LocalAddr returns the connection's local address, or nil before it is
// open.
func (n *NetConn) LocalAddr() net.Addr {
	if n.isOpen() {
		return n.local
	}
	return nil
}

// RemoteAddr returns the peer's address, or nil before the connection is
// open.
func (n *NetConn) RemoteAddr() net.Addr {
	if n.isOpen() {
		return n.remote
	}
	return nil
}

func (n *NetConn) isOpen() bool {
	n.init()
	select {
	case <-n.opened:
		return true
	default:
		return false
	}
}

// SetDeadline sets the read and write deadlines.
func (n *NetConn) SetDeadline(t time.Time) error {
	n.init()
	n.rd.set(t)
	n.wd.set(t)
	return nil
}

// SetReadDeadline sets the deadline of Read calls, blocked ones included;
// the zero time means none.
func (n *NetConn) SetReadDeadline(t time.Time) error {
	n.init()
	n.rd.set(t)
	return nil
}

// SetWriteDeadline sets the deadline of Write calls, blocked ones
// included; the zero time means none.
func (n *NetConn) SetWriteDeadline(t time.Time) error {
	n.init()
	n.wd.set(t)
	return nil
}

// localAddr returns c's local address.
func localAddr(c *Conn) net.Addr {
	if c.onLoop {
		return c.fd.LocalAddr()
	}
	return c.netConn().LocalAddr()
}

// deadline is one deadline of a NetConn as a context, canceled when the
// deadline passes (or its parent is canceled); a later deadline replaces
// an expired context with a new one.
type deadline struct {
	parent context.Context
	mu     sync.Mutex
	ctx    context.Context
	cancel context.CancelFunc
	timer  *time.Timer
}

// context returns the context of the current deadline.
func (d *deadline) context() context.Context {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx == nil {
		d.ctx, d.cancel = context.WithCancel(d.parent)
	}
	return d.ctx
}

// set moves the deadline to t; the zero time means none.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.ctx.Done() // the timer fired: wait for its cancel
	}
	d.timer = nil
	if d.ctx == nil || d.ctx.Err() != nil {
		d.ctx, d.cancel = context.WithCancel(d.parent)
	}
	if t.IsZero() {
		return
	}
	wait := time.Until(t)
	if wait <= 0 {
		d.cancel()
		return
	}
	d.timer = time.AfterFunc(wait, d.cancel)
}
