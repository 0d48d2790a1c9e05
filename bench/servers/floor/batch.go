package main

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxBatch bounds the echoes gathered for one writev: Linux takes at most
// 1,024 pieces (IOV_MAX) in one call.
const maxBatch = 1024

// batch gathers the echoes of one read of one connection, so that they all
// leave with one system call: write for one echo, writev for several. The
// echoes stay where they were unmasked, in the read buffer; nothing is
// copied unless the socket takes only part of them.
type batch struct {
	frames [][]byte
	iov    []unix.Iovec
	calls  int // write system calls made, for the tests
}

func (b *batch) add(f []byte) { b.frames = append(b.frames, f) }

func (b *batch) full() bool { return len(b.frames) == maxBatch }

func (b *batch) reset() { b.frames = b.frames[:0] }

// send writes the gathered echoes to fd and returns what the socket did not
// take, as one fresh buffer (nil if it took everything), and the write's
// error if it is not EAGAIN. The batch is empty afterwards.
func (b *batch) send(fd int) (left []byte, err error) {
	defer b.reset()
	if len(b.frames) == 0 {
		return nil, nil
	}
	b.calls++
	var n int
	if len(b.frames) == 1 {
		n, err = unix.Write(fd, b.frames[0])
	} else {
		n, err = b.writev(fd)
	}
	if err == unix.EAGAIN {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	n = max(n, 0)
	for _, f := range b.frames {
		if n >= len(f) {
			n -= len(f)
			continue
		}
		left = append(left, f[n:]...)
		n = 0
	}
	return left, nil
}

// writev is the system call without the allocation of unix.Writev, which
// builds a fresh iovec slice every call.
func (b *batch) writev(fd int) (int, error) {
	b.iov = b.iov[:0]
	for _, f := range b.frames {
		if len(f) == 0 {
			continue
		}
		v := unix.Iovec{Base: &f[0]}
		v.SetLen(len(f))
		b.iov = append(b.iov, v)
	}
	if len(b.iov) == 0 {
		return 0, nil
	}
	n, _, e := unix.Syscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&b.iov[0])), uintptr(len(b.iov)))
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}
