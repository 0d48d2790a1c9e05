package wss

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// refusalBodyLimit is how much of a refusal's body Dial reads and keeps.
const refusalBodyLimit = 1 << 10

// HandshakeError is the error Dial returns when the server, or a proxy on
// the way, refused the opening handshake: it answered with another status
// than 101 (or, from a proxy, than 2xx), or with a 101 that fails the
// checks of RFC 6455 section 4.1. It wraps ErrHandshake, and the failed
// check, if any. The error owns its fields; it does not change after Dial
// returns it, so it may be read from any goroutine.
type HandshakeError struct {
	// StatusCode and Status are the answer's status, such as 403 and
	// "403 Forbidden".
	StatusCode int
	Status     string
	// Header holds the answer's header fields.
	Header http.Header
	// Body holds at most the first KiB of the answer's body; Dial reads no
	// more of it.
	Body []byte
	// Proxy is the proxy that refused to open the tunnel, without its user
	// information, or "" when the WebSocket server answered.
	Proxy string

	cause error // why a 101 was not accepted; nil for other statuses
}

// Error names who answered, and the status.
func (e *HandshakeError) Error() string {
	who := "server"
	if e.Proxy != "" {
		who = "proxy " + e.Proxy
	}
	if e.cause != nil {
		return fmt.Sprintf("%v: %s answered %s: %v", ErrHandshake, who, e.Status, e.cause)
	}
	return fmt.Sprintf("%v: %s answered %s", ErrHandshake, who, e.Status)
}

// Unwrap returns ErrHandshake and the failed check, for errors.Is.
func (e *HandshakeError) Unwrap() []error {
	if e.cause != nil {
		return []error{ErrHandshake, e.cause}
	}
	return []error{ErrHandshake}
}

// handshakeRefusal turns resp into a HandshakeError, reading at most
// refusalBodyLimit bytes of its body, however long the body says it is.
func handshakeRefusal(resp *http.Response, proxy *url.URL, cause error) *HandshakeError {
	e := &HandshakeError{StatusCode: resp.StatusCode, Status: resp.Status, Header: resp.Header, cause: cause}
	if proxy != nil {
		e.Proxy = redacted(proxy)
	}
	if resp.Body != nil && resp.Body != http.NoBody {
		buf := make([]byte, refusalBodyLimit)
		n, _ := io.ReadFull(resp.Body, buf)
		e.Body = buf[:n:n]
	}
	return e
}

// redacted returns u without its user information.
func redacted(u *url.URL) string {
	v := *u
	v.User = nil
	return v.String()
}
