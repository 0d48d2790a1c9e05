package wss

// Large messages: an event loop reads the payload of a large data frame
// straight into the message buffer instead of its own buffer, which saves
// a copy of every byte (and most of the copies of a growing buffer).

// directMin is the payload still due from which reads go to the message
// buffer.
const directMin = 64 << 10

// room returns where the next read of the connection should go: the free end of
// the message buffer, at most up to the end of the current frame, or nil
// to read into the loop's buffer. unread reports how many bytes the peer
// has sent that are not read yet; it is asked only when the buffer must
// grow, which it does to hold them (doubling at least), but never past the
// end of the frame: memory still follows what the peer has sent.
func (r *reader) room(cfg *Config, unread func() int) []byte {
	if !r.inFrame || r.draining || r.pieces || r.h.Op.IsControl() || r.h.Length < directMin {
		return nil
	}
	m := &r.msg
	have := m.len()
	if m.b == nil || uint64(cap(*m.b)-have) < min(r.h.Length, directMin) {
		step := max(unread(), have, cfg.expandSize())
		m.resize(have + int(min(r.h.Length, uint64(step))))
	}
	b := *m.b
	return b[len(b) : len(b)+int(min(r.h.Length, uint64(cap(b)-len(b))))]
}

// takeDirect returns the n payload bytes just read into the room that room
// gave, unmasked in place, for the one payload path (Conn.payload).
func (r *reader) takeDirect(n int) []byte {
	b := *r.msg.b
	chunk := b[len(b) : len(b)+n]
	r.unmask(chunk)
	return chunk
}
