package poll

import (
	"bytes"
	"testing"

	"golang.org/x/sys/unix"
)

// socketPair returns a connected pair of non-blocking stream sockets.
func socketPair(t *testing.T) (a, b int32) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return int32(fds[0]), int32(fds[1])
}

// WritevFull writes its buffers in order with one writev when they fit;
// more buffers than MaxIovecs take more; at a full socket it returns
// EAGAIN and the bytes written, a count that may end inside a buffer.
func TestWritevFull(t *testing.T) {
	cases := []struct {
		name    string
		bufs    [][]byte
		syscall int
	}{
		{"three buffers", [][]byte{[]byte("ab"), []byte("c"), []byte("defg")}, 1},
		{"more than MaxIovecs", func() (b [][]byte) {
			for i := range MaxIovecs + 3 {
				b = append(b, []byte{byte(i)})
			}
			return b
		}(), 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := socketPair(t)
			calls := 0
			restore := SetWriteHook(func(fd int32) {
				if fd == a {
					calls++
				}
			})
			n, err := WritevFull(a, tc.bufs)
			restore()
			want := bytes.Join(tc.bufs, nil)
			if err != nil || n != len(want) {
				t.Fatalf("WritevFull = %d, %v; want %d, nil", n, err, len(want))
			}
			if calls != tc.syscall {
				t.Errorf("%d writev calls, want %d", calls, tc.syscall)
			}
			got := make([]byte, len(want)+1)
			k, _ := unix.Read(int(b), got)
			if !bytes.Equal(got[:k], want) {
				t.Errorf("read %q, want %q", got[:k], want)
			}
		})
	}
	t.Run("full socket", func(t *testing.T) {
		a, _ := socketPair(t)
		big := bytes.Repeat([]byte("x"), 1<<20)
		bufs := [][]byte{[]byte("head"), big, []byte("tail")}
		n, err := WritevFull(a, bufs)
		if err != unix.EAGAIN || n <= 0 || n >= len(big) {
			t.Fatalf("WritevFull = %d, %v; want part of it and EAGAIN", n, err)
		}
	})
}
