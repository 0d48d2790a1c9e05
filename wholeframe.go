package wss

import "github.com/wssgo/wss/internal/frame"

// wholeFrame takes, from the start of p, the common frame: a small
// message in one frame that came whole with this read. It does in one
// step what takeHeader, startFrame, takeData and payload do for any
// frame, and nothing else: a frame it does not take, it leaves to them,
// having done nothing. It takes a frame with FIN, no RSV bit, opcode text
// or binary, a 7-bit length within MaxMessageSize, masked as the peer must
// mask (RFC 6455 section 5.1), header and payload both in p, while no
// message is open, for a Handler that takes messages whole. r must be
// between frames, with no partial header. It returns the bytes taken (0:
// none) and false once the connection has ended.
func (c *Conn) wholeFrame(p []byte) (int, bool) {
	if len(p) < 2 {
		return 0, true
	}
	b0, b1 := p[0], p[1]
	op := opcode(b0 & 0x0F)
	masked := b1&0x80 != 0
	length := int(b1 & 0x7F)
	n := 2 + length
	if masked {
		n += 4
	}
	r := &c.rd
	switch {
	case b0&0xF0 != frame.Fin, op != opText && op != opBinary, masked == c.client,
		length >= 126, n > len(p), r.msgOp != 0, !c.state.is(flagWhole), int64(length) > c.cfg.maxMessageSize():
		return 0, true
	}
	data := p[n-length : n]
	if masked {
		frame.Mask(uint32(p[2])|uint32(p[3])<<8|uint32(p[4])<<16|uint32(p[5])<<24, data)
	}
	if dfl := c.dfl(); dfl != nil {
		dfl.inflating = false
	}
	c.live.dataFrameStarted(&c.d.sweep, c.cfg.IdleTimeout > 0)
	if op == opText && !frame.ValidUTF8(data) {
		c.fail(StatusInvalidData)
		return n, !c.state.ended()
	}
	r.msgOp = op
	return n, c.deliver(data)
}
