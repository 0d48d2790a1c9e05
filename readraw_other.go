//go:build !unix

package wss

// readRaw is not available: goroutine mode reads with a buffer of its own.
func (*goTurn) readRaw(*Conn) bool { return false }
