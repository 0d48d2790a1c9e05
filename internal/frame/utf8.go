package frame

import (
	"encoding/binary"
	"unicode/utf8"
)

// UTF8State is the state of an incremental UTF-8 validator, so a text
// message can be checked as its bytes arrive and fail at the first invalid
// byte (RFC 6455 section 8.1), even inside a fragment. Zero means "between
// characters"; otherwise the low byte counts the continuation bytes still
// due and the next two bytes bound the next one (RFC 3629 section 4 rules
// out overlong forms, surrogates and code points past U+10FFFF this way).
type UTF8State uint32

const (
	cont     = 0x80 | 0xBF<<8 // any continuation byte: 80..BF
	asciiBit = 0x8080808080808080
)

func pending(n uint32, lo, hi byte) UTF8State {
	return UTF8State(n | uint32(lo)<<8 | uint32(hi)<<16)
}

// leadState returns the state after lead byte c, or false if c cannot start
// a character.
func leadState(c byte) (UTF8State, bool) {
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

// Next validates p after state s and returns the new state; ok is false at
// the first byte that cannot occur in UTF-8 at its position. The state
// machine runs only across the ends of p: a character begun before p is
// finished byte by byte, the whole characters in between are checked in
// blocks (ASCII 32 bytes at a time, the rest by the standard library), and
// a character that p leaves unfinished is begun byte by byte, so that a
// prefix no character can have fails at once.
func (s UTF8State) Next(p []byte) (_ UTF8State, ok bool) {
	for len(p) > 0 && s != 0 {
		if s, ok = s.step(p[0]); !ok {
			return s, false
		}
		p = p[1:]
	}
	whole := completeChars(p)
	if !validWhole(p[:whole]) {
		return 0, false
	}
	for _, c := range p[whole:] {
		if s, ok = s.step(c); !ok {
			return s, false
		}
	}
	return s, true
}

// step takes one byte after state s.
func (s UTF8State) step(c byte) (UTF8State, bool) {
	if s == 0 {
		return leadState(c)
	}
	if c < byte(s>>8) || c > byte(s>>16) {
		return s, false
	}
	if n := uint32(s&0xFF) - 1; n > 0 {
		return UTF8State(n | cont<<8), true
	}
	return 0, true
}

// completeChars returns the length of p without a character that starts
// in its last three bytes and needs bytes past its end.
func completeChars(p []byte) int {
	for k := len(p) - 1; k >= 0 && k >= len(p)-3; k-- {
		switch c := p[k]; {
		case c < 0x80:
			return len(p)
		case c >= 0xC0: // a lead byte: of 2, 3 or 4 bytes
			n := 2
			if c >= 0xF0 {
				n = 4
			} else if c >= 0xE0 {
				n = 3
			}
			if k+n > len(p) {
				return k
			}
			return len(p)
		}
	}
	return len(p)
}

// validWhole reports whether p is valid UTF-8 that ends between
// characters.
func validWhole(p []byte) bool {
	for len(p) >= 32 {
		b := (*[32]byte)(p)
		w := binary.LittleEndian.Uint64(b[0:]) | binary.LittleEndian.Uint64(b[8:]) |
			binary.LittleEndian.Uint64(b[16:]) | binary.LittleEndian.Uint64(b[24:])
		if w&asciiBit != 0 {
			break
		}
		p = p[32:]
	}
	return utf8.Valid(p)
}

// ValidUTF8 reports whether p is complete, valid UTF-8.
func ValidUTF8(p []byte) bool {
	s, ok := UTF8State(0).Next(p)
	return ok && s == 0
}
