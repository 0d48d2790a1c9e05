package wss

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
)

// Serve accepts connections on ln and answers their opening handshakes
// with the settings of cfg (nil means the defaults), serving every
// upgraded connection on d (nil means the default Dispatcher). It is for
// servers that speak only WebSocket on ln; HTTPHandler is the way to share
// a port with other HTTP handlers.
//
// newHandler is called with each request that passed the checks of RFC
// 6455 section 4.2.1 and the origin rule (the others get an HTTP error
// status and a plain-text reason, as with HTTPHandler) and chooses the
// connection's Handler. Before it returns it may set fields of the 101
// response (r.ResponseHeader) and give the connection its own Config
// (r.SetConfig). It refuses the request by returning an error instead:
// a *HandshakeError (wrapped or not) is the answer, with its StatusCode
// (3xx but 304, 4xx or 5xx), Header and at most the first KiB of Body (what
// Dial keeps), and the connection closes after it; any other error answers
// 500 Internal Server Error, without its text; a nil Handler with a nil
// error answers 403 Forbidden. The Handler newHandler returns gets exactly
// one OnClose: its calls begin with OnOpen (OpenHandler) once the 101 is
// written, or, when the connection fails before that, OnClose comes alone
// with StatusConnLost. newHandler is called for many requests at once (from
// each event loop, or each request's goroutine), so it must be safe for
// concurrent use; r is valid only during the call.
//
// A connection holds a MaxConnections slot from its accept, before any
// byte of its request: a socket accepted at MaxConnections or after
// Shutdown is answered 503 at once (with Retry-After when only full),
// without newHandler, and closed. On the event loops a connection also
// counts in Len from its accept; Shutdown closes those still in their
// handshake.
//
// On an event-loop Dispatcher with a TCP listener, the event loops read
// and answer the handshakes themselves, without net/http: a connection
// costs no goroutine at any time, its handshake no garbage (unless
// newHandler asks for some), and newHandler runs where handlers do (on the
// loop, unless OffLoop), so it must not block for long. What waits in the
// listener's backlog is accepted without net's garbage (accept4), with the
// options net gives a socket it accepts on ln: TCP_NODELAY, and keep-alive
// as ln's ListenConfig says. Otherwise (TLS, goroutine mode, other
// systems) Serve serves ln with an http.Server made by NewServer. Either
// way a client has HandshakeTimeout to send its request.
//
// Serve returns when ln is closed, with an error that wraps net.ErrClosed.
// When accepting fails otherwise (out of descriptors), it waits and tries
// again, as net/http does. Closing ln does not end the connections it
// accepted: shut d down for that. Serve may run on several listeners of
// one Dispatcher at once, each with its own cfg and newHandler.
func (d *Dispatcher) Serve(ln net.Listener, cfg *Config, newHandler func(r *Request) (Handler, error)) error {
	if d == nil {
		d = defaultDispatcher()
	}
	cfg = cfg.orDefault()
	if tl, ok := ln.(*net.TCPListener); ok && d.loops != nil {
		return d.acceptLoop(tl, cfg, &upgrader{newHandler: newHandler})
	}
	return NewServer("", HTTPHandler(d, cfg, newHandler), cfg).Serve(ln)
}

// upgrader is the Handler of a connection Serve accepted, until the
// handshake completes and newHandler gives the real one. It reads and
// answers the handshake (handshakeInput); one upgrader serves every
// connection of a Serve call, so it holds nothing of any of them.
type upgrader struct {
	newHandler func(r *Request) (Handler, error)
}

func (*upgrader) OnFrame(*Conn, []byte, MessageType) {}
func (*upgrader) OnClose(*Conn, StatusCode)          {}

var requests = sync.Pool{New: func() any { return new(Request) }}

// handshakeInput takes input of c, a connection Serve accepted whose
// handshake is not complete, on the goroutine that reads it. A request that
// arrives in one read is parsed where it lies; one that comes in pieces is
// gathered in c's message buffer, up to MaxHeaderBytes. It reports false
// once the connection must end.
func (u *upgrader) handshakeInput(c *Conn, p []byte) bool {
	r := &c.rd
	limit := c.cfg.maxHeaderBytes()
	from := 0 // where the empty line may start: not in what was searched before
	if had := r.msg.len(); had > 0 {
		r.msg.append(p, limit, c.cfg)
		p = r.msg.bytes()
		from = max(had-3, 0)
	}
	end := bytes.Index(p[from:], []byte("\r\n\r\n"))
	if end >= 0 {
		end += from
	}
	if end < 0 || end+2 > limit {
		switch {
		case len(p) > limit || end >= 0:
			u.refuse(c, refusal(http.StatusRequestHeaderFieldsTooLarge, "request header too large"))
			return false
		case bareLF(p, from):
			u.refuse(c, errMalformed)
			return false
		case r.msg.len() == 0:
			r.msg.append(p, limit, c.cfg)
		}
		return true
	}
	// The gathered request leaves the message buffer, which the frames
	// after it may need.
	gathered := r.msg.b
	r.msg.b = nil
	defer func() {
		if gathered != nil {
			putBuf(gathered)
		}
	}()
	if !u.upgrade(c, p[:end+2]) {
		return false
	}
	_, ok := c.feedFrames(p[end+4:], nil)
	return ok
}

// upgrade answers c's request head and, if it is a valid upgrade that
// newHandler takes, connects c.
func (u *upgrader) upgrade(c *Conn, head []byte) bool {
	req := requests.Get().(*Request)
	defer func() {
		*req = Request{}
		requests.Put(req)
	}()
	var f handshakeFields
	target, err := parseHead(head, &f, c.cfg)
	*req = Request{head: head, target: target, c: c}
	var key string
	if err == nil {
		key, err = checkUpgrade(&f, c.cfg, req.HTTP)
	}
	if err == nil {
		err = c.d.admit(c, nil) // held since the accept; freed when c ends
	}
	var h Handler
	if err == nil {
		h, err = chooseHandler(u.newHandler, req)
	}
	if err != nil {
		u.refuse(c, err)
		return false
	}
	if req.cfg != nil && req.cfg != c.cfg {
		c.cfg = req.cfg // before markOpen, which publishes it
		f = handshakeFields{}
		_, _ = parseHead(head, &f, c.cfg) // its offers, negotiated with c.cfg
	}
	ext, dfl := negotiateOffers(f.extensions, c.cfg.Compression)
	if dfl != nil {
		c.aside = &connAside{dfl: dfl}
	}
	proto := f.subprotocol(c.cfg.Subprotocols)
	c.setSubprotocol(proto)
	var b [256]byte
	if c.wire().respond(appendAccept(b[:0], key, proto, ext, req.header)) != nil {
		h.OnClose(c, StatusConnLost) // its only call: the 101 did not go out
		return false
	}
	c.setHandler(h)
	c.state.markOpen()
	c.d.rewatch(c)
	c.d.obs.opened(c)
	if o, ok := h.(OpenHandler); ok {
		o.OnOpen(c)
	}
	return true
}

// refuse sends c the HTTP answer to a refused request: the application's
// (appendHandshakeError), or the library's (appendRefusal).
func (*upgrader) refuse(c *Conn, err error) {
	c.d.obs.refused(err, c.wire().peerAddr())
	var b [512]byte
	var app *HandshakeError
	if errors.As(err, &app) {
		_ = c.wire().respond(appendHandshakeError(b[:0], app))
		return
	}
	_ = c.wire().respond(appendRefusal(b[:0], err))
}

// appendRefusal appends the HTTP error response for a request refused with
// err (see refusalResponse), its reason in plain text as http.Error writes it.
func appendRefusal(resp []byte, err error) []byte {
	var h [64]byte
	header := h[:0]
	status, reason := refusalResponse(err, func(name, value string) {
		header = append(append(append(append(header, name...), ": "...), value...), "\r\n"...)
	})
	body := reason + "\n"
	resp = append(resp, "HTTP/1.1 "...)
	resp = strconv.AppendInt(resp, int64(status), 10)
	resp = append(append(append(resp, ' '), http.StatusText(status)...), "\r\n"...)
	resp = append(resp, "Content-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n"+
		"Connection: close\r\n"...)
	resp = append(append(resp, header...), "Content-Length: "...)
	resp = strconv.AppendInt(resp, int64(len(body)), 10)
	return append(append(resp, "\r\n\r\n"...), body...)
}
