//go:build unix

package wss

import (
	"net"
	"syscall"
)

// readRaw reads c, a TCP connection of goroutine mode, in turns t, taking a
// pooled buffer only once input has arrived and giving it back before
// waiting again, so that an idle connection holds no buffer. It reports
// false, having read nothing, for other connections.
func (t *goTurn) readRaw(c *Conn) bool {
	tc, ok := c.netConn().(*net.TCPConn)
	if !ok {
		return false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	var (
		b      *[]byte
		n      int
		rerr   error
		waited = true // a turn starts with the connection's first input
	)
	size := readBufSize
	read := func(fd uintptr) bool {
		b = getBuf(size)
		n, rerr = readNow(fd, (*b)[:cap(*b)])
		if rerr == syscall.EAGAIN {
			putBuf(b)
			waited = true
			return false // wait for input without a buffer
		}
		return true
	}
	t.try = trySendOn(rc)
	for {
		if err := rc.Read(read); err != nil {
			return true
		}
		ok := rerr == syscall.EINTR || n > 0 && t.feed(c, (*b)[:n], waited)
		waited = false
		size = nextReadSize(n, cap(*b))
		putBuf(b)
		if !ok {
			return true // end of input, a read error, or the connection ended
		}
	}
}

// trySendOn returns the trySend of a connection whose raw socket is rc.
func trySendOn(rc syscall.RawConn) trySend {
	var (
		p    []byte
		n    int
		werr error
	)
	write := func(fd uintptr) bool {
		for {
			n, werr = writeNow(fd, p)
			if werr != syscall.EINTR {
				return true // never wait for room
			}
		}
	}
	return func(b []byte) (int, error) {
		p = b
		err := rc.Write(write)
		p = nil
		switch {
		case err != nil:
			return 0, err
		case werr == syscall.EAGAIN:
			return 0, nil
		case werr != nil:
			return 0, werr
		}
		return n, nil
	}
}
