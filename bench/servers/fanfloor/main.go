// Command fanfloor is the lower bound of server CPU per fan-out delivery:
// one epoll loop on one thread over raw non-blocking sockets. A connection
// on /pub is the publisher; every other connection is subscribed to the one
// topic on its handshake, and told so with an empty text frame in the same
// write as the 101 response. Each message from the publisher is unmasked
// once and its frame sent to every subscriber.
//
// By default each delivery is its own write system call. With -batch, the
// messages of one read from the publisher are gathered into one buffer and
// each subscriber gets all of them with one write: what a server that
// gathers a subscriber's pending output per loop turn pays.
//
// Like the echo floor it validates nothing and has no limits worth the
// name: it is a bound, not a server to use.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/netip"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (IPv4 host:port)")
	batched := flag.Bool("batch", false, "send each subscriber the messages of one read with one write")
	flag.Parse()
	runtime.LockOSThread()
	s, err := listen(*addr)
	if err != nil {
		log.Fatal(err)
	}
	s.batched = *batched
	s.loop()
}

func listen(addr string) (*server, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().Is4() {
		return nil, fmt.Errorf("fanfloor: -addr must be IPv4 host:port: %q", addr)
	}
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.SetsockoptInt(lfd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return nil, err
	}
	if err := unix.Bind(lfd, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}); err != nil {
		return nil, fmt.Errorf("fanfloor: bind %s: %w", addr, err)
	}
	if err := unix.Listen(lfd, unix.SOMAXCONN); err != nil {
		return nil, err
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, lfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(lfd)}); err != nil {
		return nil, err
	}
	return &server{ep: ep, lfd: lfd, rbuf: make([]byte, 256<<10)}, nil
}

func (s *server) loop() {
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := unix.EpollWait(s.ep, events, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			log.Fatal(err)
		}
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if fd == s.lfd {
				s.accept()
				continue
			}
			c := s.conns[fd]
			switch {
			case c == nil: // closed earlier in this batch
			case ev.Events&unix.EPOLLOUT != 0 && len(c.out) > 0:
				s.writable(c)
			default:
				s.readable(c)
			}
		}
	}
}

func (s *server) accept() {
	for {
		fd, _, err := unix.Accept4(s.lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if err == unix.EAGAIN {
			return
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "fanfloor: accept:", err)
			return
		}
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		if err := unix.EpollCtl(s.ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}); err != nil {
			unix.Close(fd)
			continue
		}
		for len(s.conns) <= fd {
			s.conns = append(s.conns, nil)
		}
		s.conns[fd] = &conn{fd: fd, sub: -1}
	}
}
