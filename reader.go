package wss

import (
	"sync"
	"time"

	"github.com/wssgo/wss/internal/frame"
)

// reader is the receive side of a connection: a state machine fed with
// whatever bytes arrived, so that an event loop can drive it with one shared
// read buffer. Between calls it holds only a partial header, the message
// being reassembled (if any) and a partial control payload (if any).
type reader struct {
	h      frame.Header    // the current frame; h.Length counts its payload bytes still due
	msg    msgBuf          // reassembled payload of the open message
	part   *partial        // a header or control payload split across reads, else nil
	utf8   frame.UTF8State // validator state of the open text message
	frames uint32          // data frames of the open message so far
	msgOp  opcode          // opText or opBinary while a message is open, else 0
	// inFrame: h describes the frame whose payload is arriving.
	inFrame bool
	// draining: the connection failed or closed; input is discarded.
	draining bool
	// pieces: the open message goes to a FragmentHandler as it arrives,
	// never assembled (pieces.go).
	pieces bool
	// pings times pings for OnPong: unlike the rest, writers set it.
	pings pingClock
}

// partial holds a header or a control payload that arrived in pieces. It
// is pooled and held only until the piece is whole, so that an idle
// connection's reader stays small.
type partial struct {
	hdr   [frame.MaxHeaderLen]byte
	ctrl  [frame.MaxControlPayload]byte
	nhdr  uint8
	nctrl uint8
}

var partials = sync.Pool{New: func() any { return new(partial) }}

func (r *reader) getPartial() *partial {
	if r.part == nil {
		r.part = partials.Get().(*partial)
	}
	return r.part
}

func (r *reader) putPartial() {
	if r.part != nil {
		r.part.nhdr, r.part.nctrl = 0, 0
		partials.Put(r.part)
		r.part = nil
	}
}

// handshaker is the Handler of a connection whose opening handshake
// arrives before its frames (flagUpgrading): Serve's upgrader. The receive
// path hands it the input until the handshake is complete.
type handshaker interface {
	Handler
	handshakeInput(c *Conn, p []byte) bool
}

// feed processes p, bytes just read from the peer. p is unmasked in place
// and not retained. It returns false once the connection has ended and
// nothing more should be read.
func (c *Conn) feed(p []byte) bool {
	_, ok := c.feedTurn(p, nil)
	return ok
}

// feedTurn is feed for an event loop's turn with c: unless end is nil,
// it stops between frames, or pieces of a frame, once end has passed or
// output waits for the peer, so that one connection cannot hold its loop
// and a peer that does not read cannot make its handler queue without end.
// It returns how many bytes of p it consumed; the caller feeds the rest
// later.
func (c *Conn) feedTurn(p []byte, end *turnEnd) (int, bool) {
	c.live.touch(&c.d.sweep)
	if c.state.is(flagUpgrading) {
		// Serve's handshake comes first: c.h is then a handshaker, which
		// hands what follows the request to feedFrames.
		return len(p), c.h.(handshaker).handshakeInput(c, p)
	}
	return c.feedFrames(p, end)
}

// feedFrames is feedTurn once the handshake is complete: the frame parser
// (c.rd) takes headers and payload, and c acts on what it completes.
func (c *Conn) feedFrames(p []byte, end *turnEnd) (int, bool) {
	r := &c.rd
	total := len(p)
	for step := 0; len(p) > 0 && !r.draining; step++ {
		if end != nil && len(p) < total && c.turnOver(step, end) {
			return total - len(p), !c.state.ended()
		}
		if !r.inFrame && r.part == nil {
			if n, ok := c.wholeFrame(p); n > 0 {
				if p = p[n:]; !ok {
					return total - len(p), false
				}
				continue
			}
		}
		if !r.inFrame {
			n, ok, lengthOK := r.takeHeader(p)
			p = p[n:]
			if !ok {
				return total, true
			}
			code := StatusProtocolError // a 64-bit length with its top bit set, or not minimal
			if lengthOK {
				code = r.startFrame(c.cfg, c.client, c.dfl(), c.state.is(flagWhole))
			}
			if code != 0 {
				c.fail(code)
				break
			}
			if !r.h.Op.IsControl() {
				c.live.dataFrameStarted(&c.d.sweep, c.cfg.IdleTimeout > 0)
			}
			if r.h.Length > 0 && len(p) == 0 {
				break // the payload comes with a later read
			}
		}
		n := int(min(r.h.Length, uint64(len(p))))
		chunk := p[:n]
		p = p[n:]
		r.unmask(chunk)
		// Only for a big message is it worth a bit to tell the write path
		// whether more input follows (flagMoreInput).
		more := end != nil && len(p) > 0 && n+r.msg.len() > smallWrite
		if more {
			c.state.set(flagMoreInput)
		}
		ok := c.payload(chunk, false)
		if more {
			c.state.clear(flagMoreInput)
		}
		if !ok {
			return total - len(p), false
		}
	}
	return total, !c.state.ended()
}

// stepsPerClockRead is how many steps of feedFrames (a frame, or a piece
// of one) run between two readings of the clock. A reading costs more
// than parsing and answering a small frame (BenchmarkClockRead: 74-94 ns on
// the machine of bench/README.md, against 0.3 us of CPU per pipelined
// 64-byte echo), so a turn reads it once every few frames: it overruns its
// length by at most that many handler calls.
const stepsPerClockRead = 32

// turnOver tells feedFrames, at its step-th step, to end the turn: output
// no writer waits for waits for the peer (outQueue.unowned), an Inbox
// holds c, or the turn's end has passed.
func (c *Conn) turnOver(step int, end *turnEnd) bool {
	return c.out.Load().holdsUnowned() || c.state.is(flagHeld) || step%stepsPerClockRead == 0 && end.passed()
}

// turnEnd is when a turn stops feeding its connection. Most turns end
// with their input, after a frame or a few, so a turn does not read the
// clock when it starts: its end is set length ahead at the first
// reading, after stepsPerClockRead steps.
type turnEnd struct {
	at     time.Duration // on sinceEpoch's clock; 0 until the clock is first read
	length time.Duration
}

// passed reports whether the turn's end has passed, and sets it at the
// first call.
func (e *turnEnd) passed() bool {
	now := sinceEpoch()
	if e.at == 0 {
		e.at = now + e.length
		return false
	}
	return now > e.at
}

// payload is the one path of an unmasked chunk of the current frame's
// payload, whether it was read into the loop's buffer or (inBuffer,
// direct.go) straight into the message buffer: the receiver takes it, and
// once a control frame or a message is complete c acts on it. It returns
// false once the connection has ended.
func (c *Conn) payload(chunk []byte, inBuffer bool) bool {
	r := &c.rd
	if r.h.Op.IsControl() {
		p, done := r.takeControl(chunk)
		if !done {
			return true
		}
		switch r.h.Op {
		case opPing:
			c.onPing(p)
		case opClose:
			c.onCloseFrame(p)
		case opPong: // unsolicited ones too (RFC 6455 section 5.5.3), with rtt 0
			rtt := r.pings.answered()
			if ph, ok := c.h.(PongHandler); ok {
				ph.OnPong(c, p, rtt)
			}
		}
		r.putPartial()
		return !c.state.ended()
	}
	if r.pieces {
		typ := MessageType(r.msgOp) // before takePiece ends the message
		size := pieceCounts.get(r)  // the message's payload bytes, once its last frame has come
		_, final, code := r.takePiece(chunk)
		if code != 0 {
			c.fail(code)
		} else if len(chunk) > 0 || final {
			c.h.(FragmentHandler).OnFragment(c, chunk, typ, final)
		}
		c.d.obs.receivedPieces(int(size), final && code == 0)
		return !c.state.ended()
	}
	msg, done, code := r.takeData(chunk, inBuffer, c.cfg, c.dfl().compressedMessage())
	switch {
	case code != 0:
		c.fail(code)
		return !c.state.ended()
	case done:
		return c.deliver(msg)
	}
	return true
}

// deliver ends the open message and passes it to the handler.
func (c *Conn) deliver(data []byte) bool {
	if c.dfl().compressedMessage() {
		if fh, ok := c.h.(FragmentHandler); ok {
			return inflatePieces(c, fh, data)
		}
		return c.deliverInflated(data)
	}
	r := &c.rd
	typ, ok := r.endMessage()
	if !ok {
		c.fail(StatusInvalidData) // the message ended inside a character
		return !c.state.ended()
	}
	c.d.obs.received(len(data))
	c.h.OnFrame(c, data, typ)
	r.msg.release()
	return !c.state.ended()
}

// takeHeader consumes header bytes from p. It returns how many it took,
// whether r.h now holds a complete header, and whether its length is well
// formed.
func (r *reader) takeHeader(p []byte) (int, bool, bool) {
	if r.part == nil && len(p) >= 2 && len(p) >= frame.HeaderLen(p[1]) {
		n := frame.HeaderLen(p[1]) // the common case: the whole header is here
		return n, true, r.setHeader(p[:n])
	}
	pt := r.getPartial()
	take := 0
	for {
		need := 2
		if pt.nhdr >= 2 {
			need = frame.HeaderLen(pt.hdr[1])
		}
		if int(pt.nhdr) == need {
			lengthOK := r.setHeader(pt.hdr[:need])
			r.putPartial()
			return take, true, lengthOK
		}
		if take == len(p) {
			return take, false, false
		}
		k := copy(pt.hdr[pt.nhdr:need], p[take:])
		pt.nhdr += uint8(k)
		take += k
	}
}

// setHeader decodes b into r.h and starts its frame. It reports whether
// the length is well formed; the frame must fail if not.
func (r *reader) setHeader(b []byte) bool {
	h, ok := frame.ParseHeader(b)
	r.h, r.inFrame = h, true
	return ok
}

// startFrame checks a new frame's header against the rules of the
// connection (RFC 6455 section 5): its Config, whether it is a client's,
// its permessage-deflate state (nil without), and whether its Handler takes
// messages whole (flagWhole) or in pieces. It returns the close code to
// fail with, or 0.
func (r *reader) startFrame(cfg *Config, client bool, dfl *deflate, whole bool) StatusCode {
	h := &r.h
	switch {
	case h.Masked == client:
		return StatusProtocolError // section 5.1: clients mask, servers do not
	case h.Rsv != 0 && !dfl.allowsRsv(h):
		return StatusProtocolError // no extension defines them here (section 5.2)
	case h.Op.IsControl():
		return r.startControl()
	case h.Op == opContinuation:
		if r.msgOp == 0 {
			return StatusProtocolError // nothing to continue (section 5.4)
		}
	case h.Op == opText || h.Op == opBinary:
		if r.msgOp != 0 {
			return StatusProtocolError // a new message inside a fragmented one
		}
		r.msgOp, r.frames = h.Op, 0
		if dfl != nil {
			dfl.inflating = h.Rsv != 0
		}
		r.pieces = !whole && h.Rsv == 0 // a compressed message is inflated whole, then given in pieces
	default:
		return StatusProtocolError // reserved opcode (section 5.2)
	}
	if code := r.countFrame(cfg); code != 0 {
		return code
	}
	if r.held()+h.Length > uint64(cfg.maxMessageSize()) {
		return StatusMessageTooBig
	}
	if r.pieces {
		pieceCounts.add(r, h.Length)
	}
	return 0
}

// held returns how many payload bytes of the open message came before
// the current frame.
func (r *reader) held() uint64 {
	if r.pieces {
		return pieceCounts.get(r)
	}
	return uint64(r.msg.len())
}

func (r *reader) startControl() StatusCode {
	h := &r.h
	switch {
	case h.Op > opPong:
		return StatusProtocolError // reserved control opcode
	case !h.Fin || h.Length > frame.MaxControlPayload:
		return StatusProtocolError // section 5.5: never fragmented, at most 125 bytes
	}
	return 0
}

// countFrame counts a data frame of the open message and returns the close
// code to fail with when the message has more than cfg allows, or 0.
func (r *reader) countFrame(cfg *Config) StatusCode {
	r.frames++
	if cfg.MaxFramesPerMessage >= 0 && r.frames > uint32(cfg.maxFramesPerMessage()) {
		return StatusMessageTooBig
	}
	return 0
}

// unmask unmasks the next chunk of the current frame's payload in place and
// counts it as received.
func (r *reader) unmask(chunk []byte) {
	r.h.Key = frame.Mask(r.h.Key, chunk)
	r.h.Length -= uint64(len(chunk))
}

// takeData takes a chunk of a data frame's payload: it validates text as
// it arrives (not a compressed message's: inflating), keeps the chunk in
// the message buffer, and returns the message once its last frame is
// complete (done), or the close code to fail with.
func (r *reader) takeData(chunk []byte, inBuffer bool, cfg *Config, inflating bool) (msg []byte, done bool, code StatusCode) {
	if r.msgOp == opText && !inflating {
		var ok bool
		if r.utf8, ok = r.utf8.Next(chunk); !ok {
			return nil, false, StatusInvalidData
		}
	}
	// The chunk is the whole message when nothing of it was buffered:
	// an earlier chunk of this frame would have been (it left bytes due).
	whole := !inBuffer && r.h.Length == 0 && r.h.Fin && r.msg.len() == 0
	switch {
	case inBuffer:
		*r.msg.b = (*r.msg.b)[:len(*r.msg.b)+len(chunk)]
	case !whole:
		rest := int(r.h.Length)
		if !r.h.Fin {
			// More fragments follow: let the buffer double, within
			// MaxMessageSize, or every fragment would copy the message.
			rest = int(cfg.maxMessageSize()) - r.msg.len() - len(chunk)
		}
		r.msg.append(chunk, rest, cfg)
	}
	if r.h.Length > 0 {
		return nil, false, 0
	}
	r.inFrame = false
	switch {
	case !r.h.Fin:
		return nil, false, 0
	case whole:
		return chunk, true, 0
	}
	return r.msg.bytes(), true, 0
}

// endMessage ends the open message, of type typ; ok is false when a text
// message ended inside a character.
func (r *reader) endMessage() (typ MessageType, ok bool) {
	typ = MessageType(r.msgOp)
	if typ == Text && r.utf8 != 0 {
		return typ, false
	}
	r.msgOp, r.utf8 = 0, 0
	return typ, true
}

// takeControl gathers a control frame's payload, which is whole (done)
// once the frame is complete; the caller then acts on it and gives back
// r.part with putPartial.
func (r *reader) takeControl(chunk []byte) (payload []byte, done bool) {
	if r.h.Length > 0 || r.part != nil {
		pt := r.getPartial()
		pt.nctrl += uint8(copy(pt.ctrl[pt.nctrl:], chunk))
		if r.h.Length > 0 {
			return nil, false
		}
		chunk = pt.ctrl[:pt.nctrl]
	}
	r.inFrame = false
	return chunk, true
}

// release drops the buffers of a connection that has ended.
func (r *reader) release() {
	r.msg.release()
	if r.pieces {
		pieceCounts.drop(r)
		r.pieces = false
	}
	r.putPartial()
	r.draining = true
}
