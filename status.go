package wss

import "strconv"

// StatusCode is the status of a connection's end, as OnClose and
// CloseError report it, and the code Close sends. Positive values are the
// close codes of RFC 6455 section 7.4 as they travel in close frames: the
// code the peer sent, or StatusNoStatus when its close frame had none.
// Negative values are local causes: the connection ended without a close
// frame from the peer, and no such value is ever on the wire.
type StatusCode int

// Close codes of RFC 6455 section 7.4.1, as sent in close frames and passed
// to OnClose.
const (
	StatusNormalClosure   StatusCode = 1000
	StatusGoingAway       StatusCode = 1001
	StatusProtocolError   StatusCode = 1002
	StatusUnsupportedData StatusCode = 1003
	StatusNoStatus        StatusCode = 1005 // never sent: the peer's close frame had no code
	StatusInvalidData     StatusCode = 1007 // a text message was not valid UTF-8
	StatusPolicyViolation StatusCode = 1008
	StatusMessageTooBig   StatusCode = 1009
	StatusMandatoryExt    StatusCode = 1010
	StatusInternalError   StatusCode = 1011
	StatusServiceRestart  StatusCode = 1012
	StatusTryAgainLater   StatusCode = 1013
	StatusBadGateway      StatusCode = 1014
)

// Negative statuses passed to OnClose when the connection ended without a
// close frame from the peer.
const (
	// StatusConnLost: the peer closed or reset the TCP connection, or a read
	// or write on it failed.
	StatusConnLost StatusCode = -1 - iota
	// StatusProtocolViolation: the peer broke RFC 6455; it was sent 1002.
	StatusProtocolViolation
	// StatusInvalidUTF8: the peer sent invalid UTF-8 in a text message or a
	// close reason; it was sent 1007.
	StatusInvalidUTF8
	// StatusTooBig: the peer's message exceeded MaxMessageSize; it was sent 1009.
	StatusTooBig
	// StatusWriteTimeout: a write did not complete within WriteTimeout.
	StatusWriteTimeout
	// StatusCloseTimeout: the peer did not answer a close frame within
	// CloseTimeout.
	StatusCloseTimeout
	// StatusIdleTimeout: nothing arrived from the peer within IdleTimeout.
	StatusIdleTimeout
	// StatusPongTimeout: the peer did not answer a keepalive ping in time.
	StatusPongTimeout
	// StatusShutdown: the dispatcher was shut down before the close handshake
	// completed.
	StatusShutdown
)

// Local reports whether s is a local cause (negative): the connection
// ended without a close frame from the peer. Otherwise s is a code from
// the wire.
func (s StatusCode) Local() bool { return s < 0 }

// String returns the number and its meaning, "1000 normal closure" or
// "-5 write timeout": a negative number is a local cause, a positive one a
// close code.
func (s StatusCode) String() string {
	return strconv.Itoa(int(s)) + " " + s.meaning()
}

var statusMeanings = map[StatusCode]string{
	StatusNormalClosure:   "normal closure",
	StatusGoingAway:       "going away",
	StatusProtocolError:   "protocol error",
	StatusUnsupportedData: "unsupported data",
	1004:                  "reserved",
	StatusNoStatus:        "no status",
	1006:                  "abnormal closure",
	StatusInvalidData:     "invalid data",
	StatusPolicyViolation: "policy violation",
	StatusMessageTooBig:   "message too big",
	StatusMandatoryExt:    "mandatory extension",
	StatusInternalError:   "internal error",
	StatusServiceRestart:  "service restart",
	StatusTryAgainLater:   "try again later",
	StatusBadGateway:      "bad gateway",
	1015:                  "TLS handshake",

	StatusConnLost:          "connection lost",
	StatusProtocolViolation: "protocol violation",
	StatusInvalidUTF8:       "invalid UTF-8",
	StatusTooBig:            "message too big",
	StatusWriteTimeout:      "write timeout",
	StatusCloseTimeout:      "close timeout",
	StatusIdleTimeout:       "idle timeout",
	StatusPongTimeout:       "pong timeout",
	StatusShutdown:          "shutdown",
}

// meaning names s, or the range of the registry it falls in.
func (s StatusCode) meaning() string {
	if m, ok := statusMeanings[s]; ok {
		return m
	}
	switch {
	case s >= 3000 && s <= 3999:
		return "registered"
	case s >= 4000 && s <= 4999:
		return "private"
	case s < 0:
		return "unknown local cause"
	}
	return "unknown"
}
