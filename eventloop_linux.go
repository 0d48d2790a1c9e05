package wss

import (
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/wssgo/wss/internal/poll"
)

// An event loop waits on many sockets with one epoll instance, reads every
// readable one into a buffer of its own and feeds the bytes to the
// connection's parser, which calls the handlers. A connection is served by
// loops[fd % len(loops)], so it needs no pointer to its loop, and found in
// that loop's conns at fd / len(loops).
//
// Sockets are registered edge-triggered (internal/poll): a loop reads until
// the socket is drained. Only the loop lets go of a descriptor it polls
// (poll.FD); other goroutines that must end a connection shut its socket
// down, which wakes the loop with end of input.

const eventLoopSupported = true

// loopBufSize is an event loop's read buffer.
const loopBufSize = 64 << 10

// loopBatch is the most events a loop takes from its poller at once.
const loopBatch = 256

type loop struct {
	d    *Dispatcher
	p    *poll.Poller
	done chan struct{}

	mu     sync.Mutex
	conns  connTable // by file descriptor / number of loops
	nLoops int       // the Dispatcher's number of loops

	// Off-loop handlers: idle readers wait on idle for a connection.
	idle    chan *Conn
	quit    chan struct{}
	readers sync.WaitGroup

	// Used only by the loop goroutine.
	buf    []byte
	events []poll.Event
	batch  []*Conn // the connections of events
	// again holds, in order, the connections whose turn ended with input
	// left: the loop serves one of them, then the events that came
	// meanwhile, and so on, so that a connection with input waits for at
	// most one turn of each busy one, not for all of them.
	again     []*Conn
	againHead int
	// rests holds the input of connections whose turn ended in the middle
	// of what one read returned.
	rests map[*Conn]*[]byte
	// cork gathers the output of the connection in turn (cork_linux.go).
	cork []byte
}

// loopTurn bounds the time an event loop spends running one connection's
// handlers before it serves the others; ReadBudget bounds the bytes.
const loopTurn = 50 * time.Microsecond

func startLoops(d *Dispatcher, n int) ([]*loop, error) {
	loops := make([]*loop, 0, n)
	for range n {
		l, err := newLoop(d, n)
		if err != nil {
			stopLoops(loops)
			return nil, fmt.Errorf("wss: event loop: %w", err)
		}
		loops = append(loops, l)
	}
	for _, l := range loops {
		ready := make(chan struct{})
		go l.run(ready)
		<-ready
	}
	return loops, nil
}

func newLoop(d *Dispatcher, nLoops int) (*loop, error) {
	p, err := poll.NewPoller(loopBatch)
	if err != nil {
		return nil, err
	}
	return &loop{
		d: d, nLoops: nLoops, p: p, done: make(chan struct{}),
		idle: make(chan *Conn), quit: make(chan struct{}),
		buf:    make([]byte, loopBufSize),
		events: make([]poll.Event, 0, loopBatch),
		batch:  make([]*Conn, loopBatch),
		rests:  make(map[*Conn]*[]byte),
		cork:   newCork(),
	}, nil
}

// stopLoops stops the loops and their readers and waits for them.
func stopLoops(loops []*loop) {
	for _, l := range loops {
		if l.p.Wake() != nil {
			continue // never started, or already stopped
		}
		<-l.done
		close(l.quit)
		l.readers.Wait()
	}
}

func (l *loop) run(ready chan<- struct{}) {
	defer func() {
		l.p.Close()
		close(l.done)
	}()
	close(ready)
	for {
		// Connections that wait to be read again: take what came, without
		// waiting.
		evs, stop, err := l.p.Wait(l.events[:0], l.againHead == len(l.again))
		if err != nil {
			panic("wss: " + err.Error()) // only a bad epoll descriptor gets here
		}
		l.lookUp(evs)
		// A connection looked up above may end while an earlier event of
		// the batch is handled; its descriptor is not reused before then,
		// and handle skips connections that have ended.
		// A connection in the again queue is served from there, in its turn.
		for i := range evs {
			if c := l.batch[i]; c != nil {
				l.batch[i] = nil
				if !c.state.is(flagAgain) {
					l.handle(c)
				}
			}
		}
		if c := l.nextAgain(); c != nil {
			l.handle(c)
		}
		if stop {
			return
		}
	}
}

// lookUp fills l.batch with the connections of evs.
func (l *loop) lookUp(evs []poll.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, ev := range evs {
		c := l.conns.get(int(ev.FD) / l.nLoops)
		l.batch[i] = c
		if c != nil && ev.Hangup {
			// The end of input came with the last data, in one edge:
			// read up to it, not just what a read returns.
			c.state.set(flagHangup)
		}
	}
}

// takeSocket takes the socket out of tc, so that c keeps only a
// descriptor (tc's buffers and poller state are freed), and puts c in
// event-loop mode. It runs before c is connected, so nothing else reads c
// yet; c.wmu is held.
func (c *Conn) takeSocket(tc *net.TCPConn) error {
	fd, err := poll.TakeSocket(tc)
	if err != nil {
		return fmt.Errorf("wss: %w", err)
	}
	c.useSocket(fd)
	return nil
}

// useSocket puts c, not yet served, in event-loop mode on the socket fd.
func (c *Conn) useSocket(fd int32) {
	c.fd.Set(fd)
	c.onLoop = true
}

// add puts c in l's table, where the loop finds it by descriptor and the
// Dispatcher lists it.
func (l *loop) add(c *Conn) {
	l.mu.Lock()
	l.conns.set(int(c.fd.Num())/l.nLoops, c)
	l.mu.Unlock()
}

// appendConns appends the connections of l's table to conns.
func (l *loop) appendConns(conns []*Conn) []*Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conns.appendTo(conns)
}

// serveOnLoop puts c in its loop's table and starts waiting for its input.
func (d *Dispatcher) serveOnLoop(c *Conn, pending []byte) error {
	if len(pending) > 0 && !c.feed(pending) {
		c.finish()
		return nil
	}
	l := d.loopOf(c)
	l.add(c)
	d.mu.Lock()
	late := d.shuttingDown // Shutdown began after serve: it did not list c
	d.mu.Unlock()
	if late {
		_ = c.Close(StatusGoingAway, "")
	}
	if err := l.p.Add(c.fd.Num()); err != nil {
		// Served, and ended at once: OnOpen had its OnClose, so this is
		// no failure to serve (which would leave the Handler without one).
		c.drop(StatusConnLost)
		c.finish()
	}
	return nil
}

// loopOf returns the loop that serves the event-loop connection c.
func (d *Dispatcher) loopOf(c *Conn) *loop {
	n, fd := len(d.loops), int(c.fd.Num())
	if n&(n-1) == 0 { // one loop, or a power of two of them: no division, which costs more than a small write
		return d.loops[fd&(n-1)]
	}
	return d.loops[fd%n]
}

// handle gives c a turn: it writes pending output, then feeds the input
// left from c's last turn, then reads.
func (l *loop) handle(c *Conn) {
	if c.fd.Released() {
		l.dropRest(c)
		return // ended earlier in this batch
	}
	if c.out.Load() != nil && !c.wire().flushOut() {
		return // input waits until the peer takes our output
	}
	c.wire().drained()
	if l.d.offLoop {
		l.kick(c)
		return
	}
	if c.state.is(flagHeld) && !c.state.is(flagClosed) {
		return // the Inbox that holds it rearms c; a dropped c reads to its end
	}
	t := turn{budget: l.d.readBudget, end: &turnEnd{length: loopTurn}}
	// While the turn feeds c, what is written to c is gathered, and goes
	// out with one write before the next read and when the turn ends
	// (cork_linux.go).
	c.state.set(flagTurn)
	res := readMore
	if c.state.is(flagRest) {
		res = l.feedRest(c, &t)
	}
	if res == readMore {
		res = t.read(c, l.buf)
	}
	l.endTurn(c)
	if len(t.rest) > 0 {
		l.keepRest(c, t.rest)
	}
	switch res {
	case readEnded:
		l.dropRest(c)
		c.finish()
	case readYielded:
		c.state.set(flagAgain)
		l.again = append(l.again, c)
	}
}

// nextAgain takes the first connection of the again queue, or nil.
func (l *loop) nextAgain() *Conn {
	if l.againHead == len(l.again) {
		return nil
	}
	c := l.again[l.againHead]
	l.again[l.againHead] = nil
	if l.againHead++; l.againHead == len(l.again) {
		l.again, l.againHead = l.again[:0], 0
	} else if l.againHead >= 1024 && l.againHead*2 >= len(l.again) {
		k := copy(l.again, l.again[l.againHead:])
		clear(l.again[k:])
		l.again, l.againHead = l.again[:k], 0
	}
	c.state.clear(flagAgain)
	return c
}

// keepRest keeps input that c's turn read but did not feed, for its next
// turn; rest is in the loop's buffer, so it is copied.
func (l *loop) keepRest(c *Conn, rest []byte) {
	b := getBuf(len(rest))
	*b = append(*b, rest...)
	l.rests[c] = b
	c.state.set(flagRest)
}

// feedRest feeds the input left from c's last turn. It reports readMore
// when all of it is fed and the socket may be read.
func (l *loop) feedRest(c *Conn, t *turn) readResult {
	b := l.rests[c]
	delete(l.rests, c)
	c.state.clear(flagRest)
	n, ok := c.feedTurn(*b, t.end)
	if !ok {
		putBuf(b)
		return readEnded
	}
	if n < len(*b) {
		*b = (*b)[:copy(*b, (*b)[n:])]
		l.rests[c] = b
		c.state.set(flagRest)
		return t.ended(c)
	}
	putBuf(b)
	if t.waits(c) {
		return readWait
	}
	return readMore
}

// dropRest frees the input left from c's last turn, when c ends.
func (l *loop) dropRest(c *Conn) {
	if c.state.is(flagRest) {
		putBuf(l.rests[c])
		delete(l.rests, c)
		c.state.clear(flagRest)
	}
}

// What a turn's read left of a connection's input.
type readResult int

const (
	readWait    readResult = iota // nothing to read until the next event
	readEnded                     // the connection ended and must be finished
	readYielded                   // the turn ran out: serve c again soon
	readMore                      // the socket may hold input: read it
)

// A turn bounds what an event loop does for one connection before it
// serves the others: it reads at most budget bytes and runs handlers until
// its end. What it read and did not feed is left in rest, a slice of the
// buffer read into. The zero turn is unbounded: an off-loop reader's,
// which has the goroutine to itself.
type turn struct {
	budget int
	end    *turnEnd // nil: unbounded
	rest   []byte
}

// ended says how c's turn ended with input not fed: waiting for the peer
// to take c's output, or out of time.
func (t *turn) ended(c *Conn) readResult {
	if t.waits(c) {
		return readWait // flushOut or the Inbox (rearm) serves c again
	}
	return readYielded
}

// read reads c's socket into buf until it is drained and feeds what
// arrives. A read shorter than asked ends it (more input brings a new
// event), unless the loop saw a hang-up: then only end of input or EAGAIN
// do. A bounded turn (on an event loop) stops early while output waits for
// the peer (flushOut reads again once it is sent), so a peer that does not
// read cannot make a handler queue without end; and once it has read
// t.budget bytes or run out of time it reports readYielded, as the socket
// may hold more that no event will announce (epoll is edge-triggered).
func (t *turn) read(c *Conn, buf []byte) readResult {
	pause := t.end != nil
	read := 0
	for {
		into := buf
		room := c.rd.room(c.cfg, c.fd.Unread)
		if room != nil {
			into = room
		}
		n, err := poll.Read(c.fd.Num(), into)
		switch {
		case n > 0:
			if room != nil {
				if !c.payload(c.rd.takeDirect(n), true) {
					return readEnded
				}
			} else if res := t.feed(c, buf[:n]); res != readMore {
				return res
			}
			if pause && t.waits(c) {
				return readWait
			}
			if n < len(into) && !c.state.is(flagHangup) {
				return readWait // drained: more input brings a new event
			}
			if read += n; pause && (t.budget > 0 && read >= t.budget || t.end.passed()) {
				return readYielded
			}
		case n == 0:
			return readEnded // end of input
		case err == syscall.EINTR:
		case err == syscall.EAGAIN:
			return readWait
		default:
			return readEnded
		}
	}
}

// feed feeds p, which a read returned, within c's turn t. It reports
// readMore once all of p is fed; what the turn did not feed is left in
// t.rest.
func (t *turn) feed(c *Conn, p []byte) readResult {
	n, ok := c.feedTurn(p, t.end)
	switch {
	case !ok:
		return readEnded
	case n < len(p):
		t.rest = p[n:]
		return t.ended(c)
	}
	return readMore
}

// waits reports whether the turn must stop feeding c: its handler holds
// input (connState.hold), or output no writer waits for waits for the peer
// (pauseReading, outQueue.unowned). It
// first writes what the turn has gathered, so that it is out before the
// loop reads again, and tells whether the socket took it.
func (t *turn) waits(c *Conn) bool {
	c.wire().flushTurn()
	return c.state.is(flagHeld) || c.out.Load() != nil && c.pauseReading()
}

// rearm makes the loop of c serve it again, as if input had just arrived.
func (d *Dispatcher) rearm(c *Conn) {
	if c.fd.Acquire() {
		_ = d.loopOf(c).p.Rearm(c.fd.Num())
		c.fd.Release()
	}
}

// pauseReading stops reading c while output that no writer waits for
// waits for the peer (outQueue.unowned); it reports whether it did, as the
// output may have drained meanwhile.
func (c *Conn) pauseReading() bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.out.Load().holdsUnowned() {
		c.state.clear(flagPaused)
		return false
	}
	c.state.set(flagPaused)
	return true
}

// kick makes sure a goroutine reads c, for off-loop handlers: it hands c
// to an idle reader or starts one, or tells the one reading c that more
// input arrived.
func (l *loop) kick(c *Conn) {
	if !c.fd.Kick() {
		return // the reader on c reads again
	}
	select {
	case l.idle <- c:
	default:
		l.readers.Add(1)
		go l.reader(c)
	}
}

// readerIdle is how long an idle off-loop reader waits for a connection
// before it ends.
const readerIdle = 10 * time.Second

// reader serves connections with input, one at a time, for off-loop
// handlers, until it has been idle for readerIdle or the loop stops.
func (l *loop) reader(c *Conn) {
	defer l.readers.Done()
	b := getBuf(loopBufSize)
	defer putBuf(b)
	t := time.NewTimer(readerIdle)
	defer t.Stop()
	for {
		var whole turn // unbounded: this goroutine is c's alone
		whole.readAll(c, (*b)[:cap(*b)])
		t.Reset(readerIdle)
		select {
		case c = <-l.idle:
		case <-t.C:
			return
		case <-l.quit:
			return
		}
	}
}

// readAll reads c off the loop until it has nothing more to read, calling
// its handlers; it finishes c when it ends.
func (t *turn) readAll(c *Conn, buf []byte) {
	for {
		if t.read(c, buf) == readEnded {
			c.finish() // workRunning stays set: no reader takes c again
			return
		}
		if c.fd.EndWork() {
			return
		}
	}
}

// detach removes an ending c from its loop and fails the output that still
// waits. The descriptor stays open until c.fd.LetGo.
func (c *Conn) detach() {
	l := c.d.loopOf(c)
	l.mu.Lock()
	l.conns.remove(int(c.fd.Num())/l.nLoops, c)
	l.mu.Unlock()
	c.wmu.Lock()
	if q := c.out.Load(); q != nil {
		c.wire().abortOut(q, ErrClosed)
	}
	c.wmu.Unlock()
}
