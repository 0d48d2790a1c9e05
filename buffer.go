package wss

import (
	"math/bits"
	"sync"
)

// Buffers are pooled by power-of-two size, from 512 B to 4 MiB; larger ones
// are left to the garbage collector.
const (
	minPoolShift = 9
	maxPoolShift = 22
)

var bufPools [maxPoolShift + 1]sync.Pool

// getBuf returns an empty buffer with capacity at least n.
func getBuf(n int) *[]byte {
	shift := max(bits.Len(uint(n-1)), minPoolShift)
	if shift > maxPoolShift {
		b := make([]byte, 0, n)
		return &b
	}
	if b, ok := bufPools[shift].Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 1<<shift)
	return &b
}

// putBuf returns b to its pool; b must not be used afterwards.
func putBuf(b *[]byte) {
	c := cap(*b)
	shift := bits.Len(uint(c)) - 1 // -1 for an empty buffer: checked before shifting
	if shift < minPoolShift || shift > maxPoolShift || c != 1<<shift {
		return
	}
	*b = (*b)[:0]
	bufPools[shift].Put(b)
}

// msgBuf holds a message while it is partly received. It holds no memory
// between messages.
type msgBuf struct {
	b *[]byte
}

func (m *msgBuf) len() int {
	if m.b == nil {
		return 0
	}
	return len(*m.b)
}

// bytes returns the buffered message; it is valid until release.
func (m *msgBuf) bytes() []byte {
	if m.b == nil {
		return nil
	}
	return *m.b
}

// append adds chunk; rest bounds how much the message may still grow (the
// rest of its last frame, or what MaxMessageSize leaves while more
// fragments follow). The buffer starts at StartSize and grows by at least
// ExpandSize, doubling for large messages, but never past that bound: memory
// follows what the peer has sent (at most twice it), not what it announced.
func (m *msgBuf) append(chunk []byte, rest int, cfg *Config) {
	if len(chunk) == 0 {
		return
	}
	if m.b == nil {
		m.b = getBuf(max(len(chunk), min(cfg.startSize(), len(chunk)+rest)))
	}
	n := len(*m.b) + len(chunk)
	if c := cap(*m.b); n > c {
		m.resize(max(min(c+max(cfg.expandSize(), c), n+rest), n))
	}
	*m.b = append(*m.b, chunk...)
}

// resize moves the buffered bytes, if any, to a pooled buffer of capacity
// at least n.
func (m *msgBuf) resize(n int) {
	nb := getBuf(n)
	if m.b != nil {
		*nb = append(*nb, *m.b...)
		putBuf(m.b)
	}
	m.b = nb
}

// release returns the buffer to its pool.
func (m *msgBuf) release() {
	if m.b != nil {
		putBuf(m.b)
		m.b = nil
	}
}
