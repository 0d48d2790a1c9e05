package poll

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Accept takes a connection from the backlog of the listening socket lfd,
// non-blocking and close-on-exec. It asks for no address, so that it
// allocates nothing; unix.EAGAIN means the backlog is empty.
func Accept(lfd uintptr) (int32, error) {
	for {
		fd, _, e := unix.RawSyscall6(unix.SYS_ACCEPT4, lfd, 0, 0, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		switch e {
		case 0:
			return int32(fd), nil
		case unix.EINTR, unix.ECONNABORTED: // as the net package does: the next one
			continue
		}
		return -1, e
	}
}

// TCPOptions are the options the net package sets on a TCP connection it
// accepts (TCP_NODELAY and keep-alive, after its ListenConfig), as
// ReadTCPOptions found them on one, for Apply to give sockets that Accept
// took from the same listener.
type TCPOptions struct {
	opts [len(tcpOptions)]int32
	ok   bool // read from a socket; the zero value sets nothing
}

var tcpOptions = [...]struct{ level, name int }{
	{unix.IPPROTO_TCP, unix.TCP_NODELAY},
	{unix.SOL_SOCKET, unix.SO_KEEPALIVE},
	{unix.IPPROTO_TCP, unix.TCP_KEEPIDLE},
	{unix.IPPROTO_TCP, unix.TCP_KEEPINTVL},
	{unix.IPPROTO_TCP, unix.TCP_KEEPCNT},
}

// ReadTCPOptions reads the options of the socket fd.
func ReadTCPOptions(fd int32) TCPOptions {
	var o TCPOptions
	for i, opt := range tcpOptions {
		v, err := unix.GetsockoptInt(int(fd), opt.level, opt.name)
		if err != nil {
			return TCPOptions{}
		}
		o.opts[i] = int32(v)
	}
	o.ok = true
	return o
}

// Ready reports whether o was read from a socket: the zero TCPOptions
// sets nothing.
func (o *TCPOptions) Ready() bool { return o.ok }

// Apply sets o on the socket fd. The keep-alive timings are set only when
// keep-alive is on, as the net package does.
func (o *TCPOptions) Apply(fd int32) {
	if !o.ok {
		return
	}
	for i, opt := range tcpOptions {
		if i > 1 && o.opts[1] == 0 {
			return
		}
		setsockopt(fd, opt.level, opt.name, o.opts[i])
	}
}

// setsockopt sets an int option of fd; a failure leaves it as it was.
func setsockopt(fd int32, level, name int, v int32) {
	unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(name), uintptr(unsafe.Pointer(&v)), 4, 0)
}
