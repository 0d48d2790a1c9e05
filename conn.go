package wss

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/wssgo/wss/internal/frame"
	"github.com/wssgo/wss/internal/poll"
)

// Conn is one WebSocket connection: Dial makes one, and Dispatcher.Serve
// and HTTPHandler make one for each request their newHandler takes, which
// its Handler first sees in OnOpen. Its methods are safe for concurrent use.
type Conn struct {
	h   Handler
	d   *Dispatcher
	cfg *Config

	aside *connAside // what only some connections need; nil for the others

	rd   reader  // receive state, used only by the dispatcher
	live *stamps // timeout stamps, see timeouts.go; nil without timeouts

	wmu sync.Mutex // serializes frames on the wire

	// Event-loop mode (see eventloop_linux.go): the socket is a bare file
	// descriptor, and output the kernel did not take waits in out.
	out    atomic.Pointer[outQueue] // guarded by wmu; loaded without it as a hint
	fd     poll.FD                  // the descriptor and who uses it
	state  connState                // its lifecycle and the status OnClose will get: state.go
	onLoop bool                     // served by an event loop, through fd
	client bool                     // frames sent are masked, frames received are not
	proto  uint8                    // the subprotocol: 1 + its index in cfg.Subprotocols; 0: none
}

// connAside holds what only some connections need, so that an idle
// event-loop connection without compression does not carry it: a Conn is
// 128 bytes, and every byte of it counts for a server with a million
// connections. connect sets it before the connection counts as connected,
// and it does not change afterwards, so it is read without a lock.
type connAside struct {
	nc    net.Conn // the socket in goroutine mode
	dfl   *deflate // permessage-deflate state
	proto string   // the subprotocol when Conn.proto is otherProto

	// Goroutine mode's output not yet in the kernel (gather.go).
	gather   *[]byte                // gathered in the connection's turns; guarded by Conn.wmu
	unsent   atomic.Int64           // bytes gathered or being written, for Buffered
	flushing atomic.Bool            // a flusher goroutine is on its way to write what is gathered
	pong     atomic.Pointer[[]byte] // the payload of a pong the reader owes, for the flusher
	flush    func()                 // flushWhenFree, made once, by the reader
}

// netConn returns the socket of a goroutine-mode connection, else nil.
func (c *Conn) netConn() net.Conn {
	if a := c.aside; a != nil {
		return a.nc
	}
	return nil
}

// dfl returns the permessage-deflate state, or nil without compression.
func (c *Conn) dfl() *deflate {
	if a := c.aside; a != nil {
		return a.dfl
	}
	return nil
}

// newConn returns a connection that will call h and be served by d (nil
// means the default Dispatcher) with the settings of cfg (nil means the
// defaults); nothing happens until connect.
func newConn(h Handler, d *Dispatcher, cfg *Config) *Conn {
	if d == nil {
		d = defaultDispatcher()
	}
	c := &Conn{d: d, cfg: cfg.orDefault()}
	c.setHandler(h)
	return c
}

// setHandler makes h the Handler of c, before c is open.
func (c *Conn) setHandler(h Handler) {
	c.h = h
	if _, pieces := h.(FragmentHandler); pieces {
		c.state.clear(flagWhole)
	} else {
		c.state.set(flagWhole)
	}
}

// connect starts serving nc, whose opening handshake has completed: an
// upgradedConn (its subprotocol, compression and any bytes the peer sent
// early carry over), or Dial's. The Conn owns nc from then on. An error
// means c was never served: its Handler had no call.
func (c *Conn) connect(nc net.Conn) error {
	var pending []byte
	var dfl *deflate
	var proto string
	c.wmu.Lock()
	if u, ok := nc.(*upgradedConn); ok {
		nc, pending, dfl, proto = u.Conn, u.pending, u.deflate, u.subprotocol
	}
	accepted := nc // as net/http accepted it: it may hold a slot since then
	// A TCP connection of an event-loop Dispatcher leaves goroutine mode
	// before it is connected, so that no Write sees it change.
	if tc, ok := nc.(*net.TCPConn); ok && c.d.loops != nil {
		if err := c.takeSocket(tc); err != nil {
			c.wmu.Unlock()
			nc.Close()
			c.d.forgetAccepted(accepted, true)
			return fmt.Errorf("wss: connect: %w", err)
		}
		nc = nil // the socket is c.fd now
	}
	if nc != nil || dfl != nil {
		c.aside = &connAside{nc: nc, dfl: dfl}
	}
	c.setSubprotocol(proto)
	c.state.markOpen()
	c.wmu.Unlock()
	err := c.d.admit(c, accepted)
	if err == nil {
		err = c.d.serve(c, pending)
	}
	if err != nil {
		// Refused after the handshake: say why in a close frame.
		c.d.obs.refused(err, c.wire().peerAddr())
		switch {
		case errors.Is(err, ErrShutdown):
			_ = c.sendClose(StatusGoingAway, "", false)
		case errors.Is(err, ErrTooManyConnections):
			_ = c.sendClose(StatusTryAgainLater, "", false)
		}
		c.drop(StatusConnLost)
		c.wire().letGo() // the socket was never registered with a loop
		c.d.unadmit(c)
		return fmt.Errorf("wss: connect: %w", err)
	}
	return nil
}

// IsValid reports whether the connection is open for sending: connected,
// with no close frame sent and the socket not closed.
func (c *Conn) IsValid() bool {
	return c.state.open()
}

// Subprotocol returns the subprotocol chosen in the handshake, or "".
func (c *Conn) Subprotocol() string {
	switch c.proto {
	case 0:
		return ""
	case otherProto:
		return c.aside.proto
	}
	return c.cfg.Subprotocols[c.proto-1]
}

// A connection stores its subprotocol as an index in its Config's list, to
// stay small; one past the index a byte holds is kept aside.
const otherProto = 255

// setSubprotocol records p; it runs before c counts as connected, after
// c.aside is set.
func (c *Conn) setSubprotocol(p string) {
	if p == "" {
		return
	}
	for i, s := range c.cfg.Subprotocols {
		if s == p && i+1 < otherProto {
			c.proto = uint8(i + 1)
			return
		}
	}
	c.proto = otherProto
	if c.aside == nil {
		c.aside = new(connAside)
	}
	c.aside.proto = p
}

// RemoteAddr returns the peer's network address, or nil before the connection is open.
// In event-loop mode the address is asked of the socket, so it is nil once
// the connection has ended (it is still there during OnClose).
func (c *Conn) RemoteAddr() net.Addr {
	if !c.state.is(flagConnected) {
		return nil
	}
	return c.wire().peerAddr()
}

// Write sends data as one message of type typ, Text or Binary. Text must
// be valid UTF-8 (ErrInvalidUTF8 otherwise). data is not retained. Safe for
// concurrent use; messages from concurrent calls are never interleaved,
// and go out in the order the calls took the connection's write lock.
//
// What its return means depends on where it runs:
//   - While the connection's reader feeds it input (its handlers, on an
//     event loop or on the connection's goroutine, and any goroutine's
//     Write meanwhile), the message joins what that turn gathers, which
//     goes out with one write once the input of the read is fed: Write
//     returns nil once the message is copied (a big payload is written at
//     once instead, with what was gathered before it: above 32 KiB, or
//     above 8 KiB when no more input follows). On an event loop, what the
//     socket does not take then waits in the connection's queue, where
//     nothing waits for the peer, and the loop reads no more of the
//     connection's input until the peer has taken it: a peer that does not
//     read holds one read's worth of answers, not more. A Write from
//     another goroutine that lands in the turn counts as the turn's; a
//     program that writes from other goroutines and must go on reading
//     whatever the peer does (a tunnel copying both ways) uses NetConn,
//     whose writes never join a turn.
//   - Otherwise Write blocks until the message is handed to the kernel, or
//     WriteTimeout passes; a timed-out write drops the connection and
//     returns an error wrapping os.ErrDeadlineExceeded.
//
// A failure to send a message after its Write returned nil (the peer took
// nothing for WriteTimeout, or the socket failed) drops the connection:
// OnClose reports StatusWriteTimeout or StatusConnLost, and later writes
// return the CloseError that says why (errors.Is ErrClosed). Buffered tells how much is accepted and not yet in the
// kernel; a DrainHandler learns when that is 0 again.
func (c *Conn) Write(data []byte, typ MessageType) error {
	return c.write(data, typ, false)
}

// write is Write; alone, for a writer that is never one of c's handlers,
// its message does not join a turn's batch (outgoing.alone).
func (c *Conn) write(data []byte, typ MessageType, alone bool) error {
	op, err := typ.opcode()
	if err != nil {
		return err
	}
	if op == opText && !frame.ValidUTF8(data) {
		return ErrInvalidUTF8
	}
	if !c.state.is(flagConnected) {
		return ErrClosed // and c.aside may not be set yet
	}
	how := plainFrame
	if dfl := c.dfl(); dfl != nil && dfl.compresses(len(data)) {
		how = compressedFrame
	}
	err = c.wire().transmitFrom(outgoing{op: op, how: how, payload: data, alone: alone})
	return closedErr(c, c.d.obs.sent(len(data), err))
}

// Ping sends a ping with the given payload (at most 125 bytes). Its pong
// reaches a PongHandler with the round trip time. On a connection that
// has ended it returns the CloseError that says why, or ErrClosed. data is
// not retained. Safe for concurrent use.
func (c *Conn) Ping(data []byte) error {
	if len(data) > frame.MaxControlPayload {
		return ErrControlTooLong
	}
	c.rd.pings.sending()
	return closedErr(c, c.wire().writeFrame(opPing, data))
}

// Close starts the closing handshake (RFC 6455 section 7): it sends a close
// frame with code and reason, then the connection waits up to CloseTimeout
// for the peer's close frame and closes the socket; OnClose follows. Close
// returns once the close frame is sent, so it never waits on the
// dispatcher and may be called from handlers. code must be one an endpoint
// may send (1000-1003, 1007-1014, 3000-4999), else ErrInvalidCloseCode;
// reason must be valid UTF-8 (ErrInvalidUTF8) of at most 123 bytes
// (ErrControlTooLong). On a connection already closing or ended it
// returns the CloseError that says why, or ErrClosed.
func (c *Conn) Close(code StatusCode, reason string) error {
	return closedErr(c, c.closeFrom(code, reason, false))
}

// closeFrom is Close; with noWait, for a writer that must never wait for
// the peer (the sweeper): see writeFrameNoWait.
func (c *Conn) closeFrom(code StatusCode, reason string, noWait bool) error {
	if !validCloseCode(code) {
		return fmt.Errorf("%w: %d", ErrInvalidCloseCode, int(code))
	}
	if err := checkCloseReason(reason); err != nil {
		return err
	}
	if c.state.is(flagUpgrading) {
		c.drop(StatusConnLost) // no WebSocket yet to say goodbye on
		return nil
	}
	if err := c.sendClose(code, reason, noWait); err != nil {
		return err
	}
	c.d.startCloseTimer(c)
	return nil
}

// sendClose sends a close frame with code and a checked reason.
func (c *Conn) sendClose(code StatusCode, reason string, noWait bool) error {
	var buf [frame.MaxControlPayload]byte
	p := putClosePayload(&buf, code, reason)
	if noWait {
		return c.wire().writeFrameNoWait(opClose, p)
	}
	return c.wire().writeFrame(opClose, p)
}

// onPing answers a ping with a pong carrying the same payload (RFC 6455
// section 5.5.2), then tells the handler.
func (c *Conn) onPing(p []byte) {
	if c.wire().sendPong(p) != nil {
		return
	}
	if ph, ok := c.h.(PingHandler); ok {
		ph.OnPing(c, p)
	}
}

// onCloseFrame handles the peer's close frame: it keeps the peer's reason
// for Err, answers with the same code unless a close frame was already sent
// (RFC 6455 section 5.5.1), then closes the socket, as the server is the
// side that closes TCP first.
func (c *Conn) onCloseFrame(p []byte) {
	code, reason, fail := parseClosePayload(p)
	if fail != 0 {
		c.fail(fail)
		return
	}
	c.rd.draining = true
	peerReasons.keep(c, reason)
	if !c.state.setStatus(code) && len(reason) > 0 {
		peerReasons.forget(weak.Make(c)) // ended by another cause first
	}
	if code == StatusNoStatus {
		p = nil
	}
	_ = c.wire().writeFrame(opClose, p[:min(len(p), 2)])
	if c.client {
		c.d.startCloseTimer(c) // the server closes TCP first (RFC 6455 section 7.1.1)
		return
	}
	c.drop(code)
}

// fail fails the connection (RFC 6455 section 7.1.7): it sends a close frame
// with code, stops reading frames, and closes once the peer has closed its
// side or CloseTimeout has passed, so the close frame is not lost to a reset.
func (c *Conn) fail(code StatusCode) {
	c.rd.draining = true
	c.state.setStatus(failStatus(code))
	_ = c.sendClose(code, "", false)
	c.wire().closeWrite()
	c.d.startCloseTimer(c)
}

// failStatus maps the close code sent to a failing peer to OnClose's status.
func failStatus(code StatusCode) StatusCode {
	switch code {
	case StatusInvalidData:
		return StatusInvalidUTF8
	case StatusMessageTooBig:
		return StatusTooBig
	}
	return StatusProtocolViolation
}

// drop records status, unless one was recorded before, and closes the
// socket; the dispatcher then calls finish. It never blocks: in event-loop
// mode it shuts the socket down, which wakes the loop to finish c, as only
// the loop may close a descriptor it polls.
func (c *Conn) drop(status StatusCode) {
	c.state.setStatus(status)
	if c.state.setFirst(flagClosed) {
		c.wire().closeSocket()
		blockedReaders.wake(c)
	}
}

// finish is called once by the dispatcher when it stops reading c.
func (c *Conn) finish() {
	c.drop(StatusConnLost)
	if dfl := c.dfl(); dfl != nil {
		c.wmu.Lock()
		dfl.release()
		c.wmu.Unlock()
	}
	c.rd.release()
	streams.release(c) // its writers waiting for a fragmented message go on
	c.wire().leaveLoop()
	c.d.remove(c)
	c.d.obs.ended(c)
	c.h.OnClose(c, c.state.status())
	c.wire().letGo() // after OnClose, so that RemoteAddr works there
}
