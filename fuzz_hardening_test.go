package wss

import (
	"bytes"
	"encoding/binary"
	"testing"
	"unicode/utf8"
)

// The fuzz targets of the peer-controlled inputs this file covers: text
// payloads (UTF-8 validation) and close frame payloads. Seed corpora are in
// testdata/fuzz; SECURITY.md gives the command for a long run.

// FuzzUTF8 checks the incremental validator against unicode/utf8: on the
// whole input, and fed in two parts split anywhere, as bytes arrive in
// separate reads and fragments (RFC 6455 section 8.1). It must fail at the
// first byte that makes the input invalid, not later.
func FuzzUTF8(f *testing.F) {
	for _, s := range []string{
		"", "hello", "κόσμε", "\xf0\x9f\x98\x80", "\xed\xa0\x80", "\xc0\xaf",
		"\xf4\x90\x80\x80", "\xe0\x80\xaf", "abc\xce", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
		"12345678\xe2\x82", "\xef\xbb\xbf", "\xf0\x90\x80",
	} {
		f.Add([]byte(s), uint8(len(s)/2))
	}
	f.Fuzz(func(t *testing.T, p []byte, cut uint8) {
		want := utf8.Valid(p)
		if got := validUTF8(p); got != want {
			t.Fatalf("validUTF8(%q) = %v, unicode/utf8 says %v", p, got, want)
		}
		k := int(cut) % (len(p) + 1)
		s, ok1 := utf8State(0).next(p[:k])
		ok2 := false
		if ok1 {
			s, ok2 = s.next(p[k:])
		}
		if got := ok1 && ok2 && s == 0; got != want {
			t.Fatalf("split at %d of %q: valid %v, want %v", k, p, got, want)
		}
		// Fail fast: a prefix that is still a prefix of some valid text
		// must be accepted, so the first rejection is at the first bad byte.
		if ok1 && !validPrefix(p[:k]) {
			t.Fatalf("accepted %q, which no valid text starts with", p[:k])
		}
		if !ok1 && validPrefix(p[:k]) {
			t.Fatalf("rejected %q, which valid text may start with", p[:k])
		}
	})
}

// validPrefix reports whether p can be extended to valid UTF-8: all of it
// but a trailing incomplete character is valid, and that character can be
// completed.
func validPrefix(p []byte) bool {
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRune(p[i:])
		if r != utf8.RuneError || n > 1 {
			i += n
			continue
		}
		// An incomplete but possible character must be the tail.
		for _, tail := range [][]byte{{0x80}, {0x80, 0x80}, {0x80, 0x80, 0x80},
			{0x90, 0x80, 0x80}, {0xa0, 0x80}, {0x9f, 0x80}, {0x8f, 0x80, 0x80}} {
			q := append(append([]byte(nil), p[i:]...), tail...)
			if r, n := utf8.DecodeRune(q); (r != utf8.RuneError || n > 1) && n == len(q) {
				return true
			}
		}
		return false
	}
	return true
}

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
		code, fail := parseClosePayload(p)
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
		case !validCloseCode(int(binary.BigEndian.Uint16(p))):
			if fail != StatusProtocolError {
				t.Fatalf("code %d: fail %d, want 1002", binary.BigEndian.Uint16(p), fail)
			}
		case !utf8.Valid(p[2:]):
			if fail != StatusInvalidData {
				t.Fatalf("reason %q: fail %d, want 1007", p[2:], fail)
			}
		default:
			if code != int(binary.BigEndian.Uint16(p)) || !bytes.Equal(closeBody(code), p[:2]) {
				t.Fatalf("payload %x: code %d", p, code)
			}
		}
	})
}
