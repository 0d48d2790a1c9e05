package wss

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/wssgo/wss/internal/frame"
)

// validCloseCode reports whether an endpoint may send code in a close frame
// (RFC 6455 section 7.4 and the IANA registry): the assigned codes that
// are not reserved for local use (1005, 1006, 1015), and the ranges
// 3000-3999 (registered) and 4000-4999 (private).
func validCloseCode(code StatusCode) bool {
	switch {
	case code >= 1000 && code <= 1003:
		return true
	case code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// parseClosePayload decodes a received close frame's payload (RFC 6455
// section 5.5.1). It returns the code to report (StatusNoStatus for an empty
// payload) and the reason, or the close code to fail the connection with.
func parseClosePayload(p []byte) (code StatusCode, reason []byte, fail StatusCode) {
	switch {
	case len(p) == 0:
		return StatusNoStatus, nil, 0
	case len(p) == 1:
		return 0, nil, StatusProtocolError
	}
	code = StatusCode(binary.BigEndian.Uint16(p))
	if !validCloseCode(code) {
		return 0, nil, StatusProtocolError
	}
	if !frame.ValidUTF8(p[2:]) {
		return 0, nil, StatusInvalidData
	}
	return code, p[2:], 0
}

// maxCloseReason is the longest reason a close frame carries: a control
// payload of 125 bytes less the code's two.
const maxCloseReason = frame.MaxControlPayload - 2

// checkCloseReason checks a close reason to send (RFC 6455 section 5.5.1:
// UTF-8, and at most 123 bytes, so that the payload fits a control frame).
func checkCloseReason(reason string) error {
	if len(reason) > maxCloseReason {
		return fmt.Errorf("%w: a close reason of %d bytes, at most %d", ErrControlTooLong, len(reason), maxCloseReason)
	}
	if !utf8.ValidString(reason) {
		return fmt.Errorf("%w: close reason", ErrInvalidUTF8)
	}
	return nil
}

// putClosePayload encodes code and a checked reason as a close frame's
// payload into buf.
func putClosePayload(buf *[frame.MaxControlPayload]byte, code StatusCode, reason string) []byte {
	binary.BigEndian.PutUint16(buf[:], uint16(code))
	return buf[:2+copy(buf[2:], reason)]
}
