package poll

import "golang.org/x/sys/unix"

// WriteFull writes a then b with writev until both are written or the
// socket is full. It returns the bytes written and nil, EAGAIN or the
// error that stopped it.
func WriteFull(fd int32, a, b []byte) (int, error) {
	total := 0
	for {
		n, err := writev2(fd, a, b)
		if n > 0 {
			total += n
			a, b = Skip(a, b, n)
			if len(a) == 0 && len(b) == 0 {
				return total, nil
			}
			continue // partial: write again until the socket says it is full
		}
		switch {
		case err == unix.EINTR:
		case err != nil:
			return total, err
		case len(a) == 0 && len(b) == 0:
			return total, nil
		}
	}
}

// writev2 writes a and b with one system call.
func writev2(fd int32, a, b []byte) (int, error) {
	switch {
	case len(a) == 0:
		return Write(fd, b)
	case len(b) == 0:
		return Write(fd, a)
	}
	return Writev2(fd, a, b)
}

// Skip drops the first n bytes of a then b.
func Skip(a, b []byte, n int) ([]byte, []byte) {
	k := min(n, len(a))
	return a[k:], b[n-k:]
}
