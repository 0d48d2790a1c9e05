package poll

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// System calls on sockets in non-blocking mode return at once, so the
// event loops make them without telling the scheduler (RawSyscall).
// With Syscall, a call that the system happens to delay past a scheduler
// tick (about 20µs, common on a busy machine) makes the runtime hand the
// goroutine's processor to a new thread; bursts of connections then leave
// dozens of idle threads behind, each holding about 50 KB.

// Read reads into p, which may be empty.
func Read(fd int32, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

// Write writes p, which may be empty.
func Write(fd int32, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	wrote(fd)
	n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

// Writev2 writes a and b, both not empty, with one system call.
func Writev2(fd int32, a, b []byte) (int, error) {
	var iov [2]unix.Iovec
	iov[0].Base, iov[1].Base = &a[0], &b[0]
	iov[0].SetLen(len(a))
	iov[1].SetLen(len(b))
	wrote(fd)
	n, _, e := unix.RawSyscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), 2)
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

// writev writes the buffers of iov, not empty, with one system call.
func writev(fd int32, iov []unix.Iovec) (int, error) {
	wrote(fd)
	n, _, e := unix.RawSyscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

func epollCtl(epfd int, op int, fd int32, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: fd}
	_, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(&ev)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// DupCloexec duplicates fd, close-on-exec.
func DupCloexec(fd uintptr) (int32, error) {
	r, _, e := unix.RawSyscall(unix.SYS_FCNTL, fd, unix.F_DUPFD_CLOEXEC, 0)
	if e != 0 {
		return -1, e
	}
	return int32(r), nil
}

func closeFD(fd int32) {
	unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}

func shutdown(fd int32, how int) {
	unix.RawSyscall(unix.SYS_SHUTDOWN, uintptr(fd), uintptr(how), 0)
}

// epollWaitNow takes the ready events of epfd without waiting.
func epollWaitNow(epfd int, events []unix.EpollEvent) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
