// Package wss is a WebSocket server (RFC 6455) with a callback interface.
//
// It keeps the model of a classic embedded WebSocket server: an application
// implements a [Handler], a [Dispatcher] waits for readable sockets and calls
// the handler once per complete message, sending is blocking, and closing is
// graceful. It removes that model's limits: messages of any size up to
// [Config.MaxMessageSize], fragmented messages reassembled, and every MUST of
// RFC 6455 enforced on what the peer sends.
//
// # Accepting
//
// [HTTPHandler] serves upgrades as an http.Handler, beside a server's other
// handlers. [Dispatcher.Serve] accepts on a listener and, with event loops,
// reads and answers each handshake on the loop without net/http: no
// goroutine and no garbage per connection, for servers that speak only
// WebSocket on a port. Both ask one function, newHandler, for each
// request's Handler: it sees the request ([Request]), may refuse it with
// any status, header fields and body (a [HandshakeError]), set fields of
// the 101 response ([Request.ResponseHeader]) and give the connection a
// Config of its own ([Request.SetConfig]). [OpenHandler] gives a Handler
// its Conn before the first message.
//
// # Receiving
//
// A [Dispatcher] reads from every connection it serves and feeds the bytes to
// the connection's frame parser, which is a state machine: it accepts
// whatever arrived (part of a header, part of a payload, several frames) and
// calls [Handler.OnFrame] once per complete message. A message is buffered
// only while it is partly received; the buffer starts at [Config.StartSize]
// and grows in steps of at least [Config.ExpandSize], never beyond what the
// peer has actually sent, and is released when the message is complete.
// A [FragmentHandler] gets messages in pieces as they arrive instead, for
// messages too large to hold.
//
// Handlers of one connection are called one at a time, in the order the
// messages arrived. On Linux a Dispatcher waits with a few epoll event loops
// and runs handlers on the loop that read the message, as the reference
// does: a handler must not block for long, or every connection of its loop
// waits. DispatcherConfig.OffLoop runs handlers on goroutines instead, still
// one at a time per connection and in order, for handlers that block. An
// idle connection holds no goroutine and no buffer. A loop reads at most
// DispatcherConfig.ReadBudget (1 MiB) from one connection before it turns
// to the others, so a peer that sends without pause cannot hold its loop.
// Elsewhere, and for connections that are not plain TCP (TLS), each
// connection has a goroutine.
//
// # Sending
//
// [Conn.Write] and [Conn.Close] block until the frame is handed to the kernel
// or [Config.WriteTimeout] passes. They are safe for concurrent use from many
// goroutines, and from within handlers. Called on an event loop (from a
// handler), they never wait for a slow peer, which would stall the loop:
// what the socket cannot take at once is queued and sent as the peer reads,
// and the connection is dropped if that takes longer than WriteTimeout.
// Until the queue drains, the loop reads no more from that connection.
// [Conn.Writer] sends a message in fragments as it is produced.
//
// # Closing
//
// [Handler.OnClose] is called exactly once per connection, after the last
// OnFrame. Its status is positive when the peer sent a close frame (the code
// it sent, or [StatusNoStatus] when it sent none) and negative when the
// connection ended without one: see [StatusConnLost] and the constants after
// it; a [StatusCode] prints as "1000 normal closure" or "-5 write timeout".
// [Conn.Close] runs the close handshake: it sends a close frame with a code
// and a reason, waits up to [Config.CloseTimeout] for the peer's, then
// closes the socket. [Conn.Err] returns the [CloseError] with the status and
// the reason the peer gave, in OnClose and after. A [PongHandler] learns the
// round trip of each ping, [Conn.Ping]'s or keepalive's.
//
// # Protocol errors
//
// A peer that breaks the protocol gets a close frame with the code of RFC
// 6455 section 7.4.1 (1002 protocol error, 1007 invalid UTF-8, 1009 message
// too big), and the connection is closed; its handler sees the matching
// negative status. Text messages are validated as their bytes arrive, so an
// invalid byte fails the connection at once, even inside a fragment.
//
// # Timeouts, limits and shutdown
//
// Defaults defend a server that faces the internet (SECURITY.md has the
// threat model): [NewServer] and [Dispatcher.Serve] bound the handshake
// request by [Config.HandshakeTimeout] (10 s) and [Config.MaxHeaderBytes];
// keepalive pings a peer silent for [Config.PingInterval] (30 s) and drops
// it if it stays silent for [Config.PongTimeout] (15 s); [Config.IdleTimeout] (off)
// closes peers that send no data; writes are bounded by
// [Config.WriteTimeout] (10 s) and the close handshake by
// [Config.CloseTimeout] (5 s). Each ends the connection with a negative
// OnClose status of its own. [DispatcherConfig.MaxConnections] bounds the
// connections held, those in their handshake included, and answers the
// excess 503 before upgrading, and [Config.MaxFramesPerMessage] bounds
// fragment floods. [Dispatcher.Shutdown] closes every connection with 1001
// and waits for the close handshakes.
//
// # Origin
//
// By default the handshake accepts only requests whose Origin header names
// the host the request was sent to, and requests without an Origin header
// (clients that are not browsers). This stops cross-site WebSocket
// hijacking: a page on another site cannot open a connection that carries
// the user's cookies. [Config.OriginPatterns] and [Config.CheckOrigin] allow
// other origins.
//
// # Compression
//
// permessage-deflate (RFC 7692) is off by default: it costs CPU on every
// message, memory on every connection with context takeover, and leaks
// secrets compressed together with data an attacker chooses. Set
// [Config.Compression] to negotiate it; [CompressionConfig] chooses context
// takeover, window sizes and the size under which messages go out
// uncompressed. A compressed message is bounded by MaxMessageSize both as
// received and as inflated: a compression bomb is closed with 1009.
//
// # Clients
//
// [Dial] opens a client connection served like a server connection, with
// the same Handler, Dispatcher and Config. [Inbox] is a Handler that
// queues messages for a blocking Read, for code that prefers pulling.
package wss

import (
	"errors"
	"time"
)

// Handler receives the events of one connection: the reference's callback
// interface. Calls for one connection never overlap.
type Handler interface {
	// OnFrame is called once per complete message. typ says whether it was
	// a Text message (valid UTF-8, checked) or a Binary one. data is valid
	// only during the call: copy it to keep it.
	OnFrame(c *Conn, data []byte, typ MessageType)
	// OnClose is called exactly once, when the connection has ended. A
	// positive status is the close code the peer sent (StatusNoStatus if its
	// close frame had none); a negative one says why the connection dropped
	// (StatusCode.Local). The reason the peer gave is in c.Err().
	OnClose(c *Conn, status StatusCode)
}

// PingHandler is an optional interface of a Handler: OnPing is called for
// each ping the peer sends, after the pong (with the same payload) has been
// sent. data is valid only during the call.
type PingHandler interface {
	OnPing(c *Conn, data []byte)
}

// FragmentHandler is an optional interface of a Handler, for messages too
// large to hold: a Handler that implements it gets every message in pieces
// through OnFragment, as they arrive, and OnFrame is never called. The
// message is never assembled: each piece is what one read brought of a
// frame's payload (an uncompressed message), or at most 64 KiB inflated
// (a compressed one, which is held compressed until complete). The last
// piece has final set; it may be empty. t is the message's kind, the
// same for all its pieces. MaxMessageSize bounds the whole message, and
// a text message is validated across pieces: a character may be split between two.
// A message that breaks a rule fails the connection, and its pieces end
// without a final one. data is valid only during the call. Calls are made
// as for OnFrame: one at a time, in order, on the connection's reader.
type FragmentHandler interface {
	OnFragment(c *Conn, data []byte, t MessageType, final bool)
}

// PongHandler is an optional interface of a Handler: OnPong is called for
// each pong the peer sends. rtt is the time since the oldest ping not yet
// answered was sent, by Conn.Ping or by keepalive; 0 for a pong that
// answers no ping (unsolicited, RFC 6455 section 5.5.3). data is valid
// only during the call.
type PongHandler interface {
	OnPong(c *Conn, data []byte, rtt time.Duration)
}

// OpenHandler is an optional interface of a Handler: OnOpen is called once
// the connection is connected, before any other call of its Handler. With
// HTTPHandler it runs on the request's goroutine before reading starts;
// with Dispatcher.Serve's event loops, on the goroutine that read the
// handshake. It is where a server's Handler first learns its Conn.
type OpenHandler interface {
	OnOpen(c *Conn)
}

// HandlerFuncs adapts plain functions to a Handler, a PingHandler, a
// PongHandler, an OpenHandler and a DrainHandler. Frame is required; the
// others may be nil. Each field is called as the method of the same name
// (Frame as OnFrame), with the same arguments, ownership and concurrency.
type HandlerFuncs struct {
	Frame func(c *Conn, data []byte, typ MessageType)
	Close func(c *Conn, status StatusCode)
	Ping  func(c *Conn, data []byte)
	Pong  func(c *Conn, data []byte, rtt time.Duration)
	Open  func(c *Conn)
	Drain func(c *Conn)
}

// OnOpen calls f.Open if it is set.
func (f HandlerFuncs) OnOpen(c *Conn) {
	if f.Open != nil {
		f.Open(c)
	}
}

// OnFrame calls f.Frame.
func (f HandlerFuncs) OnFrame(c *Conn, data []byte, typ MessageType) { f.Frame(c, data, typ) }

// OnClose calls f.Close if it is set.
func (f HandlerFuncs) OnClose(c *Conn, status StatusCode) {
	if f.Close != nil {
		f.Close(c, status)
	}
}

// OnPing calls f.Ping if it is set.
func (f HandlerFuncs) OnPing(c *Conn, data []byte) {
	if f.Ping != nil {
		f.Ping(c, data)
	}
}

// OnPong calls f.Pong if it is set.
func (f HandlerFuncs) OnPong(c *Conn, data []byte, rtt time.Duration) {
	if f.Pong != nil {
		f.Pong(c, data, rtt)
	}
}

// OnDrain calls f.Drain if it is set.
func (f HandlerFuncs) OnDrain(c *Conn) {
	if f.Drain != nil {
		f.Drain(c)
	}
}

// Errors returned by this package; test them with errors.Is.
var (
	// ErrClosed: the connection is closed, or a close frame was already sent.
	ErrClosed = errors.New("wss: connection closed")
	// ErrInvalidUTF8: a text message or close reason to send is not UTF-8.
	ErrInvalidUTF8 = errors.New("wss: invalid UTF-8 in text")
	// ErrInvalidCloseCode: the code given to Close may not be sent.
	ErrInvalidCloseCode = errors.New("wss: invalid close code")
	// ErrControlTooLong: a ping payload is over 125 bytes, or a close
	// reason over 123.
	ErrControlTooLong = errors.New("wss: control frame payload over 125 bytes")
	// ErrHandshake: the opening handshake failed; the error wrapping it says why.
	ErrHandshake = errors.New("wss: handshake failed")
)
