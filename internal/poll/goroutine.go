package poll

import (
	"runtime"
	"strconv"
	"sync"
)

// loopGoroutines holds the ids of the goroutines that must never wait for a
// peer: the event loops and the timeout sweeper.
var loopGoroutines sync.Map

// MarkLoop marks the calling goroutine as one that must never wait for a
// peer, as an event loop (OnLoop reports true there), until the
// returned function is called.
func MarkLoop() (unmark func()) {
	id := goid()
	loopGoroutines.Store(id, struct{}{})
	return func() { loopGoroutines.Delete(id) }
}

// OnLoop reports whether the caller is an event loop, which must never
// wait for a peer. It costs about a microsecond: ask it only off the
// common path, when a write cannot complete at once.
func OnLoop() bool {
	_, ok := loopGoroutines.Load(goid())
	return ok
}

// goid returns the calling goroutine's id, from the first line of its
// stack trace: "goroutine 123 [running]:".
func goid() uint64 {
	var b [64]byte
	s := b[:runtime.Stack(b[:], false)]
	const prefix = len("goroutine ")
	end := prefix
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	id, _ := strconv.ParseUint(string(s[prefix:end]), 10, 64)
	return id
}
