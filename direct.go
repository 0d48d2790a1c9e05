package wss

import "github.com/wssgo/wss/internal/frame"

// Large messages: an event loop reads the payload of a large data frame
// straight into the message buffer instead of its own buffer, which saves
// a copy of every byte (and most of the copies of a growing buffer).

// directMin is the payload still due from which reads go to the message
// buffer.
const directMin = 64 << 10

// directRoom returns where the next read of c should go: the free end of
// the message buffer, at most up to the end of the current frame, or nil
// to read into the loop's buffer. unread reports how many bytes the peer
// has sent that are not read yet; it is asked only when the buffer must
// grow, which it does to hold them (doubling at least), but never past the
// end of the frame: memory still follows what the peer has sent.
func (c *Conn) directRoom(unread func() int) []byte {
	r := &c.rd
	if !r.inFrame || r.draining || r.h.Op.IsControl() || r.h.Length < directMin {
		return nil
	}
	m := &r.msg
	have := m.len()
	if m.b == nil || uint64(cap(*m.b)-have) < min(r.h.Length, directMin) {
		step := max(unread(), have, c.cfg.expandSize())
		m.resize(have + int(min(r.h.Length, uint64(step))))
	}
	b := *m.b
	return b[len(b) : len(b)+int(min(r.h.Length, uint64(cap(b)-len(b))))]
}

// feedDirect processes n payload bytes just read into the room directRoom
// gave, as payload would have: it unmasks and validates them in place (a
// compressed message is validated once inflated) and delivers the message
// when it is complete. It reports false once the connection has ended.
func (c *Conn) feedDirect(n int) bool {
	r := &c.rd
	b := *r.msg.b
	chunk := b[len(b) : len(b)+n]
	r.h.Key = frame.Mask(r.h.Key, chunk)
	r.h.Length -= uint64(n)
	if r.msgOp == opText && !c.inflating() {
		var ok bool
		if r.utf8, ok = r.utf8.Next(chunk); !ok {
			c.fail(StatusInvalidData)
			return !c.ended()
		}
	}
	*r.msg.b = b[:len(b)+n]
	if r.h.Length > 0 {
		return true
	}
	r.inFrame = false
	if !r.h.Fin {
		return true
	}
	return c.deliver(r.msg.bytes())
}
