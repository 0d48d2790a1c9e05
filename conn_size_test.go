package wss

import (
	"testing"
	"unsafe"
)

// An idle connection's Conn fits the allocator's 128-byte size class: the
// next one up is 144 bytes, 16 more for each of a million connections.
func TestConnFits128Bytes(t *testing.T) {
	if got := unsafe.Sizeof(Conn{}); got > 128 {
		t.Errorf("a Conn is %d bytes, want at most 128", got)
	}
}
