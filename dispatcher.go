package wss

import (
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"time"
)

// Dispatcher reads from the connections it serves and calls their
// handlers: the reference's socket dispatcher. Safe for concurrent use.
//
// On Linux it waits with a few epoll event loops: each waits on many
// sockets, reads into a buffer of its own and calls the handlers of the
// messages that arrived, so an idle connection holds no goroutine and no
// buffer. By default handlers run on the loop: a handler that blocks for
// long delays every connection of its loop (as with the reference), and
// DispatcherConfig.OffLoop is for handlers that block. Connections that are
// not plain TCP (TLS) and other systems get a goroutine per connection.
type Dispatcher struct {
	mu      sync.Mutex
	served  int                // connections being served
	goConns map[*Conn]struct{} // the goroutine-mode ones; the others are in their loop's table
	// closeTimers bound the close handshakes under way.
	closeTimers map[*Conn]*time.Timer
	lifecycle   // admission, timeouts and shutdown: limits.go, timeouts.go, shutdown.go

	offLoop    bool
	readBudget int     // see DispatcherConfig.ReadBudget
	loops      []*loop // nil in goroutine mode

	obs observer // DispatcherConfig.Observer and Logger: observe.go
}

// Mode selects how a Dispatcher waits for readable connections.
type Mode int

const (
	// ModeAuto uses event loops where the system has them (Linux), and a
	// goroutine per connection elsewhere and for connections that need one.
	ModeAuto Mode = iota
	// ModeEventLoop waits with a few event loops (epoll): an idle
	// connection holds no goroutine and no buffer. Connections that are not
	// *net.TCPConn (TLS) still get a goroutine each. NewDispatcher fails
	// with ErrNoEventLoop where the system has no event loop.
	ModeEventLoop
	// ModeGoroutine reads each connection with a goroutine of its own.
	ModeGoroutine
)

// ErrNoEventLoop: ModeEventLoop was asked for on a system without epoll.
var ErrNoEventLoop = errors.New("wss: event loops are not supported on this system")

// DispatcherConfig holds a Dispatcher's settings; the zero value (or nil)
// uses the defaults.
type DispatcherConfig struct {
	// Mode chooses event loops or a goroutine per connection; ModeAuto
	// (the zero value) uses event loops where the system has them.
	Mode Mode
	// Loops is the number of event loops; 0 means GOMAXPROCS.
	Loops int
	// OffLoop runs handlers off the event loops, for handlers that block
	// (on a database, a lock, a slow peer's Write): a connection with input
	// gets a goroutine that reads it and calls its handler, and gives the
	// goroutine up once it has nothing more to read. Messages of one
	// connection are still handled one at a time, in order. It costs a
	// goroutine start per burst of input. Goroutine mode ignores it.
	OffLoop bool
	// MaxConnections bounds the connections a Dispatcher holds at once,
	// those still in their handshake included; 0 means no limit. Where the
	// accept is seen (Serve, and a Server from NewServer with an
	// HTTPHandler) a socket counts from its accept, and one accepted beyond
	// the bound is answered 503 Service Unavailable with Retry-After at once,
	// without reading its request, and closed (a TLS one is closed without
	// an answer), so silent sockets never hold more descriptors than the
	// bound. Elsewhere (HTTPHandler or Upgrade on another http.Server) a
	// connection counts from its request, answered 503 beyond the bound;
	// Connect refuses the excess with 1013.
	MaxConnections int
	// ReadBudget bounds what an event loop reads from one connection before
	// it turns to the others that have input, so that a peer sending
	// without pause cannot hold its loop; in goroutine mode, what a
	// connection reads without waiting before it lets the others run.
	// 0 means 1 MiB.
	ReadBudget int
	// Observer, if set, is told of connections, messages and queued output,
	// for metrics; nil costs nothing. See Observer.
	Observer *Observer
	// Logger, if set, receives what the Dispatcher logs: at Debug each
	// refused connection and each one dropped for a reason other than its
	// peer leaving (a timeout, a protocol violation); at Warn the accept
	// errors Serve retries after. A Server from NewServer for an
	// HTTPHandler of the Dispatcher logs net/http's errors to it too, at
	// Warn. Nil (the default) logs nothing, and leaves net/http's errors to
	// the log package, as an http.Server does.
	Logger *slog.Logger
}

// defaultReadBudget (1 MiB) is the default of DispatcherConfig.ReadBudget.
const defaultReadBudget = 1 << 20

// NewDispatcher returns a Dispatcher with the settings of cfg.
func NewDispatcher(cfg *DispatcherConfig) (*Dispatcher, error) {
	if cfg == nil {
		cfg = &DispatcherConfig{}
	}
	d := &Dispatcher{goConns: make(map[*Conn]struct{}), offLoop: cfg.OffLoop,
		readBudget: pick(cfg.ReadBudget, defaultReadBudget), obs: newObserver(cfg)}
	d.maxConns = cfg.MaxConnections
	mode := cfg.Mode
	if mode == ModeAuto {
		mode = ModeGoroutine
		if eventLoopSupported {
			mode = ModeEventLoop
		}
	}
	if mode == ModeEventLoop {
		n := cfg.Loops
		if n <= 0 {
			n = runtime.GOMAXPROCS(0)
		}
		loops, err := startLoops(d, n)
		if err != nil {
			return nil, err
		}
		d.loops = loops
	}
	return d, nil
}

var (
	defaultOnce sync.Once
	defaultDisp *Dispatcher
)

func defaultDispatcher() *Dispatcher {
	defaultOnce.Do(func() { defaultDisp, _ = NewDispatcher(nil) })
	return defaultDisp
}

// Len returns the number of connections being served: upgraded ones, and
// those still in their handshake on Serve's event loops. A socket refused
// at its accept never counts.
func (d *Dispatcher) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.served
}

// serve starts reading c; pending holds bytes the peer sent before the
// handshake completed.
func (d *Dispatcher) serve(c *Conn, pending []byte) error {
	d.mu.Lock()
	if d.shuttingDown {
		d.mu.Unlock()
		return ErrShutdown // Connect says goodbye and lets the socket go
	}
	d.served++
	if !c.onLoop {
		d.goConns[c] = struct{}{} // the loop's table takes the others
	}
	d.watch(c)
	d.mu.Unlock()
	d.obs.opened(c) // a connection still in Serve's handshake counts when it opens
	if o, ok := c.h.(OpenHandler); ok {
		o.OnOpen(c) // before reading starts, so before any other call
	}
	if c.onLoop {
		return d.serveOnLoop(c, pending)
	}
	go d.readLoop(c, pending)
	return nil
}

// connList returns the connections being served: a registry in each
// Conn would cost every idle connection its bytes, so event-loop ones are
// found in their loop's table. d.mu must be held.
func (d *Dispatcher) connList() []*Conn {
	conns := make([]*Conn, 0, d.served)
	for c := range d.goConns {
		conns = append(conns, c)
	}
	for _, l := range d.loops {
		conns = l.appendConns(conns)
	}
	return conns
}

func (d *Dispatcher) remove(c *Conn) {
	d.mu.Lock()
	d.served--
	delete(d.goConns, c)
	if t, ok := d.closeTimers[c]; ok {
		t.Stop()
		delete(d.closeTimers, c)
	}
	d.release(c)
	d.mu.Unlock()
}

// startCloseTimer bounds the wait for c's peer's close frame. The timers
// are kept by the Dispatcher: only closing connections have one.
func (d *Dispatcher) startCloseTimer(c *Conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.closeTimers[c]; ok || c.state.is(flagClosed) {
		return
	}
	if d.closeTimers == nil {
		d.closeTimers = make(map[*Conn]*time.Timer)
	}
	d.closeTimers[c] = time.AfterFunc(c.cfg.closeTimeout(), func() {
		c.drop(StatusCloseTimeout)
	})
}

// readBufSize is the read buffer of a goroutine-mode connection, and
// bigReadSize the one it reads into after a read that filled its buffer:
// a peer that sends much at once (a burst of 16 KiB messages) is read,
// and answered, in as few system calls as an event loop's 64 KiB buffer
// takes, while one that sends little holds little during its handlers.
const (
	readBufSize = 16 << 10
	bigReadSize = 64 << 10
)

// nextReadSize returns the size of the next read after one that returned
// n bytes into a buffer of size.
func nextReadSize(n, size int) int {
	if n == size {
		return bigReadSize
	}
	return readBufSize
}

// readLoop serves c with a goroutine of its own. A TCP connection waits
// for input without a buffer, so an idle one holds only its goroutine.
func (d *Dispatcher) readLoop(c *Conn, pending []byte) {
	defer c.finish()
	if len(pending) > 0 && !c.feed(pending) {
		return
	}
	var turn goTurn
	if turn.readRaw(c) {
		return
	}
	b := getBuf(readBufSize)
	defer func() { putBuf(b) }()
	buf := (*b)[:cap(*b)]
	full := false // Read does not tell whether it waited: a full read likely did not
	for {
		n, err := c.netConn().Read(buf)
		if n > 0 && !turn.feed(c, buf[:n], !full) {
			return
		}
		full = n == len(buf)
		if err != nil {
			return
		}
		if size := nextReadSize(n, len(buf)); size != len(buf) {
			putBuf(b)
			b = getBuf(size)
			buf = (*b)[:cap(*b)]
		}
	}
}
