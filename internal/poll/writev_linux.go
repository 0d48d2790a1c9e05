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

// MaxIovecs is the most buffers WritevFull takes.
const MaxIovecs = 64

// WritevFull writes bufs in order (at most MaxIovecs, none empty) with
// writev until all are written or the socket is full. It returns the
// bytes written and nil, EAGAIN or the error that stopped it.
func WritevFull(fd int32, bufs [][]byte) (int, error) {
	var iov [MaxIovecs]unix.Iovec
	total, first, off := 0, 0, 0 // bufs[first][off:] is the next byte
	for first < len(bufs) {
		k := 0
		for i := first; i < len(bufs) && k < MaxIovecs; i++ {
			b := bufs[i]
			if i == first {
				b = b[off:]
			}
			iov[k].Base = &b[0]
			iov[k].SetLen(len(b))
			k++
		}
		n, err := writev(fd, iov[:k])
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return total, err
		}
		total += n
		for n > 0 {
			if left := len(bufs[first]) - off; n >= left {
				n -= left
				first, off = first+1, 0
			} else {
				off += n
				n = 0
			}
		}
	}
	return total, nil
}
