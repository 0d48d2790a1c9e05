package wss

import (
	"net"

	"github.com/wssgo/wss/internal/poll"
)

// The connection's socket is one of two kinds, fixed before it is
// connected: a net.Conn read by a goroutine of its own (goroutine mode), or
// a bare descriptor polled by an event loop (c.onLoop; eventloop_linux.go).
// This file is the only place outside the dispatcher's choice of mode that
// tells them apart.

// sendBytes hands a frame to the socket; c.wmu must be held. A goroutine
// mode write blocks here; an event-loop one may return the channel to wait
// on (see transmit), unless noWait or the loop is in c's turn.
func (c *Conn) sendBytes(hdr, payload []byte, noWait bool) (<-chan error, error) {
	if c.onLoop {
		return c.sendFD(hdr, payload, noWait)
	}
	return nil, c.sendOrDrop(hdr, payload)
}

// writeMayBlock reports whether a write to c may wait for its peer: in
// goroutine mode; an event-loop connection's writer on a loop queues.
func (c *Conn) writeMayBlock() bool { return !c.onLoop }

// handlerMayBlock reports whether a handler of c may block without
// stalling other connections: in goroutine mode, or with OffLoop, where a
// goroutine reads one connection at a time. On an event loop a handler
// that cannot take input holds it instead (connState.hold).
func (c *Conn) handlerMayBlock() bool { return !c.onLoop || c.d.offLoop }

// closeSocket closes the socket, without blocking: in event-loop mode it
// shuts it down, which wakes the loop to finish c, as only the loop may
// let go of a descriptor it polls.
func (c *Conn) closeSocket() {
	if c.onLoop {
		c.fd.Shutdown(poll.ShutBoth)
	} else {
		_ = c.netConn().Close()
	}
}

// closeWrite shuts the sending side down: the peer reads end of input
// after our last frame, while we still read its answer.
func (c *Conn) closeWrite() {
	if c.onLoop {
		c.fd.Shutdown(poll.ShutWrite)
	} else if cw, ok := c.netConn().(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// peerAddr returns the peer's address; an event-loop socket is asked, so
// it is nil once c has let go of its descriptor.
func (c *Conn) peerAddr() net.Addr {
	if c.onLoop {
		return c.fd.PeerAddr()
	}
	return c.netConn().RemoteAddr()
}

// leaveLoop takes an ending c out of its loop's table and fails the output
// still queued; the descriptor stays open until letGo.
func (c *Conn) leaveLoop() {
	if c.onLoop {
		c.detach()
	}
}

// letGo closes an event-loop descriptor once no goroutine uses it; c has
// ended, or was never registered with a loop.
func (c *Conn) letGo() {
	if c.onLoop {
		c.fd.LetGo()
	}
}
