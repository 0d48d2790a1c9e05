package wss

import (
	"fmt"
	"runtime"
	"sync"
	"weak"
)

// CloseError says how a connection ended: the status its OnClose gets and
// the reason the peer gave in its close frame (empty for a local cause, or
// when the peer gave none). Conn.Err returns it once the status is
// decided; Write, Ping and Close return it on a connection that has ended.
// errors.Is(err, ErrClosed) holds for it. It is a plain value.
type CloseError struct {
	// Code is the status: the peer's close code, or a negative local cause.
	Code StatusCode
	// Reason is the UTF-8 reason of the peer's close frame.
	Reason string
}

// Error names the status and, if there is one, the peer's reason.
func (e CloseError) Error() string {
	switch {
	case e.Code.Local():
		return "wss: connection closed: " + e.Code.String()
	case e.Reason == "":
		return "wss: closed by the peer: " + e.Code.String()
	}
	return fmt.Sprintf("wss: closed by the peer: %v: %q", e.Code, e.Reason)
}

// Unwrap returns ErrClosed, so that errors.Is(err, ErrClosed) holds.
func (e CloseError) Unwrap() error { return ErrClosed }

// Err returns nil until the end of the connection is decided, then the
// CloseError with the status OnClose gets (or got) and the reason the peer
// sent. The peer's close frame, a failure, a timeout or a drop decides it;
// Close does not, as it waits for the peer's answer. Safe for concurrent
// use; in OnClose and after, it is never nil.
func (c *Conn) Err() error {
	status := c.state.status()
	if status == 0 {
		return nil
	}
	e := CloseError{Code: status}
	if !status.Local() {
		e.Reason = peerReasons.of(c)
	}
	return e
}

// closedErr returns the CloseError that says why c ended in place of
// ErrClosed, once that is decided; any other err as it is.
func closedErr(c *Conn, err error) error {
	if err == ErrClosed {
		if e := c.Err(); e != nil {
			return e
		}
	}
	return err
}

// peerReasons keeps the reasons peers gave in their close frames, for
// Err. Few peers give one, so a Conn has no field for it: the entry is
// keyed by a weak pointer and goes when its Conn is collected. Safe for
// concurrent use.
var peerReasons closeReasons

type closeReasons struct {
	m sync.Map // weak.Pointer[Conn] to string
}

// keep records reason for c, before c's status is recorded, so that
// whoever sees the status finds the reason.
func (r *closeReasons) keep(c *Conn, reason []byte) {
	if len(reason) == 0 {
		return
	}
	wp := weak.Make(c)
	r.m.Store(wp, string(reason))
	runtime.AddCleanup(c, r.forget, wp)
}

// forget drops the entry of a Conn collected, or whose status was
// recorded by another cause before its peer's reason came.
func (r *closeReasons) forget(wp weak.Pointer[Conn]) { r.m.Delete(wp) }

// of returns the reason c's peer gave, or "".
func (r *closeReasons) of(c *Conn) string {
	if v, ok := r.m.Load(weak.Make(c)); ok {
		return v.(string)
	}
	return ""
}
