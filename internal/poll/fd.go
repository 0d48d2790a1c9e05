package poll

import "sync/atomic"

// FD is a socket descriptor served by an event loop, and its lifetime.
// Any goroutine may use the descriptor (write, shut down, ask the peer's
// address) between Acquire and Release; only the loop decides it is done
// with it (LetGo). The descriptor is closed once both hold, so a goroutine
// can never reach a descriptor number the system has given to another
// socket. The zero FD has no descriptor; Set gives it one before any other
// goroutine sees it. Its methods are safe for concurrent use.
//
// The state word also says whether an off-loop reader is on the
// connection (Kick, EndWork): one word instead of two for every idle
// connection.
type FD struct {
	num   int32
	state atomic.Int32
}

// Bits of FD.state: the users of the descriptor count in steps of ref.
const (
	released    = 1 // the loop let go of the descriptor
	closed      = 2 // the descriptor is closed
	workRunning = 4 // an off-loop reader is on the connection
	workMore    = 8 // input arrived while it read
	ref         = 16

	workBits = workRunning | workMore
)

// Set gives f its descriptor, before f is shared.
func (f *FD) Set(num int32) { f.num = num }

// Num returns the descriptor's number, for the loop that polls it and for
// goroutines that hold it acquired.
func (f *FD) Num() int32 { return f.num }

// Acquire reports whether the descriptor may be used; if so, Release must
// follow.
func (f *FD) Acquire() bool {
	if f.state.Add(ref)&released != 0 {
		f.Release()
		return false
	}
	return true
}

// Release ends a use that Acquire began; the last one after LetGo closes
// the descriptor.
func (f *FD) Release() {
	if f.state.Add(-ref)&^workBits == released {
		f.close()
	}
}

// LetGo is called once, by the loop, when it has finished the connection:
// the descriptor is closed now, or by the last goroutine still using it.
func (f *FD) LetGo() {
	if f.state.Or(released)&^workBits == 0 {
		f.close()
	}
}

// Released reports whether LetGo has been called.
func (f *FD) Released() bool { return f.state.Load()&released != 0 }

// close closes the descriptor if it is let go of and unused, once.
func (f *FD) close() {
	for {
		s := f.state.Load()
		if s&^workBits != released {
			return // in use, or closed already
		}
		if f.state.CompareAndSwap(s, s|closed) {
			closeFD(f.num)
			return
		}
	}
}

// Kick records that the connection has input for an off-loop reader. It
// reports true when no reader is on it: the caller must start one. When a
// reader is on it, the reader learns (EndWork) that it must read again.
func (f *FD) Kick() bool {
	for {
		s := f.state.Load()
		switch {
		case s&workRunning == 0:
			if f.state.CompareAndSwap(s, s|workRunning) {
				return true
			}
		case s&workMore == 0:
			if f.state.CompareAndSwap(s, s|workMore) {
				return false
			}
		default:
			return false
		}
	}
}

// EndWork ends an off-loop reader's turn, unless input arrived while it
// read: then it reports false, and the reader reads again.
func (f *FD) EndWork() bool {
	for {
		s := f.state.Load()
		if s&workMore != 0 {
			if f.state.CompareAndSwap(s, s&^workMore) {
				return false
			}
		} else if f.state.CompareAndSwap(s, s&^workRunning) {
			return true
		}
	}
}
