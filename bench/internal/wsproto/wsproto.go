// Package wsproto holds the few pieces of RFC 6455 that the floor server and
// the load generator share. It is deliberately tiny: both programs do their
// own framing inline, because that is the cost they exist to measure.
package wsproto

import (
	"crypto/sha1"
	"encoding/base64"
)

// Opcodes of RFC 6455 section 5.2.
const (
	OpContinuation = 0x0
	OpText         = 0x1
	OpBinary       = 0x2
	OpClose        = 0x8
	OpPing         = 0x9
	OpPong         = 0xA
)

// MaxHeaderSize is the longest frame header: 2 bytes, an 8-byte extended
// length and a 4-byte masking key.
const MaxHeaderSize = 14

// AcceptKey returns the Sec-WebSocket-Accept value for a Sec-WebSocket-Key
// (RFC 6455 section 4.2.2, item 5.4).
func AcceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// HeaderSize returns the length of the frame header at the start of b, or 0
// if b is too short to tell (RFC 6455 section 5.2).
func HeaderSize(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	n := 2
	switch b[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b[1]&0x80 != 0 {
		n += 4
	}
	return n
}

// PayloadLen returns the payload length declared by the complete header h.
func PayloadLen(h []byte) uint64 {
	switch n := h[1] & 0x7f; n {
	case 126:
		return uint64(h[2])<<8 | uint64(h[3])
	case 127:
		var v uint64
		for _, c := range h[2:10] {
			v = v<<8 | uint64(c)
		}
		return v
	default:
		return uint64(n)
	}
}

// AppendHeader appends a frame header with FIN set, the given opcode and
// payload length, masked with an all-zero key when masked is true (a zero key
// leaves the payload unchanged, so a client can send the same bytes forever).
func AppendHeader(b []byte, opcode byte, length int, masked bool) []byte {
	var mask byte
	if masked {
		mask = 0x80
	}
	b = append(b, 0x80|opcode)
	switch {
	case length < 126:
		b = append(b, mask|byte(length))
	case length <= 0xffff:
		b = append(b, mask|126, byte(length>>8), byte(length))
	default:
		b = append(b, mask|127)
		for s := 56; s >= 0; s -= 8 {
			b = append(b, byte(uint64(length)>>s))
		}
	}
	if masked {
		b = append(b, 0, 0, 0, 0)
	}
	return b
}
