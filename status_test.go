package wss

import "testing"

// TestStatusCodeString: every status names its number and meaning; a
// positive one is a code from the wire, a negative one a local cause.
func TestStatusCodeString(t *testing.T) {
	for _, tc := range []struct {
		s     StatusCode
		text  string
		local bool
	}{
		{StatusNormalClosure, "1000 normal closure", false},
		{StatusGoingAway, "1001 going away", false},
		{StatusProtocolError, "1002 protocol error", false},
		{StatusUnsupportedData, "1003 unsupported data", false},
		{StatusNoStatus, "1005 no status", false},
		{StatusInvalidData, "1007 invalid data", false},
		{StatusPolicyViolation, "1008 policy violation", false},
		{StatusMessageTooBig, "1009 message too big", false},
		{StatusMandatoryExt, "1010 mandatory extension", false},
		{StatusInternalError, "1011 internal error", false},
		{StatusServiceRestart, "1012 service restart", false},
		{StatusTryAgainLater, "1013 try again later", false},
		{StatusBadGateway, "1014 bad gateway", false},
		{StatusConnLost, "-1 connection lost", true},
		{StatusProtocolViolation, "-2 protocol violation", true},
		{StatusInvalidUTF8, "-3 invalid UTF-8", true},
		{StatusTooBig, "-4 message too big", true},
		{StatusWriteTimeout, "-5 write timeout", true},
		{StatusCloseTimeout, "-6 close timeout", true},
		{StatusIdleTimeout, "-7 idle timeout", true},
		{StatusPongTimeout, "-8 pong timeout", true},
		{StatusShutdown, "-9 shutdown", true},
		{1004, "1004 reserved", false},
		{1006, "1006 abnormal closure", false},
		{1015, "1015 TLS handshake", false},
		{3000, "3000 registered", false},
		{3999, "3999 registered", false},
		{4000, "4000 private", false},
		{4999, "4999 private", false},
		{999, "999 unknown", false},
		{-10, "-10 unknown local cause", true},
	} {
		if got := tc.s.String(); got != tc.text {
			t.Errorf("StatusCode(%d).String() = %q, want %q", int(tc.s), got, tc.text)
		}
		if got := tc.s.Local(); got != tc.local {
			t.Errorf("StatusCode(%d).Local() = %v, want %v", int(tc.s), got, tc.local)
		}
	}
}

// TestMessageTypeIsChecked: Write and NewPreparedMessage take Text and
// Binary only, and say which value they refused.
func TestMessageTypeIsChecked(t *testing.T) {
	for _, typ := range []MessageType{0, 3, 8, 255} {
		if _, err := NewPreparedMessage(nil, typ); err == nil || err.Error() != "wss: invalid "+typ.String() {
			t.Errorf("NewPreparedMessage(nil, %d) = %v", typ, err)
		}
		c, sink := sinkClient(&Config{}, false)
		if err := c.Write(nil, typ); err == nil || sink.out.Len() != 0 {
			t.Errorf("Write(nil, %d) = %v, sent %d bytes", typ, err, sink.out.Len())
		}
		c.drop(StatusConnLost)
	}
	if Text.String() != "text" || Binary.String() != "binary" || MessageType(3).String() != "message type 3" {
		t.Errorf("String: %q %q %q", Text, Binary, MessageType(3))
	}
}
