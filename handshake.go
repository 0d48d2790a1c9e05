package wss

import (
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
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte(acceptGUID))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// handshakeError is a rejected handshake: the HTTP status and the reason
// given to the client.
type handshakeError struct {
	status int
	reason string
}

func (e *handshakeError) Error() string { return e.reason }
func (e *handshakeError) Unwrap() error { return ErrHandshake }

func reject(status int, reason string) *handshakeError {
	return &handshakeError{status, reason}
}

// upgradedConn is a connection returned by Handshake: it carries what the
// handshake negotiated, and the bytes the client sent after its request, to
// Connect.
type upgradedConn struct {
	net.Conn
	subprotocol string
	deflate     *deflate
	pending     []byte
}

// Handshake answers a WebSocket opening handshake (RFC 6455 section 4.2)
// with the settings of cfg (nil means the defaults) and returns the
// hijacked connection, to be passed to Connect. It is the reference's
// wsUpgrade: for servers that need the connection before connecting it.
// A rejected request is answered with an HTTP error status and a plain-text
// reason, and the error returned wraps ErrHandshake.
func Handshake(w http.ResponseWriter, r *http.Request, cfg *Config) (net.Conn, error) {
	cfg = cfg.orDefault()
	key, err := checkRequest(r, cfg)
	if err != nil {
		var he *handshakeError
		if errors.As(err, &he) {
			w.Header().Set("Sec-WebSocket-Version", "13")
			if he.status == http.StatusMethodNotAllowed {
				w.Header().Set("Allow", http.MethodGet)
			}
			http.Error(w, "wss: "+he.reason, he.status)
		}
		return nil, fmt.Errorf("wss: handshake: %w", err)
	}
	proto := chooseSubprotocol(r.Header, cfg.Subprotocols)
	ext, dfl := negotiateDeflate(r.Header, cfg.Compression)
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "wss: cannot take over the connection", http.StatusInternalServerError)
		return nil, fmt.Errorf("wss: handshake: %w: %w", ErrHandshake, err)
	}
	u := &upgradedConn{Conn: nc, subprotocol: proto, deflate: dfl}
	if n := brw.Reader.Buffered(); n > 0 {
		u.pending, _ = brw.Reader.Peek(n)
		u.pending = append([]byte(nil), u.pending...)
	}
	if err := writeAccept(nc, key, proto, ext, cfg.handshakeTimeout()); err != nil {
		nc.Close()
		return nil, fmt.Errorf("wss: handshake: %w: %w", ErrHandshake, err)
	}
	return u, nil
}

// writeAccept sends the 101 response and clears the deadlines net/http set.
func writeAccept(nc net.Conn, key, proto, ext string, timeout time.Duration) error {
	resp := "HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + acceptKey(key) + "\r\n"
	if proto != "" {
		resp += "Sec-WebSocket-Protocol: " + proto + "\r\n"
	}
	if ext != "" {
		resp += "Sec-WebSocket-Extensions: " + ext + "\r\n"
	}
	resp += "\r\n"
	if err := nc.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	if _, err := nc.Write([]byte(resp)); err != nil {
		return err
	}
	return nc.SetDeadline(time.Time{})
}

// checkRequest applies RFC 6455 section 4.2.1 and the origin rule, and
// returns the client's key.
func checkRequest(r *http.Request, cfg *Config) (string, error) {
	switch {
	case r.Method != http.MethodGet:
		return "", reject(http.StatusMethodNotAllowed, "the opening handshake must be a GET request")
	case r.ProtoMajor != 1 || r.ProtoMinor < 1:
		return "", reject(http.StatusBadRequest, "the opening handshake requires HTTP/1.1")
	case requestSize(r) > cfg.maxHeaderBytes():
		return "", reject(http.StatusRequestHeaderFieldsTooLarge, "request header too large")
	case r.Host == "":
		return "", reject(http.StatusBadRequest, "missing Host header")
	case !headerHasToken(r.Header, "Upgrade", "websocket"):
		return "", reject(http.StatusBadRequest, `missing "Upgrade: websocket" header`)
	case !headerHasToken(r.Header, "Connection", "upgrade"):
		return "", reject(http.StatusBadRequest, `missing "Connection: Upgrade" header`)
	}
	switch v := r.Header.Values("Sec-WebSocket-Version"); {
	case len(v) == 0:
		return "", reject(http.StatusBadRequest, "missing Sec-WebSocket-Version header")
	case len(v) > 1 || strings.TrimSpace(v[0]) != "13":
		return "", reject(http.StatusUpgradeRequired, "unsupported WebSocket version; this server speaks 13")
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return "", reject(http.StatusBadRequest, "need exactly one Sec-WebSocket-Key header")
	}
	key := strings.TrimSpace(keys[0])
	if raw, err := base64.StdEncoding.DecodeString(key); err != nil || len(raw) != 16 {
		return "", reject(http.StatusBadRequest, "Sec-WebSocket-Key must be 16 bytes in base64")
	}
	if !originAllowed(r, cfg) {
		return "", reject(http.StatusForbidden, "origin not allowed")
	}
	return key, nil
}

// requestSize estimates the request line and header fields as sent.
func requestSize(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + len(r.Host) + 4
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// headerHasToken reports whether any of the comma-separated values of the
// header field name contains token, case-insensitively (RFC 7230 section 7).
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.Trim(t, " \t"), token) {
				return true
			}
		}
	}
	return false
}

// chooseSubprotocol returns the first of the server's subprotocols that the
// client offered, or "". Subprotocol names match case-sensitively: the
// client fails the connection unless the answer is one of the values it
// sent (RFC 6455 section 4.1).
func chooseSubprotocol(h http.Header, server []string) string {
	offers := h.Values("Sec-WebSocket-Protocol")
	for _, p := range server {
		for _, v := range offers {
			for t := range strings.SplitSeq(v, ",") {
				if strings.Trim(t, " \t") == p {
					return p
				}
			}
		}
	}
	return ""
}

// originAllowed applies the origin rule: no Origin header (not a browser),
// the same host as the request, an OriginPatterns match, or CheckOrigin.
func originAllowed(r *http.Request, cfg *Config) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if cfg.CheckOrigin != nil {
		return cfg.CheckOrigin(r)
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	host := strings.ToLower(u.Host)
	for _, p := range cfg.OriginPatterns {
		if ok, _ := path.Match(strings.ToLower(p), host); ok {
			return true
		}
	}
	return false
}

// HTTPHandler returns an http.Handler that upgrades every request and
// serves it on d with the settings of cfg. newHandler is called before the
// handshake with the request and returns the connection's Handler; it may
// refuse the request by returning nil, which answers 403 Forbidden.
func HTTPHandler(d *Dispatcher, cfg *Config, newHandler func(r *http.Request) Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d == nil {
			d = defaultDispatcher()
		}
		if err := d.admitCheck(); err != nil {
			refuse(w, err)
			return
		}
		h := newHandler(r)
		if h == nil {
			http.Error(w, "wss: forbidden", http.StatusForbidden)
			return
		}
		_ = New(h, d, cfg).Upgrade(w, r)
	})
}

// Upgrade answers the opening handshake of r and starts serving the
// connection: the reference's upgrade. On failure the client has been
// answered with an HTTP error and the error wraps ErrHandshake.
func (c *Conn) Upgrade(w http.ResponseWriter, r *http.Request) error {
	if c.is(flagConnected) {
		return ErrConnected
	}
	if err := c.d.admit(c); err != nil {
		refuse(w, err)
		return fmt.Errorf("wss: upgrade: %w", err)
	}
	nc, err := Handshake(w, r, c.cfg)
	if err != nil {
		c.d.unadmit(c)
		return err
	}
	return c.Connect(nc)
}
