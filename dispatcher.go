package wss

import (
	"sync"
)

// Dispatcher reads from the connections it serves and calls their
// handlers: the reference's socket dispatcher. Safe for concurrent use.
type Dispatcher struct {
	mu    sync.Mutex
	conns map[*Conn]struct{}
}

// Mode selects how a Dispatcher waits for readable connections.
type Mode int

const (
	// ModeAuto uses event loops where the system has them (Linux), and a
	// goroutine per connection elsewhere and for connections that need one.
	ModeAuto Mode = iota
	// ModeEventLoop waits with a few event loops (epoll): an idle
	// connection holds no goroutine and no buffer.
	ModeEventLoop
	// ModeGoroutine reads each connection with a goroutine of its own.
	ModeGoroutine
)

// DispatcherConfig holds a Dispatcher's settings; the zero value (or nil)
// uses the defaults.
type DispatcherConfig struct {
	Mode Mode
	// Loops is the number of event loops; 0 means GOMAXPROCS.
	Loops int
}

// NewDispatcher returns a Dispatcher with the settings of cfg.
func NewDispatcher(cfg *DispatcherConfig) (*Dispatcher, error) {
	return &Dispatcher{conns: make(map[*Conn]struct{})}, nil
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

// serve starts reading c; pending holds bytes the peer sent before the
// handshake completed.
func (d *Dispatcher) serve(c *Conn, pending []byte) error {
	d.mu.Lock()
	d.conns[c] = struct{}{}
	d.mu.Unlock()
	go c.readLoop(pending)
	return nil
}

func (d *Dispatcher) remove(c *Conn) {
	d.mu.Lock()
	delete(d.conns, c)
	d.mu.Unlock()
}

// readBufSize is the read buffer of a goroutine-mode connection.
const readBufSize = 16 << 10

// readLoop serves c with a goroutine of its own.
func (c *Conn) readLoop(pending []byte) {
	defer c.finish()
	if len(pending) > 0 && !c.feed(pending) {
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
