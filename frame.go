package wss

import (
	"encoding/binary"
	"math/bits"
)

// opcode is a frame's opcode (RFC 6455 section 5.2).
type opcode byte

const (
	opContinuation opcode = 0x0
	opText         opcode = 0x1
	opBinary       opcode = 0x2
	opClose        opcode = 0x8
	opPing         opcode = 0x9
	opPong         opcode = 0xA
)

func (op opcode) isControl() bool { return op&0x8 != 0 }

// Header bits of the first byte.
const (
	bitFin  = 0x80
	bitRsv1 = 0x40
	bitRsv2 = 0x20
	bitRsv3 = 0x10
	bitMask = 0x80
)

const (
	maxHeaderLen       = 14  // 2 + 8 (64-bit length) + 4 (mask key)
	maxControlPayload  = 125 // RFC 6455 section 5.5
	maxServerHeaderLen = 10  // server frames are not masked
)

// header is a decoded frame header (RFC 6455 section 5.2).
type header struct {
	fin    bool
	rsv    byte // the three RSV bits, in place (0x70 mask)
	op     opcode
	masked bool
	key    uint32 // mask key, little endian as it appears on the wire
	length uint64
}

// headerLen returns how many bytes the header starting with b0, b1 takes.
func headerLen(b1 byte) int {
	n := 2
	switch b1 & 0x7F {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&bitMask != 0 {
		n += 4
	}
	return n
}

// parseHeader decodes a complete header from b (len(b) >= headerLen(b[1])).
// It checks only what the header alone can break: the 64-bit length's top
// bit and non-minimal length encodings (RFC 6455 section 5.2: "the minimal
// number of bytes MUST be used"). It reports false for a malformed header.
func parseHeader(b []byte) (h header, ok bool) {
	h.fin = b[0]&bitFin != 0
	h.rsv = b[0] & (bitRsv1 | bitRsv2 | bitRsv3)
	h.op = opcode(b[0] & 0x0F)
	h.masked = b[1]&bitMask != 0
	i := 2
	switch n := b[1] & 0x7F; n {
	case 126:
		h.length = uint64(binary.BigEndian.Uint16(b[2:]))
		i += 2
		ok = h.length >= 126
	case 127:
		h.length = binary.BigEndian.Uint64(b[2:])
		i += 8
		ok = h.length > 0xFFFF && h.length>>63 == 0
	default:
		h.length = uint64(n)
		ok = true
	}
	if h.masked {
		h.key = binary.LittleEndian.Uint32(b[i:])
	}
	return h, ok
}

// putHeader encodes a header into b (len(b) >= maxHeaderLen) and returns its
// length. The length field uses the minimal encoding.
func putHeader(b []byte, fin bool, rsv byte, op opcode, length int, masked bool, key uint32) int {
	b[0] = byte(op) | rsv
	if fin {
		b[0] |= bitFin
	}
	var mask byte
	if masked {
		mask = bitMask
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

// rotateKey returns the mask key shifted so that masking can resume n bytes
// into a payload.
func rotateKey(key uint32, n int) uint32 {
	return bits.RotateLeft32(key, -8*(n&3))
}
