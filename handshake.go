package wss

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// acceptGUID is the fixed suffix of RFC 6455 section 1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// acceptKey returns Sec-WebSocket-Accept for a Sec-WebSocket-Key.
func acceptKey(key string) string {
	var b [28]byte
	return string(appendAcceptKey(b[:0], key))
}

// appendAcceptKey appends Sec-WebSocket-Accept for key to dst, without
// allocating for a key of the usual 24 bytes.
func appendAcceptKey(dst []byte, key string) []byte {
	var in [24 + len(acceptGUID)]byte
	sum := sha1.Sum(append(append(in[:0], key...), acceptGUID...))
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

// appendAccept appends the 101 response that completes a handshake, with
// the fields the application set (Request.ResponseHeader) after its own.
func appendAccept(dst []byte, key, proto, ext string, extra http.Header) []byte {
	dst = append(dst, "HTTP/1.1 101 Switching Protocols\r\n"+
		"Upgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Accept: "...)
	dst = appendAcceptKey(dst, key)
	dst = append(dst, "\r\n"...)
	if proto != "" {
		dst = append(append(append(dst, "Sec-WebSocket-Protocol: "...), proto...), "\r\n"...)
	}
	if ext != "" {
		dst = append(append(append(dst, "Sec-WebSocket-Extensions: "...), ext...), "\r\n"...)
	}
	dst = appendFields(dst, extra, handshakeField)
	return append(dst, "\r\n"...)
}

// upgradedConn is a connection hijacked from net/http: it carries what the
// handshake negotiated, and the bytes the client sent after its request, to
// connect.
type upgradedConn struct {
	net.Conn
	subprotocol string
	deflate     *deflate
	pending     []byte
}

// refuseHTTP answers a request that is not a valid upgrade, or that
// newHandler refused (err), on the net/http path.
func refuseHTTP(w http.ResponseWriter, f *handshakeFields, err error) {
	var app *HandshakeError
	if errors.As(err, &app) {
		writeHandshakeError(w, app)
		return
	}
	if f.body || f.badLength {
		// Its content is not read as the next request: the connection
		// ends, as it does on Serve.
		w.Header().Set("Connection", "close")
	}
	status, reason := refusalResponse(err, w.Header().Set)
	http.Error(w, reason, status)
}

// hijackAccept takes the connection of a checked request over from
// net/http and writes its 101 response, with extra's fields.
func hijackAccept(w http.ResponseWriter, f *handshakeFields, key string, cfg *Config, extra http.Header) (net.Conn, error) {
	proto := f.subprotocol(cfg.Subprotocols)
	ext, dfl := negotiateOffers(f.extensions, cfg.Compression)
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "wss: cannot take over the connection", http.StatusInternalServerError)
		return nil, fmt.Errorf("wss: handshake: %w: %w", ErrHandshake, err)
	}
	uc := &upgradedConn{Conn: nc, subprotocol: proto, deflate: dfl, pending: buffered(brw.Reader)}
	if err := writeAccept(nc, appendAccept(nil, key, proto, ext, extra), cfg.handshakeTimeout()); err != nil {
		nc.Close()
		return nil, fmt.Errorf("wss: handshake: %w: %w", ErrHandshake, err)
	}
	return uc, nil
}

// buffered returns a copy of what br holds unread: bytes the peer sent right
// after its handshake, which the connection must read first. It is nil when
// there are none.
func buffered(br *bufio.Reader) []byte {
	p, _ := br.Peek(br.Buffered())
	if len(p) == 0 {
		return nil
	}
	return append([]byte(nil), p...)
}

// writeAccept sends the 101 response and clears the deadlines net/http set.
func writeAccept(nc net.Conn, resp []byte, timeout time.Duration) error {
	if err := nc.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	if _, err := nc.Write(resp); err != nil {
		return err
	}
	return nc.SetDeadline(time.Time{})
}

// handshakeError is a refused handshake (a refusal): the HTTP status and
// the reason given to the client, and the error behind it that the client
// is not shown, if any.
type handshakeError struct {
	status int
	reason string
	cause  error
}

func (e *handshakeError) Error() string {
	if e.cause != nil {
		return e.reason + ": " + e.cause.Error()
	}
	return e.reason
}

func (e *handshakeError) Unwrap() []error {
	if e.cause != nil {
		return []error{ErrHandshake, e.cause}
	}
	return []error{ErrHandshake}
}

// refusal returns the refusal of a request with status and reason.
func refusal(status int, reason string) *handshakeError {
	return &handshakeError{status: status, reason: reason}
}

// refusalResponse gives the response to a request refused with err: its status, the
// reason its body gives, and through header the fields a client needs to
// try again (the version spoken, the method allowed, when to come back).
// A request the Dispatcher cannot take gets 503.
func refusalResponse(err error, header func(name, value string)) (status int, reason string) {
	status, reason = http.StatusServiceUnavailable, err.Error()
	var he *handshakeError
	if errors.As(err, &he) {
		status, reason = he.status, "wss: "+he.reason
	}
	header("Sec-WebSocket-Version", "13")
	switch {
	case status == http.StatusMethodNotAllowed:
		header("Allow", http.MethodGet)
	case errors.Is(err, ErrTooManyConnections):
		header("Retry-After", "1")
	}
	return status, reason
}

// handshakeFields is what the opening handshake checks read of a request:
// gathered from the request net/http parsed (Handshake), or from one that
// Serve parsed in place. Its strings may be views of a read buffer, so
// nothing keeps them past the handshake.
type handshakeFields struct {
	method       string
	major, minor int
	host         string
	hosts        int
	size         int  // request line and header fields, as sent
	upgrade      bool // "websocket" is among the Upgrade tokens
	connection   bool // "upgrade" is among the Connection tokens
	versions     int
	version      string // the first Sec-WebSocket-Version
	keys         int
	key          string // the last Sec-WebSocket-Key
	origin       string // the first Origin
	tls          bool   // the request came over TLS: Host's default port is 443
	proto        int    // 1 + index in the server's Subprotocols of the preferred one offered; 0: none
	lengths      int    // Content-Length fields
	length       string // the first Content-Length value
	badLength    bool   // a Content-Length that is not 1*DIGIT, or unlike the first (RFC 9112 section 6.3)
	body         bool   // a Transfer-Encoding, or a Content-Length other than 0: content follows the head
	// extensions are the Sec-WebSocket-Extensions values, gathered only when
	// the server negotiates compression.
	extensions []string
}

// field takes one header field of the request.
func (u *handshakeFields) field(name, value string, cfg *Config) {
	u.size += len(name) + len(value) + 4
	switch {
	case strings.EqualFold(name, "Host"):
		u.hosts++
		u.host = strings.Trim(value, " \t")
	case strings.EqualFold(name, "Upgrade"):
		u.upgrade = u.upgrade || listHasToken(value, "websocket")
	case strings.EqualFold(name, "Connection"):
		u.connection = u.connection || listHasToken(value, "upgrade")
	case strings.EqualFold(name, "Sec-WebSocket-Version"):
		if u.versions++; u.versions == 1 {
			u.version = value
		}
	case strings.EqualFold(name, "Sec-WebSocket-Key"):
		u.keys++
		u.key = value
	case strings.EqualFold(name, "Origin"):
		if u.origin == "" {
			u.origin = value
		}
	case strings.EqualFold(name, "Sec-WebSocket-Protocol"):
		u.offerSubprotocols(value, cfg.Subprotocols)
	case strings.EqualFold(name, "Sec-WebSocket-Extensions"):
		if cfg.Compression != nil {
			u.extensions = append(u.extensions, value)
		}
	case strings.EqualFold(name, "Content-Length"):
		u.contentLength(value)
	case strings.EqualFold(name, "Transfer-Encoding"):
		u.body = true // whatever the coding: the head is followed by content
	}
}

// contentLength takes a Content-Length value. The field is 1*DIGIT (RFC 9110
// section 8.6), leading zeros allowed; a list ("0, 0"), a sign, an empty
// value or a second field with another value makes the framing invalid (RFC
// 9112 section 6.3), as net/http also holds.
func (u *handshakeFields) contentLength(value string) {
	if u.lengths++; u.lengths == 1 {
		u.length = value
	} else if value != u.length {
		u.badLength = true
	}
	if value == "" {
		u.badLength = true
	}
	for i := 0; i < len(value); i++ {
		switch {
		case !isDigit(value[i]):
			u.badLength = true
		case value[i] != '0':
			u.body = true
		}
	}
}

// offerSubprotocols takes a Sec-WebSocket-Protocol value: the server picks,
// in its own order of preference, the first subprotocol the client offered.
// Names match case-sensitively: the client fails the connection unless the
// answer is one of the values it sent (RFC 6455 section 4.1).
func (u *handshakeFields) offerSubprotocols(value string, server []string) {
	for t := range strings.SplitSeq(value, ",") {
		t = strings.Trim(t, " \t")
		for i, p := range server {
			if p == t && (u.proto == 0 || i+1 < u.proto) {
				u.proto = i + 1
			}
		}
	}
}

// subprotocol returns the chosen subprotocol, or "".
func (u *handshakeFields) subprotocol(server []string) string {
	if u.proto == 0 {
		return ""
	}
	return server[u.proto-1]
}

// upgradeFromHTTP gathers what the checks read of a request net/http
// parsed; net/http moved its Host field to r.Host.
func upgradeFromHTTP(r *http.Request, cfg *Config) *handshakeFields {
	u := &handshakeFields{method: r.Method, major: r.ProtoMajor, minor: r.ProtoMinor, tls: r.TLS != nil}
	u.size = len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
	u.field("Host", r.Host, cfg)
	if r.Host == "" {
		u.hosts = 0
	}
	// net/http moved Transfer-Encoding out of the header and checked the
	// framing (refusing an invalid Content-Length, or a coding other than
	// chunked, before any handler).
	u.body = r.ContentLength != 0 || len(r.TransferEncoding) > 0
	for name, values := range r.Header {
		for _, v := range values {
			u.field(name, v, cfg)
		}
	}
	return u
}

// listHasToken reports whether the comma-separated list v holds token,
// case-insensitively (RFC 7230 section 7).
func listHasToken(v, token string) bool {
	for t := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(strings.Trim(t, " \t"), token) {
			return true
		}
	}
	return false
}

// headerHasToken reports whether any value of the header field name holds
// token, case-insensitively.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		if listHasToken(v, token) {
			return true
		}
	}
	return false
}

// A request whose Content-Length is invalid has no framing a server can
// trust; one with content would have it read as frames after the 101, which
// a proxy in front sees as the next request's bytes. Both are refused, and
// the connection closed.
var (
	errBadLength = refusal(http.StatusBadRequest, "invalid Content-Length header")
	errBody      = refusal(http.StatusBadRequest, "the opening handshake must not have a body")
)

// checkUpgrade applies RFC 6455 section 4.2.1 and the origin rule, and
// returns the client's key. httpRequest gives CheckOrigin its argument.
func checkUpgrade(u *handshakeFields, cfg *Config, httpRequest func() (*http.Request, error)) (string, error) {
	switch {
	case u.badLength: // the framing is broken whatever the method: RFC 9112 section 6.3
		return "", errBadLength
	case u.method != http.MethodGet:
		return "", refusal(http.StatusMethodNotAllowed, "the opening handshake must be a GET request")
	case u.body:
		return "", errBody
	case u.major != 1 || u.minor < 1:
		return "", refusal(http.StatusBadRequest, "the opening handshake requires HTTP/1.1")
	case u.size > cfg.maxHeaderBytes():
		return "", refusal(http.StatusRequestHeaderFieldsTooLarge, "request header too large")
	case u.hosts != 1 || u.host == "":
		return "", refusal(http.StatusBadRequest, "missing Host header")
	case !u.upgrade:
		return "", refusal(http.StatusBadRequest, `missing "Upgrade: websocket" header`)
	case !u.connection:
		return "", refusal(http.StatusBadRequest, `missing "Connection: Upgrade" header`)
	case u.versions == 0:
		return "", refusal(http.StatusBadRequest, "missing Sec-WebSocket-Version header")
	case u.versions > 1 || strings.Trim(u.version, " \t") != "13":
		return "", refusal(http.StatusUpgradeRequired, "unsupported WebSocket version; this server speaks 13")
	case u.keys != 1:
		return "", refusal(http.StatusBadRequest, "need exactly one Sec-WebSocket-Key header")
	}
	key := strings.Trim(u.key, " \t")
	var raw [18]byte
	if len(key) != 24 {
		return "", refusal(http.StatusBadRequest, "Sec-WebSocket-Key must be 16 bytes in base64")
	}
	if n, err := base64.StdEncoding.Decode(raw[:], []byte(key)); err != nil || n != 16 {
		return "", refusal(http.StatusBadRequest, "Sec-WebSocket-Key must be 16 bytes in base64")
	}
	allowed, err := originAllowed(u, cfg, httpRequest)
	if err != nil {
		return "", refusal(http.StatusBadRequest, "malformed request")
	}
	if !allowed {
		return "", errOrigin
	}
	return key, nil
}

// sameHost reports whether origin names the host and port of the request,
// whose Host is host: names match case-insensitively, and a port left out
// is the scheme's default (an https page's "https://h" is "h:443").
func sameHost(origin *url.URL, host string, tls bool) bool {
	if strings.EqualFold(origin.Host, host) {
		return true
	}
	oport, hport := origin.Port(), "80"
	switch {
	case oport != "":
	case origin.Scheme == "https" || origin.Scheme == "wss":
		oport = "443"
	case origin.Scheme == "http" || origin.Scheme == "ws":
		oport = "80"
	default:
		return false
	}
	if tls {
		hport = "443"
	}
	hname := host
	if h, p, err := net.SplitHostPort(host); err == nil {
		hname, hport = h, p
	}
	return oport == hport && strings.EqualFold(strings.Trim(origin.Hostname(), "[]"), strings.Trim(hname, "[]"))
}

// originAllowed applies the origin rule: no Origin header (not a browser),
// the same host as the request, an OriginPatterns match, or CheckOrigin.
func originAllowed(u *handshakeFields, cfg *Config, httpRequest func() (*http.Request, error)) (bool, error) {
	if u.origin == "" {
		return true, nil
	}
	if cfg.CheckOrigin != nil {
		r, err := httpRequest()
		if err != nil {
			return false, err
		}
		return cfg.CheckOrigin(r), nil
	}
	o, err := url.Parse(u.origin)
	if err != nil || o.Host == "" {
		return false, nil
	}
	if sameHost(o, u.host, u.tls) {
		return true, nil
	}
	host := strings.ToLower(o.Host)
	for _, p := range cfg.OriginPatterns {
		if ok, _ := path.Match(strings.ToLower(p), host); ok {
			return true, nil
		}
	}
	return false, nil
}

// HTTPHandler returns an http.Handler that upgrades every request and
// serves it on d (nil means the default Dispatcher) with the settings of
// cfg (nil means the defaults). newHandler chooses each connection's
// Handler, or refuses it, as with Dispatcher.Serve: the two paths call it
// alike, once the request has passed the checks of RFC 6455 section 4.2.1
// and the origin rule (a request that fails them gets an HTTP error status
// and a plain-text reason, and newHandler is not called). r.HTTP returns
// the request net/http parsed, without allocating.
//
// A Dispatcher at MaxConnections or shutting down answers 503 without
// calling newHandler. Served by a Server from NewServer (or by Serve), a
// connection counts toward MaxConnections from its accept, so those still
// in their handshake are bounded too; on another http.Server it counts
// from its request, and only that server's ReadHeaderTimeout bounds the
// sockets still sending one. The handler may be used by many servers and
// goroutines at once; newHandler is called from each request's goroutine,
// so it must be safe for concurrent use.
func HTTPHandler(d *Dispatcher, cfg *Config, newHandler func(r *Request) (Handler, error)) http.Handler {
	return &upgradeHandler{d: d, cfg: cfg.orDefault(), newHandler: newHandler}
}

// upgradeHandler is the http.Handler of HTTPHandler: NewServer recognises
// it to admit its connections at their accept.
type upgradeHandler struct {
	d          *Dispatcher // nil: the default one, resolved per call
	cfg        *Config
	newHandler func(r *Request) (Handler, error)
}

func (u *upgradeHandler) dispatcher() *Dispatcher {
	if u.d == nil {
		return defaultDispatcher()
	}
	return u.d
}

func (u *upgradeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = u.upgrade(w, r)
}

// upgrade answers the opening handshake of r and, if newHandler takes it,
// starts serving the connection, which it returns. The error says why it
// did not (the client has its answer): it wraps ErrHandshake,
// ErrTooManyConnections or ErrShutdown, and an error newHandler returned.
func (u *upgradeHandler) upgrade(w http.ResponseWriter, r *http.Request) (*Conn, error) {
	d := u.dispatcher()
	accepted := acceptedConn(r)
	if err := d.admitCheck(accepted); err != nil {
		d.obs.refused(err, r.RemoteAddr)
		refuse(w, err)
		return nil, fmt.Errorf("wss: upgrade: %w", err)
	}
	f := upgradeFromHTTP(r, u.cfg)
	key, err := checkUpgrade(f, u.cfg, func() (*http.Request, error) { return r, nil })
	var h Handler
	req := &Request{hreq: r}
	if err == nil {
		h, err = chooseHandler(u.newHandler, req)
	}
	if err != nil {
		d.obs.refused(err, r.RemoteAddr)
		refuseHTTP(w, f, err)
		return nil, fmt.Errorf("wss: handshake: %w", err)
	}
	cfg := u.cfg
	if req.cfg != nil && req.cfg != cfg {
		cfg = req.cfg
		f = upgradeFromHTTP(r, cfg) // its offers, negotiated with cfg
	}
	c := newConn(h, d, cfg)
	if err := d.reserve(c, accepted); err != nil {
		d.obs.refused(err, r.RemoteAddr)
		refuse(w, err)
		h.OnClose(c, StatusConnLost)
		return nil, fmt.Errorf("wss: upgrade: %w", err)
	}
	nc, err := hijackAccept(w, f, key, cfg, req.header)
	if err == nil {
		err = c.connect(nc) // it drops the socket if it fails
	} else {
		d.obs.refused(err, r.RemoteAddr)
		d.unadmit(c)
		d.forgetAccepted(accepted, true) // closed after its hijack, so net/http no longer tracks it
	}
	if err != nil {
		h.OnClose(c, StatusConnLost) // it was never served: its Handler had no call yet
		return nil, err
	}
	return c, nil
}
