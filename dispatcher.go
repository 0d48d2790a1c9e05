package wss

import (
	"errors"
	"net"
	"runtime"
	"sync"
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
	conns   map[*Conn]struct{}
	closing bool
	emptied chan struct{} // closed when closing and conns is empty

	offLoop bool
	loops   []*loop // nil in goroutine mode
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
}

// NewDispatcher returns a Dispatcher with the settings of cfg.
func NewDispatcher(cfg *DispatcherConfig) (*Dispatcher, error) {
	if cfg == nil {
		cfg = &DispatcherConfig{}
	}
	d := &Dispatcher{conns: make(map[*Conn]struct{}), offLoop: cfg.OffLoop}
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

// Len returns the number of connections being served.
func (d *Dispatcher) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.conns)
}

// Close drops every connection (their OnClose gets StatusShutdown), waits
// until every OnClose has returned, and stops the event loops. Connections
// connected afterwards fail with ErrClosed. It does not run close
// handshakes. Safe for concurrent use.
func (d *Dispatcher) Close() error {
	d.mu.Lock()
	if !d.closing {
		d.closing = true
		d.emptied = make(chan struct{})
		d.checkEmptied()
	}
	conns := make([]*Conn, 0, len(d.conns))
	for c := range d.conns {
		conns = append(conns, c)
	}
	emptied := d.emptied
	d.mu.Unlock()
	for _, c := range conns {
		c.drop(StatusShutdown)
	}
	<-emptied
	stopLoops(d.loops)
	return nil
}

// checkEmptied signals Close once no connection is left. d.mu must be held.
func (d *Dispatcher) checkEmptied() {
	if d.closing && len(d.conns) == 0 {
		select {
		case <-d.emptied:
		default:
			close(d.emptied)
		}
	}
}

// serve starts reading c; pending holds bytes the peer sent before the
// handshake completed.
func (d *Dispatcher) serve(c *Conn, pending []byte) error {
	// A TCP connection of an event-loop Dispatcher leaves goroutine mode
	// before others can see it in d.conns.
	if tc, ok := c.nc.(*net.TCPConn); ok && d.loops != nil {
		if err := c.takeSocket(tc); err != nil {
			return err
		}
	}
	d.mu.Lock()
	if d.closing {
		d.mu.Unlock()
		if c.onLoop {
			c.fdLetGo()
		}
		return ErrClosed
	}
	d.conns[c] = struct{}{}
	d.mu.Unlock()
	if c.onLoop {
		return d.serveOnLoop(c, pending)
	}
	go c.readLoop(pending)
	return nil
}

func (d *Dispatcher) remove(c *Conn) {
	d.mu.Lock()
	delete(d.conns, c)
	d.checkEmptied()
	d.mu.Unlock()
}

// readBufSize is the read buffer of a goroutine-mode connection.
const readBufSize = 16 << 10

// readLoop serves c with a goroutine of its own. A TCP connection waits
// for input without a buffer, so an idle one holds only its goroutine.
func (c *Conn) readLoop(pending []byte) {
	defer c.finish()
	if len(pending) > 0 && !c.feed(pending) {
		return
	}
	if c.readRaw() {
		return
	}
	b := getBuf(readBufSize)
	defer putBuf(b)
	buf := (*b)[:cap(*b)]
	for {
		n, err := c.nc.Read(buf)
		if n > 0 && !c.feed(buf[:n]) {
			return
		}
		if err != nil {
			return
		}
	}
}
