package wss

import (
	"context"
	"errors"
	"log"
	"log/slog"
	"net/http"
	"syscall"
	"time"
)

// Observer is told of a Dispatcher's events, for metrics: set it in
// DispatcherConfig.Observer. Every field may be nil. The Dispatcher copies
// it when it is made, so later changes have no effect.
//
// The functions are called on the goroutines that serve connections (the
// event loops, handlers' goroutines, writers of any goroutine), many at
// once: they must be safe for concurrent use, return quickly and never
// block, as a loop waits for them; an atomic add is what they are for.
// Received, Sent and Queued run on the path of every message, so they should
// take no lock. They are not given the Conn, so they cannot keep it.
//
// Messages count data messages (text and binary), not pings, pongs or
// close frames; their bytes are payload bytes as the application sees
// them (the data passed to Write, or given to OnFrame): frame headers are
// not counted, and a compressed message counts uncompressed.
type Observer struct {
	// Opened is called when a connection starts being served: once its
	// handshake completed and it was admitted, just before its OnOpen.
	// Connections opened by Dial on the Dispatcher count too.
	Opened func()
	// Refused is called for each connection or request refused before it
	// was served, with the reason:
	//   "limit"     the Dispatcher held MaxConnections (answered 503, or
	//               closed with 1013 after a handshake made elsewhere)
	//   "shutdown"  the Dispatcher was shutting down (503, or 1001)
	//   "origin"    the Origin is not allowed (403)
	//   "forbidden" the function choosing the Handler refused: it returned
	//               no Handler (403), or a HandshakeError (its answer)
	//   "handshake" the request is not a valid opening handshake (400, 405,
	//               426, 431), or answering it failed
	//   "timeout"   the request did not arrive within HandshakeTimeout; seen
	//               only on Serve's event loops: through net/http, the
	//               server's ReadHeaderTimeout closes the socket unseen
	Refused func(reason string)
	// Received is called for each message received, with its size; a
	// message a FragmentHandler receives in pieces counts once, with its
	// last piece.
	Received func(bytes int)
	// Sent is called for each message sent (a Write or WritePrepared that
	// returned nil, a Writer whose Close did), with its size.
	Sent func(bytes int)
	// Closed is called when a connection that Opened counted has ended,
	// with the status its OnClose gets, just before that call: the peer's
	// close code, or a negative status (StatusConnLost, StatusWriteTimeout,
	// StatusPongTimeout, ...) that says why it dropped, timeouts included.
	Closed func(status StatusCode)
	// Queued is called when the bytes waiting in the Dispatcher's output
	// queues change, with the change: their sum is the output that sockets
	// have not taken yet, frame headers included. Only event-loop
	// connections queue output; a goroutine-mode Write waits instead.
	Queued func(delta int)
}

// observer is a Dispatcher's copy of its Observer, and its Logger. Each
// method costs a nil check when the function it calls is not set.
type observer struct {
	Observer
	log *slog.Logger // nil: the library logs nothing
}

func newObserver(cfg *DispatcherConfig) observer {
	o := observer{log: cfg.Logger}
	if cfg.Observer != nil {
		o.Observer = *cfg.Observer
	}
	return o
}

// opened counts c, if it is open: Serve's upgrade counts those that
// started their handshake on a loop once they open.
func (o *observer) opened(c *Conn) {
	if o.Opened != nil && c.state.is(flagConnected) {
		o.Opened()
	}
}

func (o *observer) received(n int) {
	if o.Received != nil {
		o.Received(n)
	}
}

// receivedPieces counts a message received in pieces, of size bytes,
// once its final piece has come.
func (o *observer) receivedPieces(size int, final bool) {
	if final {
		o.received(size)
	}
}

// sent counts a message of n bytes that a writer sent, if err is nil, and
// returns err.
func (o *observer) sent(n int, err error) error {
	if err == nil && o.Sent != nil {
		o.Sent(n)
	}
	return err
}

func (o *observer) queued(delta int) {
	if o.Queued != nil && delta != 0 {
		o.Queued(delta)
	}
}

// written counts the n bytes a flush took from an output queue: none if
// the flush failed (err other than EAGAIN), as the queue is then failed
// whole.
func (o *observer) written(n int, err error) {
	if err == nil || err == syscall.EAGAIN {
		o.queued(-n)
	}
}

// refused counts a connection or request refused with err; remote is the
// peer's address (a net.Addr or a string), for the log.
func (o *observer) refused(err error, remote any) {
	reason := refusedReason(err)
	if o.Refused != nil {
		o.Refused(reason)
	}
	if o.logs() {
		o.log.Debug("wss: connection refused", "reason", reason, "remote", remote, "error", err)
	}
}

// ended counts the end of c, before its OnClose: Closed for a connection
// that was opened, Refused for a handshake on Serve's loops that timed out.
func (o *observer) ended(c *Conn) {
	status := c.state.status()
	switch {
	case c.state.is(flagConnected):
		if o.Closed != nil {
			o.Closed(status)
		}
		if status < 0 && status != StatusConnLost && o.logs() {
			o.log.Debug("wss: connection dropped", "status", status, "remote", c.wire().peerAddr())
		}
	case status == StatusIdleTimeout: // only a handshake's timeout is idle before the connection opens
		o.refused(errHandshakeTimeout, c.wire().peerAddr())
	}
}

// logs reports whether debug records are logged, so that their
// arguments are made only then.
func (o *observer) logs() bool {
	return o.log != nil && o.log.Enabled(context.Background(), slog.LevelDebug)
}

// Refusals that Refused tells apart.
var (
	errOrigin           = refusal(http.StatusForbidden, "origin not allowed")
	errHandshakeTimeout = errors.New("wss: handshake timed out")
)

// refusedReason is the reason Refused is given for a refusal with err.
func refusedReason(err error) string {
	switch {
	case errors.Is(err, ErrTooManyConnections):
		return "limit"
	case errors.Is(err, ErrShutdown):
		return "shutdown"
	case errors.Is(err, errOrigin):
		return "origin"
	case errors.Is(err, errForbidden), errors.As(err, new(*HandshakeError)):
		return "forbidden"
	case errors.Is(err, errHandshakeTimeout):
		return "timeout"
	}
	return "handshake"
}

// acceptFailed logs an accept error that Serve retries after backoff.
func (o *observer) acceptFailed(err error, backoff time.Duration) {
	if o.log != nil {
		o.log.Warn("wss: accept failed; retrying", "error", err, "after", backoff)
	}
}

// errorLog returns the log.Logger for net/http's errors: the Logger at
// Warn, or nil (the log package's) without one.
func (o *observer) errorLog() *log.Logger {
	if o.log == nil {
		return nil
	}
	return slog.NewLogLogger(o.log.Handler(), slog.LevelWarn)
}
