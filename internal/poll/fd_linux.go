package poll

import (
	"fmt"
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// How a socket is shut down (Shutdown).
const (
	ShutWrite = unix.SHUT_WR
	ShutBoth  = unix.SHUT_RDWR
)

// Shutdown shuts the socket down (how: ShutWrite or ShutBoth), unless the
// descriptor is let go of; the loop then sees end of input.
func (f *FD) Shutdown(how int) {
	if f.Acquire() {
		shutdown(f.num, how)
		f.Release()
	}
}

// Unread returns how many bytes wait in the socket, 0 if it cannot tell.
// Only the goroutine reading the socket calls it.
func (f *FD) Unread() int {
	var n int32
	_, _, e := unix.RawSyscall(unix.SYS_IOCTL, uintptr(f.num), unix.SIOCINQ, uintptr(unsafe.Pointer(&n)))
	if e != 0 {
		return 0
	}
	return int(n)
}

// PeerAddr returns the address of the socket's peer, or nil once the
// descriptor is let go of.
func (f *FD) PeerAddr() net.Addr { return f.addr(unix.Getpeername) }

// LocalAddr returns the socket's own address, or nil once the descriptor
// is let go of.
func (f *FD) LocalAddr() net.Addr { return f.addr(unix.Getsockname) }

// addr returns the TCP address that name (getpeername or getsockname)
// reports for the socket, or nil.
func (f *FD) addr(name func(fd int) (unix.Sockaddr, error)) net.Addr {
	if !f.Acquire() {
		return nil
	}
	sa, err := name(int(f.num))
	f.Release()
	if err != nil {
		return nil
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]).To16(), Port: sa.Port}
	case *unix.SockaddrInet6:
		a := &net.TCPAddr{IP: append(net.IP(nil), sa.Addr[:]...), Port: sa.Port}
		if sa.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(sa.ZoneId)); err == nil {
				a.Zone = ifi.Name
			}
		}
		return a
	}
	return nil
}

// TakeSocket returns a descriptor of tc's socket and closes tc, which
// frees its buffers and poller state but sends no FIN: the descriptor
// still refers to the socket.
func TakeSocket(tc *net.TCPConn) (int32, error) {
	rc, err := tc.SyscallConn()
	if err != nil {
		return -1, err
	}
	var fd int32 = -1
	cerr := rc.Control(func(s uintptr) {
		fd, err = DupCloexec(s)
	})
	if cerr != nil {
		return -1, cerr
	}
	if err != nil {
		return -1, fmt.Errorf("dup: %w", err)
	}
	tc.Close()
	return fd, nil
}
