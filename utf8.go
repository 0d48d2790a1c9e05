package wss

import "encoding/binary"

// utf8State is the state of an incremental UTF-8 validator, so a text
// message can be checked as its bytes arrive and fail at the first invalid
// byte (RFC 6455 section 8.1), even inside a fragment. Zero means "between
// characters"; otherwise the low byte counts the continuation bytes still
// due and the next two bytes bound the next one (RFC 3629 section 4 rules
// out overlong forms, surrogates and code points past U+10FFFF this way).
type utf8State uint32

const (
	cont     = 0x80 | 0xBF<<8 // any continuation byte: 80..BF
	asciiBit = 0x8080808080808080
)

func pending(n uint32, lo, hi byte) utf8State {
	return utf8State(n | uint32(lo)<<8 | uint32(hi)<<16)
}

// leadState returns the state after lead byte c, or false if c cannot start
// a character.
func leadState(c byte) (utf8State, bool) {
	switch {
	case c < 0x80:
		return 0, true
	case c < 0xC2: // continuation byte or overlong 2-byte lead
		return 0, false
	case c < 0xE0:
		return pending(1, 0x80, 0xBF), true
	case c == 0xE0: // no overlong 3-byte forms
		return pending(2, 0xA0, 0xBF), true
	case c == 0xED: // no UTF-16 surrogates
		return pending(2, 0x80, 0x9F), true
	case c < 0xF0:
		return pending(2, 0x80, 0xBF), true
	case c == 0xF0: // no overlong 4-byte forms
		return pending(3, 0x90, 0xBF), true
	case c < 0xF4:
		return pending(3, 0x80, 0xBF), true
	case c == 0xF4: // nothing past U+10FFFF
		return pending(3, 0x80, 0x8F), true
	}
	return 0, false
}

// next validates p after state s and returns the new state; ok is false at
// the first byte that cannot occur in UTF-8 at its position.
func (s utf8State) next(p []byte) (_ utf8State, ok bool) {
	for i := 0; i < len(p); {
		if s == 0 {
			for i+8 <= len(p) && binary.LittleEndian.Uint64(p[i:])&asciiBit == 0 {
				i += 8
			}
			if i == len(p) {
				break
			}
			if s, ok = leadState(p[i]); !ok {
				return s, false
			}
			i++
			continue
		}
		c := p[i]
		if c < byte(s>>8) || c > byte(s>>16) {
			return s, false
		}
		if n := uint32(s&0xFF) - 1; n > 0 {
			s = utf8State(n | cont<<8)
		} else {
			s = 0
		}
		i++
	}
	return s, true
}

// validUTF8 reports whether p is complete, valid UTF-8.
func validUTF8(p []byte) bool {
	s, ok := utf8State(0).next(p)
	return ok && s == 0
}
