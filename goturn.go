package wss

import (
	"os"
	"runtime"
	"sync"
	"time"
)

// Turns in goroutine mode. A connection whose peer sends without pause
// never waits in Read, so its goroutine stays runnable: with one CPU, the
// Go scheduler runs each such goroutine up to its 10 ms preemption slice
// and looks for network readiness only once no goroutine is runnable (or
// when sysmon polls, every 10 ms). Fifty peers that send and never read
// then kept the other connections waiting for up to seconds, while the
// kernel's socket buffers took their echoes. runtime.Gosched does not
// help: the yielding goroutine goes to the global run queue, ahead of the
// network poll, so the busy ones only take turns among themselves.
//
// So a busy connection yields through the network poller instead: once
// feeding one read has taken goTurnLen, or it has read ReadBudget without
// waiting for input, it queues for a pacer goroutine that
// releases one queued connection each time a pipe it reads becomes
// readable, and the byte that makes it readable is written at the start
// of the previous released turn. Each busy turn is thus followed by a poll
// of the network, as the event loops do (loopTurn): the other connections'
// latency grows by about one turn, not by one turn per busy connection.

// goTurnLen is how long a goroutine-mode connection feeds one read before
// it lets the others run: the event loops' turn. Beside
// 50 peers that never read, 200 µs turns tripled the other clients' p50
// and p99 against 50 µs ones (bench: slow50). A yield costs a few
// microseconds to some tens on a busy machine (a pipe write and read,
// goroutine switches, a poll); connections that wait for their peer
// between reads never yield.
const goTurnLen = 50 * time.Microsecond

// goTurn is a goroutine-mode connection's turn state, held by its read
// loop: not safe for concurrent use.
type goTurn struct {
	streak int           // bytes read since the connection last waited for input
	end    turnEnd       // when the turn ends
	wake   chan struct{} // where the pacer releases it; made at its first yield
	try    trySend       // writes without waiting for the peer; nil if the net.Conn cannot (TLS, no raw socket)
}

// feed feeds the bytes of one read to c; fresh tells whether the read
// waited for input. A turn starts with a read that waited, and ends once
// it has taken goTurnLen, over the reads that followed without waiting,
// or once the connection has read the Dispatcher's ReadBudget without
// waiting; then it lets the others run. Time spent waiting to be scheduled
// before a read that waited does not count, so that a connection whose
// peer answers at once (its next message already there when it reads)
// does not yield on a busy machine. It reads the clock once a read, and
// once every stepsPerClockRead frames within one. The clock is read at a
// fresh read's start, not at its first check as on a loop, so that the
// time a handler takes counts in the turn. It returns false once the
// connection has ended.
func (t *goTurn) feed(c *Conn, p []byte, fresh bool) bool {
	now := sinceEpoch()
	if fresh {
		t.streak, t.end = 0, turnEnd{at: now + goTurnLen}
	}
	if t.streak += len(p); t.streak > c.d.readBudget || now > t.end.at {
		t.yield()
		t.streak, t.end = len(p), turnEnd{at: sinceEpoch() + goTurnLen}
	}
	for {
		// What the handlers write meanwhile is gathered, and goes out
		// with one write once this input is fed or before the others
		// run (gather.go).
		c.state.set(flagTurn)
		n, ok := c.feedTurn(p, &t.end)
		c.wire().endGoTurn(t.try)
		if !ok {
			return false
		}
		if p = p[n:]; len(p) == 0 {
			return true
		}
		t.yield()
		t.end = turnEnd{at: sinceEpoch() + goTurnLen}
	}
}

// yield waits for the pacer to give the connection its next turn.
func (t *goTurn) yield() {
	if t.wake == nil {
		t.wake = make(chan struct{}, 1)
	}
	if !turns.wait(t.wake) {
		runtime.Gosched() // no pipe: the scheduler's turns are all there is
	}
}

// turnQueue holds the goroutine-mode connections waiting for a turn. There
// is one a process, as there is one Go scheduler.
type turnQueue struct {
	once sync.Once
	r, w *os.File // the pacer's pipe; nil if it could not be made

	// The bytes written and read, here so that a turn allocates nothing.
	buf, rbuf [1]byte

	mu      sync.Mutex
	waiting []chan struct{} // in order; shifted down so that it never reallocates once grown
	pending bool            // a byte is in the pipe, or about to be written
	pacing  bool            // the pacer runs; it ends when no connection waits
}

var turns turnQueue

func paceTurns() { turns.pace() }

// open makes the pacer's pipe the first time it is needed, and reports
// whether there is one. The pipe's two descriptors stay open for the rest of
// the process, as the pacer it serves is process-wide.
func (q *turnQueue) open() bool {
	q.once.Do(func() {
		var err error
		if q.r, q.w, err = os.Pipe(); err != nil {
			q.r, q.w = nil, nil
		}
	})
	return q.r != nil
}

// wait queues wake and returns once the pacer has released it; false if
// there is no pipe to pace with.
func (q *turnQueue) wait(wake chan struct{}) bool {
	if !q.open() {
		return false
	}
	q.mu.Lock()
	q.waiting = append(q.waiting, wake)
	start := !q.pacing
	q.pacing = true
	q.mu.Unlock()
	if start {
		// Let the pacer reach its Read first (with one CPU), so that the
		// byte below makes the pipe readable at the next poll of the
		// network, not already when the pacer looks.
		go paceTurns() // no arguments: a go statement with some allocates a closure
		runtime.Gosched()
	}
	q.notify()
	<-wake
	// Released: the pacer is back in its Read by now (with one CPU), so
	// this byte makes it readable at the next poll of the network.
	q.notify()
	return true
}

// notify writes the byte that wakes the pacer, unless one is pending. Once
// released, a connection writes it even if no other waits, so that the
// pacer lives on through its next turn instead of starting anew (a
// goroutine start allocates); woken with none waiting, the pacer ends.
func (q *turnQueue) notify() {
	q.mu.Lock()
	write := !q.pending
	q.pending = true
	q.mu.Unlock()
	if write {
		_, _ = q.w.Write(q.buf[:])
	}
}

// pace releases one waiting connection each time the pipe is readable; it
// returns once it finds none waiting.
func (q *turnQueue) pace() {
	for {
		_, _ = q.r.Read(q.rbuf[:]) // one byte: notify writes it once
		q.mu.Lock()
		q.pending = false
		if len(q.waiting) == 0 {
			q.pacing = false
			q.mu.Unlock()
			return
		}
		wake := q.waiting[0]
		n := copy(q.waiting, q.waiting[1:])
		q.waiting[n] = nil
		q.waiting = q.waiting[:n]
		q.mu.Unlock()
		wake <- struct{}{}
	}
}
