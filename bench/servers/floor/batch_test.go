package main

import (
	"bytes"
	"io"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/wssgo/wss/bench/internal/wsproto"
)

// clientFrame returns a masked binary frame of size payload bytes (RFC 6455
// section 5.3) and the unmasked server frame the floor must echo for it.
func clientFrame(size int, key [4]byte) (masked, echoed []byte) {
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i*7 + size)
	}
	h := wsproto.AppendHeader(nil, wsproto.OpBinary, size, true)
	copy(h[len(h)-4:], key[:])
	masked = append([]byte(nil), h...)
	for i, b := range payload {
		masked = append(masked, b^key[i%4])
	}
	echoed = append(wsproto.AppendHeader(nil, wsproto.OpBinary, size, false), payload...)
	return masked, echoed
}

// TestPipelinedEchoesOneWrite checks that the echoes of all frames in one
// read leave with one system call (maxBatch frames at most), exactly as
// echoes one by one would, and that an incomplete last frame waits.
func TestPipelinedEchoesOneWrite(t *testing.T) {
	cases := []struct {
		name          string
		frames, size  int
		tail          int // bytes of one more frame, incomplete
		wantCalls     int
		wantKeptBytes int
	}{
		{"one frame", 1, 64, 0, 1, 0},
		{"32 frames of 64 B", 32, 64, 0, 1, 0},
		{"8 frames of 16 KiB", 8, 16 << 10, 0, 1, 0},
		{"4 frames and half a fifth", 4, 64, 30, 1, 30},
		{"more frames than one writev takes", maxBatch + 1, 8, 0, 2, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			peer := os.NewFile(uintptr(fds[1]), "peer")
			defer peer.Close()
			own := os.NewFile(uintptr(fds[0]), "floor end")
			defer own.Close()
			_ = unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUF, 4<<20)
			var in, want []byte
			for i := range tc.frames {
				m, e := clientFrame(tc.size, [4]byte{1, 2, 3, byte(i)})
				in, want = append(in, m...), append(want, e...)
			}
			m, _ := clientFrame(tc.size, [4]byte{9, 9, 9, 9})
			in = append(in, m[:tc.tail]...)

			s := &server{conns: make([]*conn, fds[0]+1)}
			c := &conn{fd: fds[0], upgraded: true}
			s.conns[c.fd] = c
			s.consume(c, in, false)

			if s.batch.calls != tc.wantCalls {
				t.Errorf("%d write calls, want %d", s.batch.calls, tc.wantCalls)
			}
			if c.n != tc.wantKeptBytes {
				t.Errorf("kept %d bytes of the incomplete frame, want %d", c.n, tc.wantKeptBytes)
			}
			if c.out != nil {
				t.Fatalf("%d bytes left unsent", len(c.out))
			}
			if err := unix.Shutdown(fds[0], unix.SHUT_WR); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(peer)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("echoes: %d bytes, want %d, or different bytes", len(got), len(want))
			}
		})
	}
}
