package wss

import (
	"net"

	"github.com/wssgo/wss/internal/poll"
)

// The connection's socket is one of two kinds, fixed before it is
// connected: a net.Conn read by a goroutine of its own (goroutine mode), or
// a bare descriptor polled by an event loop (w.onLoop; eventloop_linux.go).
// This file is the only place outside the dispatcher's choice of mode that
// tells them apart.

// sendBytes hands a frame to the socket; c.wmu must be held. In c's turn
// (flagTurn) the frame is gathered (gather.go, cork_linux.go); otherwise a
// goroutine-mode write blocks here, and an event-loop one may return the
// channel to wait on (see transmit), unless noWait.
func (w *wire) sendBytes(hdr, payload []byte, noWait bool) (<-chan error, error) {
	if w.onLoop {
		return w.sendFD(hdr, payload, noWait)
	}
	return nil, w.gatherOrSend(hdr, payload)
}

// joinPlain adds a small plain frame to what c's turn gathered, encoding
// its header in place, and reports whether it did (see corkPlain and
// gatherPlain); the caller sends any other frame. c.wmu must be held and c
// in its turn.
func (w *wire) joinPlain(o *outgoing) bool {
	if w.onLoop {
		return w.corkPlain(o)
	}
	return w.gatherPlain(o)
}

// sendPastTurn hands a frame that must not join c's turn to the socket
// after what the turn gathered, for a writer that waits for its own
// bytes; c.wmu must be held and c in its turn. Such a writer's bytes never
// count as the turn's output: they do not stop an event loop reading c
// (outQueue.unowned), nor hand goroutine mode's reader the wait for them.
func (w *wire) sendPastTurn(hdr, payload []byte) (<-chan error, error) {
	if w.onLoop {
		return w.sendFDPastTurn(hdr, payload)
	}
	return nil, w.sendGathered(hdr, payload)
}

// writeMayBlock reports whether a write to c may wait for its peer: in
// goroutine mode; an event-loop connection's writer on a loop queues.
func (w *wire) writeMayBlock() bool { return !w.onLoop }

// handlerMayBlock reports whether a handler of c may block without
// stalling other connections: in goroutine mode, or with OffLoop, where a
// goroutine reads one connection at a time. On an event loop a handler
// that cannot take input holds it instead (connState.hold).
func (w *wire) handlerMayBlock() bool { return !w.onLoop || w.d.offLoop }

// closeSocket closes the socket, without blocking: in event-loop mode it
// shuts it down, which wakes the loop to finish c, as only the loop may
// let go of a descriptor it polls.
func (w *wire) closeSocket() {
	if w.onLoop {
		w.fd.Shutdown(poll.ShutBoth)
		if w.state.is(flagHeld) { // its loop does not wait for it: wake it to finish
			w.d.rearm(w.conn())
		}
	} else {
		_ = w.conn().netConn().Close()
	}
}

// closeWrite shuts the sending side down: the peer reads end of input
// after our last frame, while we still read its answer.
func (w *wire) closeWrite() {
	if w.onLoop {
		w.fd.Shutdown(poll.ShutWrite)
	} else if cw, ok := w.conn().netConn().(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// peerAddr returns the peer's address; an event-loop socket is asked, so
// it is nil once c has let go of its descriptor.
func (w *wire) peerAddr() net.Addr {
	if w.onLoop {
		return w.fd.PeerAddr()
	}
	return w.conn().netConn().RemoteAddr()
}

// leaveLoop takes an ending c out of its loop's table and fails the output
// still queued; the descriptor stays open until letGo.
func (w *wire) leaveLoop() {
	if w.onLoop {
		w.conn().detach()
	}
}

// letGo closes an event-loop descriptor once no goroutine uses it; c has
// ended, or was never registered with a loop.
func (w *wire) letGo() {
	if w.onLoop {
		w.fd.LetGo()
	}
}
