//go:build !linux

package wss

// queuedBytes is 0 where there are no event loops, and so no output queue.
func queuedBytes(*Conn) int { return 0 }
