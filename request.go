package wss

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"unsafe"
)

// Request is an opening handshake request, as the newHandler of
// Dispatcher.Serve or HTTPHandler sees it, and what newHandler sets for
// the connection if it takes it: the 101 response's extra fields and the
// connection's Config. It is valid only during that call, and only on that
// goroutine; the strings its methods return are copies, which may be kept.
// Reading it costs nothing until a method is called, so a server that does
// not look at requests allocates nothing for them.
type Request struct {
	head   []byte // request line and header fields, each ending in CRLF: a view of the read buffer
	target []byte // a view of head
	c      *Conn
	hreq   *http.Request // as net/http parsed it, on the net/http path; else made by HTTP
	header http.Header   // ResponseHeader's, made by its first call
	cfg    *Config       // SetConfig's, or nil
}

// ResponseHeader returns the header fields to send with the 101 response
// if newHandler takes the request: Set-Cookie, for one. The map is made on
// the first call. Fields are written in the order of their names, after the
// handshake's own; those the handshake sets itself (Upgrade, Connection,
// Content-Length, Transfer-Encoding and every Sec-WebSocket-*) are left
// out, as are names that are not tokens, and control characters in values
// (CR, LF) become spaces, as net/http writes them. A refusal does not send
// them: it sends its HandshakeError's Header.
func (r *Request) ResponseHeader() http.Header {
	if r.header == nil {
		r.header = make(http.Header)
	}
	return r.header
}

// SetConfig gives the connection cfg instead of the Config of Serve or
// HTTPHandler: the limits, timeouts and keepalive that depend on who
// connects (a smaller MaxMessageSize for an anonymous client, say), and
// the Subprotocols and Compression its offers are negotiated with. The
// request itself was read and checked with the listener's Config
// (HandshakeTimeout, MaxHeaderBytes, the origin rule). nil means the
// listener's. cfg must not be modified once in use; it may be shared by
// many connections.
func (r *Request) SetConfig(cfg *Config) { r.cfg = cfg }

// Target returns the request-target as sent: the path and query, such as
// "/chat?room=go".
func (r *Request) Target() string {
	if r.hreq != nil {
		return r.hreq.RequestURI
	}
	return string(r.target)
}

// Header returns the first value of the header field name (matched
// case-insensitively) without surrounding spaces, or "" if there is none.
func (r *Request) Header(name string) string {
	if r.hreq != nil {
		if strings.EqualFold(name, "Host") {
			return r.hreq.Host
		}
		return r.hreq.Header.Get(name)
	}
	fields := r.head[bytes.IndexByte(r.head, '\n')+1:]
	for len(fields) > 0 {
		n, v, rest, err := nextField(fields)
		if err != nil {
			break
		}
		if strings.EqualFold(view(n), name) {
			return string(v)
		}
		fields = rest
	}
	return ""
}

// RemoteAddr returns the client's network address, or nil if it is gone.
func (r *Request) RemoteAddr() net.Addr {
	if r.hreq != nil {
		addr, err := net.ResolveTCPAddr("tcp", r.hreq.RemoteAddr)
		if err != nil {
			return nil
		}
		return addr
	}
	return r.c.fd.PeerAddr()
}

// HTTP returns the request as net/http parses it, for what the other
// methods do not offer (cookies, the URL's parts). On Serve's event loops
// it allocates the whole request on each call; on the net/http path
// (HTTPHandler) it returns the request net/http gave the handler.
func (r *Request) HTTP() (*http.Request, error) {
	if r.hreq != nil {
		return r.hreq, nil
	}
	src := io.MultiReader(bytes.NewReader(r.head), strings.NewReader("\r\n"))
	hr, err := http.ReadRequest(bufio.NewReader(src))
	if err != nil {
		return nil, err
	}
	if a := r.RemoteAddr(); a != nil {
		hr.RemoteAddr = a.String()
	}
	return hr, nil
}

// errMalformed: a request that HTTP/1.1 (RFC 9112) does not allow.
var errMalformed = refusal(http.StatusBadRequest, "malformed request")

// parseHead parses a request head, whose every line (the request line and
// each header field) ends in CRLF, without the empty line that ends the
// head. It fills f and returns the request-target. The strings in f are
// views of head.
func parseHead(head []byte, f *handshakeFields, cfg *Config) (target []byte, err error) {
	eol := bytes.IndexByte(head, '\n')
	if eol < 1 || head[eol-1] != '\r' {
		return nil, errMalformed
	}
	method, rest, ok := bytes.Cut(head[:eol-1], []byte{' '})
	if !ok || !isToken(method) {
		return nil, errMalformed
	}
	target, version, ok := bytes.Cut(rest, []byte{' '})
	if !ok || len(target) == 0 || !visible(target) {
		return nil, errMalformed
	}
	if len(version) != 8 || string(version[:5]) != "HTTP/" || version[6] != '.' ||
		!isDigit(version[5]) || !isDigit(version[7]) {
		return nil, errMalformed
	}
	f.method = view(method)
	f.major, f.minor = int(version[5]-'0'), int(version[7]-'0')
	for fields := head[eol+1:]; len(fields) > 0; {
		name, value, next, err := nextField(fields)
		if err != nil {
			return nil, err
		}
		f.field(view(name), view(value), cfg)
		fields = next
	}
	f.size = len(head) // as sent, rather than as field counts it
	return target, nil
}

// bareLF reports whether p, from its byte from on, holds an LF that does not
// end a CRLF.
//
// Such a request is refused with 400 (errMalformed) as soon as the LF
// arrives, rather than accepted as net/http accepts it. RFC 9112 section 2.2
// lets a recipient take a bare LF as a line end, but a proxy in front that
// does not would read "X: a<LF>X-Forwarded-For: b" as one field and let the
// second through to newHandler unchecked; no WebSocket client sends bare
// LFs. The check comes before the head ends because a head of bare LFs never
// shows the CRLFCRLF that ends it, and would wait for HandshakeTimeout.
// (A bare CR is refused by parseHead, once its line ends, as net/http
// refuses it. On the net/http path the line ends are gone before Handshake
// sees the request, so there net/http's rule holds.)
func bareLF(p []byte, from int) bool {
	for i := from; i < len(p); i++ {
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			return false
		}
		if i += j; i == 0 || p[i-1] != '\r' {
			return true
		}
	}
	return false
}

// nextField splits the first header field off fields, each ending in CRLF,
// and returns its name and its value without surrounding spaces.
func nextField(fields []byte) (name, value, rest []byte, err error) {
	eol := bytes.IndexByte(fields, '\n')
	if eol < 1 || fields[eol-1] != '\r' {
		return nil, nil, nil, errMalformed
	}
	line := fields[:eol-1]
	name, value, ok := bytes.Cut(line, []byte{':'})
	// A name must be a token: no space before the colon, and no line folded
	// onto the one before (RFC 9112 sections 5.1 and 5.2).
	if !ok || !isToken(name) {
		return nil, nil, nil, errMalformed
	}
	value = bytes.Trim(value, " \t")
	for _, b := range value {
		if b < ' ' && b != '\t' || b == 0x7F {
			return nil, nil, nil, errMalformed
		}
	}
	return name, value, fields[eol+1:], nil
}

// isToken reports whether b is an RFC 9110 token: one or more tchars.
func isToken(b []byte) bool {
	for _, c := range b {
		if !isTokenChar(c) {
			return false
		}
	}
	return len(b) > 0
}

// visible reports whether b holds only visible ASCII or obs-text, as a
// request-target must.
func visible(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c == 0x7F {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// view returns b as a string without copying: it is valid only while b is
// unchanged.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
