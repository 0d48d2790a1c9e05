package wstest

import "unicode/utf8"

// ValidUTF8Prefix reports whether p can be extended to valid UTF-8: the
// reference the tests hold an incremental validator's fail-fast to
// (RFC 6455 section 8.1). The second byte of every lead byte's range
// contains one of 0x80, 0x90, 0xA0 or 0xBF, so trying those suffices.
func ValidUTF8Prefix(p []byte) bool {
	if utf8.Valid(p) {
		return true
	}
	cands := []byte{0x80, 0x90, 0xa0, 0xbf}
	var try func(q []byte, depth int) bool
	try = func(q []byte, depth int) bool {
		if utf8.Valid(q) {
			return true
		}
		if depth == 3 {
			return false
		}
		for _, c := range cands {
			if try(append(q[:len(q):len(q)], c), depth+1) {
				return true
			}
		}
		return false
	}
	return try(p, 0)
}
