package wss

import "strings"

// extension is one element of a Sec-WebSocket-Extensions header (RFC 6455
// section 9.1): a name and its parameters. bad marks an element that does
// not follow the grammar; it is declined, not guessed at.
type extension struct {
	name   string
	params []extParam
	bad    bool
}

type extParam struct {
	name, value string
	hasValue    bool
}

// parseExtensions parses the values of the Sec-WebSocket-Extensions fields
// of a request or response, in order. Parameter values may be tokens or
// quoted strings (RFC 6455 section 9.1 and RFC 7230 section 3.2.6); quoted
// values are unescaped.
func parseExtensions(values []string) []extension {
	var exts []extension
	for _, v := range values {
		s := extScanner{s: v}
		for {
			s.skipSpace()
			for s.peek() == ',' { // empty list elements are allowed
				s.i++
				s.skipSpace()
			}
			if s.done() {
				break
			}
			exts = append(exts, s.element())
		}
	}
	return exts
}

type extScanner struct {
	s string
	i int
}

func (s *extScanner) done() bool { return s.i >= len(s.s) }

func (s *extScanner) peek() byte {
	if s.done() {
		return 0
	}
	return s.s[s.i]
}

func (s *extScanner) skipSpace() {
	for !s.done() && (s.s[s.i] == ' ' || s.s[s.i] == '\t') {
		s.i++
	}
}

// element scans one extension up to the comma that ends it.
func (s *extScanner) element() extension {
	e := extension{name: s.token()}
	if e.name == "" {
		e.bad = true
	}
	for !e.bad {
		s.skipSpace()
		switch s.peek() {
		case 0, ',':
			return e
		case ';':
			s.i++
		default:
			e.bad = true
			continue
		}
		s.skipSpace()
		p := extParam{name: s.token()}
		s.skipSpace()
		if s.peek() == '=' {
			s.i++
			s.skipSpace()
			p.hasValue = true
			var ok bool
			if p.value, ok = s.value(); !ok {
				e.bad = true
			}
		}
		if p.name == "" {
			e.bad = true
		}
		e.params = append(e.params, p)
	}
	s.skipBad()
	return e
}

// skipBad skips the rest of a malformed element, up to a comma outside
// quotes.
func (s *extScanner) skipBad() {
	quoted := false
	for ; !s.done(); s.i++ {
		switch c := s.s[s.i]; {
		case c == '\\' && quoted:
			s.i++
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			return
		}
	}
}

func (s *extScanner) token() string {
	start := s.i
	for !s.done() && isTokenChar(s.s[s.i]) {
		s.i++
	}
	return s.s[start:s.i]
}

// value scans a token or a quoted string and returns it unescaped.
func (s *extScanner) value() (string, bool) {
	if s.peek() != '"' {
		t := s.token()
		return t, t != ""
	}
	s.i++
	var b strings.Builder
	for !s.done() {
		c := s.s[s.i]
		s.i++
		switch {
		case c == '"':
			return b.String(), true
		case c == '\\' && !s.done():
			b.WriteByte(s.s[s.i])
			s.i++
		default:
			b.WriteByte(c)
		}
	}
	return "", false // unterminated
}

// isTokenChar reports whether c may appear in a token (RFC 7230 section
// 3.2.6).
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
