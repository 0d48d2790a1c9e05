package wss

import (
	"encoding/binary"

	"github.com/wssgo/wss/internal/frame"
)

// validCloseCode reports whether an endpoint may send code in a close frame
// (RFC 6455 section 7.4 and the IANA registry): the assigned codes that
// are not reserved for local use (1005, 1006, 1015), and the ranges
// 3000-3999 (registered) and 4000-4999 (private).
func validCloseCode(code int) bool {
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
// payload), or the close code to fail the connection with.
func parseClosePayload(p []byte) (code int, fail int) {
	switch {
	case len(p) == 0:
		return StatusNoStatus, 0
	case len(p) == 1:
		return 0, StatusProtocolError
	}
	code = int(binary.BigEndian.Uint16(p))
	if !validCloseCode(code) {
		return 0, StatusProtocolError
	}
	if !frame.ValidUTF8(p[2:]) {
		return 0, StatusInvalidData
	}
	return code, 0
}
