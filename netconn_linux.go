package wss

import (
	"net"

	"golang.org/x/sys/unix"
)

// fdLocalAddr asks c's event-loop socket for its local address.
func fdLocalAddr(c *Conn) net.Addr {
	if !c.fd.Acquire() {
		return nil
	}
	sa, err := unix.Getsockname(int(c.fd.Num()))
	c.fd.Release()
	if err != nil {
		return nil
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]).To16(), Port: sa.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: append(net.IP(nil), sa.Addr[:]...), Port: sa.Port}
	}
	return nil
}
