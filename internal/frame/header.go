package frame

import "encoding/binary"

// Opcode is a frame's opcode (RFC 6455 section 5.2).
type Opcode byte

const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// IsControl reports whether op is a control opcode (section 5.5).
func (op Opcode) IsControl() bool { return op&0x8 != 0 }

// Bits of a header's first byte: FIN and the three RSV bits.
const (
	Fin  = 0x80
	Rsv1 = 0x40
	Rsv2 = 0x20
	Rsv3 = 0x10
)

// maskBit is the MASK bit of a header's second byte.
const maskBit = 0x80

const (
	MaxHeaderLen      = 14  // 2 + 8 (64-bit length) + 4 (mask key)
	MaxControlPayload = 125 // RFC 6455 section 5.5
)

// Header is a decoded frame header (RFC 6455 section 5.2).
type Header struct {
	Fin    bool
	Rsv    byte // the three RSV bits, in place (0x70 mask)
	Op     Opcode
	Masked bool
	Key    uint32 // mask key, little endian as it appears on the wire
	Length uint64
}

// HeaderLen returns how many bytes a header whose second byte is b1 takes.
func HeaderLen(b1 byte) int {
	n := 2
	switch b1 & 0x7F {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&maskBit != 0 {
		n += 4
	}
	return n
}

// ParseHeader decodes a complete header from b (len(b) >= HeaderLen(b[1])).
// It checks only what the header alone can break: the 64-bit length's top
// bit and non-minimal length encodings (RFC 6455 section 5.2: "the minimal
// number of bytes MUST be used"). It reports false for a malformed header.
func ParseHeader(b []byte) (h Header, ok bool) {
	h.Fin = b[0]&Fin != 0
	h.Rsv = b[0] & (Rsv1 | Rsv2 | Rsv3)
	h.Op = Opcode(b[0] & 0x0F)
	h.Masked = b[1]&maskBit != 0
	i := 2
	switch n := b[1] & 0x7F; n {
	case 126:
		h.Length = uint64(binary.BigEndian.Uint16(b[2:]))
		i += 2
		ok = h.Length >= 126
	case 127:
		h.Length = binary.BigEndian.Uint64(b[2:])
		i += 8
		ok = h.Length > 0xFFFF && h.Length>>63 == 0
	default:
		h.Length = uint64(n)
		ok = true
	}
	if h.Masked {
		h.Key = binary.LittleEndian.Uint32(b[i:])
	}
	return h, ok
}

// PutHeader encodes a header into b (len(b) >= MaxHeaderLen) and returns its
// length. The length field uses the minimal encoding.
func PutHeader(b []byte, fin bool, rsv byte, op Opcode, length int, masked bool, key uint32) int {
	b[0] = byte(op) | rsv
	if fin {
		b[0] |= Fin
	}
	var mask byte
	if masked {
		mask = maskBit
	}
	n := 2
	switch {
	case length < 126:
		b[1] = mask | byte(length)
	case length <= 0xFFFF:
		b[1] = mask | 126
		binary.BigEndian.PutUint16(b[2:], uint16(length))
		n += 2
	default:
		b[1] = mask | 127
		binary.BigEndian.PutUint64(b[2:], uint64(length))
		n += 8
	}
	if masked {
		binary.LittleEndian.PutUint32(b[n:], key)
		n += 4
	}
	return n
}
