package wss

import "testing"

// TestScaleIdleCompressedMemory holds 5,000 connections that negotiated
// permessage-deflate with context takeover, after one message each way
// that fills their windows, and checks what the server keeps per idle
// connection: the peer's window and 2,688 bytes of its own context as
// plain bytes, with the connection itself. Against a browser-like offer
// (permessage-deflate; client_max_window_bits) the peer's window is
// 4 KiB: about 7.5 KiB in all, within 8 KiB. A server that keeps the
// client's 15-bit window, as with a peer that offers no
// client_max_window_bits, holds 32 KiB of it: about 35.4 KiB, within
// 36 KiB.
// The clients run in a child process, as raw sockets that send one
// precomputed compressed frame each. Event-loop dispatcher only: in
// goroutine mode a parked goroutine's stack alone is larger than the
// figure.
func TestScaleIdleCompressedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test")
	}
	const n = 5000
	cases := []struct {
		name, mode string
		size       int // fills the peer's window and the send context
		limit      int64
	}{
		{"browser-like offer", "takeover", 6000, 8 << 10},
		{"15-bit client window", "takeover-15", 40_000, 36 << 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			heap, _ := measureIdleWith(t, n, tc.mode, tc.size, true)
			per := heap / n
			t.Logf("%d bytes of heap and stacks per idle compressed connection", per)
			if per > tc.limit {
				t.Fatalf("an idle compressed connection holds %d bytes of heap and stacks, want at most %d", per, tc.limit)
			}
		})
	}
}
