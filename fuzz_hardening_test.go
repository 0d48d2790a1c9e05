package wss

import (
	"bytes"
	"encoding/binary"
	"testing"
	"unicode/utf8"
)

// The fuzz target for close frame payloads; frames, handshakes and UTF-8
// have theirs in fuzz_test.go, inflation in deflate_test.go. Seed corpora
// are in testdata/fuzz; SECURITY.md gives the command for a long run.

// FuzzClosePayload checks the decoding of a received close frame's payload
// (RFC 6455 section 5.5.1): a one-byte payload, a code an endpoint may not
// send and a reason that is not UTF-8 fail the connection with 1002 or
// 1007; anything else reports its code, and the reply echoes it.
func FuzzClosePayload(f *testing.F) {
	for _, p := range [][]byte{
		nil, {0x03}, {0x03, 0xe8}, {0x03, 0xe9, 'o', 'k'}, {0x03, 0xed}, {0x03, 0xee},
		{0x03, 0xf7}, {0x0b, 0xb8}, {0x13, 0x87}, {0x13, 0x88}, {0x03, 0xe8, 0xff},
		{0x03, 0xe8, 0xce, 0xba}, {0x00, 0x00}, {0xff, 0xff},
	} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		code, reason, fail := parseClosePayload(p)
		if (code == 0) == (fail == 0) {
			t.Fatalf("parseClosePayload(%x) = %d, %d: want exactly one", p, code, fail)
		}
		switch {
		case len(p) == 0:
			if code != StatusNoStatus {
				t.Fatalf("empty payload: code %d", code)
			}
		case len(p) == 1:
			if fail != StatusProtocolError {
				t.Fatalf("one byte: fail %d", fail)
			}
		case !validCloseCode(StatusCode(binary.BigEndian.Uint16(p))):
			if fail != StatusProtocolError {
				t.Fatalf("code %d: fail %d, want 1002", binary.BigEndian.Uint16(p), fail)
			}
		case !utf8.Valid(p[2:]):
			if fail != StatusInvalidData {
				t.Fatalf("reason %q: fail %d, want 1007", p[2:], fail)
			}
		default:
			if code != StatusCode(binary.BigEndian.Uint16(p)) || !bytes.Equal(closePayload(code, ""), p[:2]) || !bytes.Equal(reason, p[2:]) {
				t.Fatalf("payload %x: code %d, reason %q", p, code, reason)
			}
			// What Close would send for it is the same payload.
			var buf [125]byte
			if len(reason) <= maxCloseReason && !bytes.Equal(putClosePayload(&buf, code, string(reason)), p) {
				t.Fatalf("payload %x: Close would send %x", p, putClosePayload(&buf, code, string(reason)))
			}
		}
	})
}
