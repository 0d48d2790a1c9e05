package poll

import "sync/atomic"

// writeHook, when set, is told the descriptor of every write and writev
// this package makes, so that tests can count system calls.
var writeHook atomic.Pointer[func(fd int32)]

// SetWriteHook makes every later Write and Writev2 call f with its
// descriptor, until restore is called. For tests: f runs on the writing
// goroutine, before the call (so before the peer can have the bytes), and
// must be safe for concurrent use.
func SetWriteHook(f func(fd int32)) (restore func()) {
	writeHook.Store(&f)
	return func() { writeHook.Store(nil) }
}

// wrote tells the hook, if any, of a write to fd.
func wrote(fd int32) {
	if h := writeHook.Load(); h != nil {
		(*h)(fd)
	}
}
