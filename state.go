package wss

import "sync/atomic"

// A connection's state is one word, Conn.state: its lifecycle bits, a few
// bookkeeping bits, and in the top 16 bits the status OnClose will get (0
// while undecided). One word instead of a field each keeps an idle
// connection small; every change is one atomic operation.
//
// The lifecycle, and the one place each state is entered:
//
//	state      bits            entered by                       next
//	new        none            newConn                          upgrading, open
//	upgrading  flagUpgrading   markUpgrading (serveAccepted)    open, closed
//	open       flagConnected   markOpen (connect, upgrade)      closing, closed
//	closing    +flagCloseSent  writable, as a close frame goes  closed
//	closed     +flagClosed     drop: the socket is closed       finished
//	finished   (OnClose)       finish, once, by c's reader      none
//
// The status is recorded once (setStatus), by whichever comes first: the
// peer's close frame, a failure, a timeout, a drop.
//
// Bookkeeping bits, each with its owner:
//
//	flagHangup    the loop saw the peer hang up: read to the end (loop)
//	flagPaused    reading waits for queued output to drain (guarded by wmu)
//	flagAdmitted  holds a connection slot of its Dispatcher (guarded by d.mu)
//	flagAgain     waits in its loop's again queue (loop only)
//	flagRest      input read but not fed waits in its loop's rests (loop only)
//	flagHeld      its handler holds input on the loop: an Inbox is full
//	              (hold, on the loop; unhold, by the Inbox's reader)
//	flagTurn      its reader runs its turn: writes are gathered (set by the
//	              reader; cleared under wmu once the gathered bytes are out
//	              on a loop, by the reader before it tries wmu in
//	              goroutine mode: leaveGoTurn)
//	flagStreaming a message is being sent in fragments (Conn.Writer): other
//	              data frames wait for its end (guarded by wmu)
//	flagBacked    its output backed up: OnDrain is owed once it drains
//	flagDrainDue  its output drained after backing up: call OnDrain
//	              (buffered.go)
//	flagMoreInput the input its turn feeds holds more after the message
//	              being delivered, which is above smallWrite: a big
//	              payload written meanwhile is copied into what the turn
//	              gathers (the loop's cork, goroutine mode's
//	              connAside.gather), to leave with what follows, rather
//	              than written at once (goesAtOnce; set and cleared by the
//	              reader)
//	flagWhole     its Handler takes messages whole, not a FragmentHandler
//	              (setHandler, before the connection is open)
//
// An event-loop connection's descriptor has a word of its own, poll.FD.
const (
	flagConnected uint32 = 1 << iota // open: connect or Serve's upgrade has run
	flagCloseSent                    // a close frame went out: no more frames may
	flagClosed                       // the socket is closed
	flagHangup
	flagPaused
	flagAdmitted
	flagUpgrading // accepted by Serve, its handshake not complete
	flagAgain
	flagRest
	flagHeld
	flagTurn
	flagStreaming
	flagBacked
	flagDrainDue
	flagMoreInput
	flagWhole

	statusShift = 16
)

// connState is a connection's state word, Conn.state. Its methods are
// safe for concurrent use; a bit noted as guarded is changed only under
// its lock.
type connState struct {
	w atomic.Uint32
}

func (s *connState) is(f uint32) bool { return s.w.Load()&f != 0 }
func (s *connState) set(f uint32)     { s.w.Or(f) }
func (s *connState) clear(f uint32)   { s.w.And(^f) }

// take clears f and reports whether it was set.
func (s *connState) take(f uint32) bool { return s.w.And(^f)&f != 0 }

// setFirst sets f and reports whether this call set it.
func (s *connState) setFirst(f uint32) bool { return s.w.Or(f)&f == 0 }

// markUpgrading: Serve accepted the connection; its loop reads the
// handshake request.
func (s *connState) markUpgrading() { s.set(flagUpgrading) }

// markOpen: the handshake is complete; frames may go both ways.
func (s *connState) markOpen() {
	s.set(flagConnected)
	s.clear(flagUpgrading)
}

// open reports whether the connection may send: open, no close frame
// sent, the socket not closed.
func (s *connState) open() bool {
	return s.w.Load()&(flagConnected|flagCloseSent|flagClosed) == flagConnected
}

// setStatus records the status OnClose will get, unless one was recorded
// before, and reports whether it did. Statuses fit in 16 bits: close codes
// are below 5000.
func (s *connState) setStatus(status StatusCode) bool {
	for {
		old := s.w.Load()
		if old>>statusShift != 0 {
			return false
		}
		if s.w.CompareAndSwap(old, old|uint32(uint16(int16(status)))<<statusShift) {
			return true
		}
	}
}

// hold: a handler on the loop cannot take more input (a full Inbox). The
// loop stops feeding the connection once the frame being delivered
// returns; what it read meanwhile waits in the loop, and the socket's
// buffer then fills, which slows the peer down.
func (s *connState) hold() { s.set(flagHeld) }

// unhold ends hold and reports whether input was held: then the caller
// makes the loop serve the connection again (Dispatcher.rearm).
func (s *connState) unhold() bool { return s.w.And(^flagHeld)&flagHeld != 0 }

// ended reports whether the connection is closed: nothing more is read.
func (s *connState) ended() bool { return s.is(flagClosed) }

// status returns the recorded status, or 0.
func (s *connState) status() StatusCode {
	return StatusCode(int16(s.w.Load() >> statusShift))
}
