package wss

import "testing"

// TestScaleIdleCompressedMemory holds 5,000 connections that negotiated
// permessage-deflate with context takeover from a browser-like offer
// (permessage-deflate; client_max_window_bits), after one message each
// way that fills their windows, and checks what the server keeps per
// idle connection: the peer's 4 KiB window and 2,688 bytes of its own
// context as plain bytes, about 7.5 KiB with the connection itself,
// within 8 KiB.
// The clients run in a child process, as raw sockets that send one
// precomputed compressed frame each. Event-loop dispatcher only: in
// goroutine mode a parked goroutine's stack alone is larger than the
// figure.
func TestScaleIdleCompressedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test")
	}
	const n, limit = 5000, 8 << 10
	// 6 kB messages fill the 4 KiB window and the send context.
	heap, _ := measureIdleWith(t, n, "takeover", 6000, true)
	per := heap / n
	t.Logf("%d bytes of heap and stacks per idle compressed connection", per)
	if per > limit {
		t.Fatalf("an idle compressed connection holds %d bytes of heap and stacks, want at most %d", per, limit)
	}
}
