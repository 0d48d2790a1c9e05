package wss

import "github.com/wssgo/wss/internal/frame"

// PreparedMessage is a message framed once and sent to many connections
// with WritePrepared, the same bytes to each: the broadcast fast path. It
// goes out uncompressed even on connections that negotiated
// permessage-deflate (RFC 7692 lets each message choose), since with
// context takeover a compressed form depends on each connection's history.
// It is immutable and safe for concurrent use.
type PreparedMessage struct {
	frame []byte // header and payload of one unfragmented server frame
}

// NewPreparedMessage frames data as one message of type typ, Text or
// Binary. data is copied. Text must be valid UTF-8 (ErrInvalidUTF8
// otherwise).
func NewPreparedMessage(data []byte, typ MessageType) (*PreparedMessage, error) {
	op, err := typ.opcode()
	if err != nil {
		return nil, err
	}
	if op == opText && !frame.ValidUTF8(data) {
		return nil, ErrInvalidUTF8
	}
	var hdr [frame.MaxHeaderLen]byte
	n := frame.PutHeader(hdr[:], true, 0, op, len(data), false, 0)
	frame := make([]byte, 0, n+len(data))
	frame = append(append(frame, hdr[:n]...), data...)
	return &PreparedMessage{frame: frame}, nil
}

// Len returns the size of the message on the wire, header included.
func (pm *PreparedMessage) Len() int { return len(pm.frame) }

// WritePrepared sends pm like Write sends a message: blocking, bounded by
// WriteTimeout, safe for concurrent use.
func (c *Conn) WritePrepared(pm *PreparedMessage) error {
	if c.client { // a client masks every frame: reframe the payload
		n := frame.HeaderLen(pm.frame[1])
		return c.d.obs.sent(len(pm.frame)-n, c.wire().transmit(opcode(pm.frame[0]&0x0F), pm.frame[n:], plainFrame))
	}
	return c.d.obs.sent(len(pm.frame)-frame.HeaderLen(pm.frame[1]), c.wire().transmit(opBinary, pm.frame, encodedFrame))
}
