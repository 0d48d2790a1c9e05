package wss

// neverWaitHere marks the calling goroutine as one that must not wait for a
// peer, as an event loop is: its writes to event-loop connections leave
// what the socket does not take at once in the connection's queue, under
// WriteTimeout, and return (sendFD). It returns the function that removes
// the mark, to call before the goroutine ends.
func neverWaitHere() (unmark func()) {
	id := goid()
	loopGoroutines.Store(id, struct{}{})
	return func() { loopGoroutines.Delete(id) }
}
