package wss

import "testing"

// idleBytesLimit bounds the heap and stacks an idle event-loop connection
// may hold. The README quotes about 300 B (306 B at 19,000 connections in
// the bench); the bound leaves twice that, so that noise passes and a
// regression of a few hundred bytes a connection does not.
const idleBytesLimit = 600

// TestScaleIdleMemory guards that figure: 5,000 idle connections, whose
// clients run in a child process, cost the server at most idleBytesLimit
// each.
func TestScaleIdleMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test")
	}
	const n = 5000
	heap, _ := measureIdle(t, n, "off", 64) // one 64 B exchange: a message leaves nothing behind
	per := heap / n
	t.Logf("%d idle connections: %d B of heap and stacks each", n, per)
	if per > idleBytesLimit {
		t.Errorf("an idle connection holds %d B, want at most %d", per, idleBytesLimit)
	}
}
