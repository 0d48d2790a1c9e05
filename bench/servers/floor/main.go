// Command floor is the lower bound of server CPU per echoed message: one
// epoll loop on one thread over raw non-blocking sockets that, for a message
// arriving in one piece, makes exactly one read and one write system call.
// Messages that arrive together (a client that pipelines) are echoed
// together: the echoes of one read leave with one write or writev.
//
// It does nothing else a real server must do: no UTF-8 or protocol checks, no
// limits, no close handshake beyond echoing the close frame, no ping handling
// (a ping is echoed as a ping). It exists only so that the benchmark can say
// how far each library is from the cost of the system calls themselves.
package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"net/netip"
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/wssgo/wss/bench/internal/wsproto"
)

// Bounds that keep a bad peer from making the floor allocate without limit;
// they are not validation, which the floor does not do.
const (
	maxRequest = 16 << 10 // handshake request
	maxFrame   = 64 << 20 // one frame
)

type conn struct {
	fd       int
	upgraded bool
	// buf holds the start of a frame (or request) that arrived incomplete;
	// later reads go straight into it. It comes from the server's spares and
	// goes back there once the frame is echoed.
	buf []byte
	n   int // bytes of buf in use
	// out is echo bytes the socket did not take yet, and rest the input that
	// followed them; reading stops until out is written.
	out, rest []byte
}

type server struct {
	ep, lfd int
	conns   []*conn // indexed by file descriptor
	// shared receives every read of a connection with nothing pending, so
	// that an idle connection holds no buffer at all.
	shared []byte
	// spares are buffers that no connection holds, reused last in first out:
	// a buffer just used is still in the CPU cache, and one buffer per large
	// message in flight each would not be. Without them the floor lost to a
	// library with pooled buffers at 10 × 1 MiB.
	spares [][]byte
	batch  batch // the echoes of the read being parsed
}

// maxSpares bounds the buffers kept for reuse.
const maxSpares = 64

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (IPv4 host:port)")
	flag.Parse()
	// One loop on one thread: the whole point is the cost per message of the
	// simplest possible server, with no hand-off between threads.
	runtime.LockOSThread()
	s, err := listen(*addr)
	if err != nil {
		log.Fatal(err)
	}
	s.loop()
}

func listen(addr string) (*server, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().Is4() {
		return nil, fmt.Errorf("floor: -addr must be IPv4 host:port: %q", addr)
	}
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.SetsockoptInt(lfd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return nil, err
	}
	if err := unix.Bind(lfd, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}); err != nil {
		return nil, fmt.Errorf("floor: bind %s: %w", addr, err)
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
	return &server{ep: ep, lfd: lfd, shared: make([]byte, 64<<10)}, nil
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
			case ev.Events&unix.EPOLLOUT != 0:
				s.writable(c)
			default: // readable, or an error or hang-up that the read reports
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
			// Out of descriptors, most likely: leave the rest in the backlog
			// rather than spin on them.
			fmt.Fprintln(os.Stderr, "floor: accept:", err)
			return
		}
		// Same as Go's net package, so the floor and the Go servers send
		// small echoes the same way.
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		if err := unix.EpollCtl(s.ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}); err != nil {
			unix.Close(fd)
			continue
		}
		for len(s.conns) <= fd {
			s.conns = append(s.conns, nil)
		}
		s.conns[fd] = &conn{fd: fd}
	}
}

func (s *server) close(c *conn) {
	unix.Close(c.fd) // also removes it from the epoll set
	s.conns[c.fd] = nil
}

func (s *server) readable(c *conn) {
	if c.n == 0 {
		n, err := unix.Read(c.fd, s.shared)
		if n <= 0 {
			if err != unix.EAGAIN {
				s.close(c)
			}
			return
		}
		s.consume(c, s.shared[:n], false)
		return
	}
	n, err := unix.Read(c.fd, c.buf[c.n:])
	if n <= 0 {
		if err != unix.EAGAIN {
			s.close(c)
		}
		return
	}
	c.n += n
	s.consume(c, c.buf[:c.n], true)
}

// consume echoes every complete frame in data and keeps an incomplete tail
// for the next read. inBuf tells whether data lives in c.buf. The echoes of
// one read leave together, with one system call, once the read is parsed.
func (s *server) consume(c *conn, data []byte, inBuf bool) {
	c.n = 0
	for len(data) > 0 {
		if !c.upgraded {
			used := s.handshake(c, data)
			if used < 0 {
				return
			}
			if used == 0 {
				s.keep(c, data, len(data)+1, inBuf)
				return
			}
			data = data[used:]
			continue
		}
		size := frameSize(data)
		if size > maxFrame {
			s.batch.reset()
			s.close(c)
			return
		}
		if len(data) < size {
			// keep may move the tail over echoes still in c.buf: send them first.
			if s.flush(c, data) {
				s.keep(c, data, size, inBuf)
			}
			return
		}
		closing := data[0]&0x0f == wsproto.OpClose
		s.batch.add(echo(data[:size]))
		data = data[size:]
		if closing {
			s.flush(c, nil)
			s.close(c)
			return
		}
		if s.batch.full() && !s.flush(c, data) {
			return
		}
	}
	if s.flush(c, nil) {
		s.release(c)
	}
}

// release gives c's buffer back to the spares once it holds nothing.
func (s *server) release(c *conn) {
	if c.buf != nil && len(s.spares) < maxSpares {
		s.spares = append(s.spares, c.buf)
	}
	c.buf = nil
}

// buffer returns a buffer of at least n bytes, the last spare if it fits.
func (s *server) buffer(n int) []byte {
	if last := len(s.spares) - 1; last >= 0 && len(s.spares[last]) >= n {
		b := s.spares[last]
		s.spares = s.spares[:last]
		return b
	}
	return make([]byte, n)
}

// frameSize returns the total length of the frame at the start of b, or, if
// its header is incomplete, a length that is larger than b.
func frameSize(b []byte) int {
	h := wsproto.HeaderSize(b)
	if h == 0 || len(b) < h {
		return wsproto.MaxHeaderSize
	}
	return h + int(wsproto.PayloadLen(b))
}

// echo turns the masked client frame f into an unmasked server frame in place
// and returns it. The server header is the client header less its 4-byte key,
// so it is rebuilt just in front of the payload and the frame goes out with
// one write and no copy of the payload.
func echo(f []byte) []byte {
	h := wsproto.HeaderSize(f)
	payload := f[h:]
	if f[1]&0x80 != 0 {
		unmask(payload, [4]byte(f[h-4:h]))
		copy(f[6:h], f[2:h-4]) // extended length, if any, moves up by 4
		f[5] = f[1] & 0x7f
		f[4] = f[0]
		return f[4:]
	}
	return f
}

// unmask XORs p with the masking key. Four 8-byte words a step: the floor
// must not lose to a library's assembly cipher on large messages, and this
// runs about three times as fast as one word a step.
func unmask(p []byte, key [4]byte) {
	k := uint64(binary.LittleEndian.Uint32(key[:])) * 0x1_0000_0001 // the key twice
	for len(p) >= 32 {
		b := (*[32]byte)(p)
		binary.LittleEndian.PutUint64(b[0:], binary.LittleEndian.Uint64(b[0:])^k)
		binary.LittleEndian.PutUint64(b[8:], binary.LittleEndian.Uint64(b[8:])^k)
		binary.LittleEndian.PutUint64(b[16:], binary.LittleEndian.Uint64(b[16:])^k)
		binary.LittleEndian.PutUint64(b[24:], binary.LittleEndian.Uint64(b[24:])^k)
		p = p[32:]
	}
	for len(p) >= 8 {
		binary.LittleEndian.PutUint64(p, binary.LittleEndian.Uint64(p)^k)
		p = p[8:]
	}
	for i := range p {
		p[i] ^= key[i&3]
	}
}

// keep saves the incomplete tail data so that the next read completes it;
// need is how many bytes the tail must grow to before it can be used.
func (s *server) keep(c *conn, data []byte, need int, inBuf bool) {
	if need > maxRequest && !c.upgraded {
		s.close(c)
		return
	}
	if len(c.buf) < need {
		grown := s.buffer(need)
		copy(grown, data)
		c.buf = grown // the old one, too small, is left to the garbage collector
	} else if !inBuf || &data[0] != &c.buf[0] {
		copy(c.buf, data) // copy handles data overlapping c.buf
	}
	c.n = len(data)
}

// flush sends the batch of echoes, or as much of it as the socket takes;
// the remainder and the unprocessed input rest wait for the socket to become
// writable. It reports whether the caller may go on with rest.
func (s *server) flush(c *conn, rest []byte) bool {
	left, err := s.batch.send(c.fd)
	if err != nil {
		s.close(c)
		return false
	}
	if left == nil {
		return true
	}
	c.out = left
	c.rest = bytes.Clone(rest) // rare: only a client that pipelines sends more
	if err := unix.EpollCtl(s.ep, unix.EPOLL_CTL_MOD, c.fd, &unix.EpollEvent{Events: unix.EPOLLOUT, Fd: int32(c.fd)}); err != nil {
		s.close(c)
	}
	return false
}

func (s *server) writable(c *conn) {
	n, err := unix.Write(c.fd, c.out)
	if err != nil && err != unix.EAGAIN {
		s.close(c)
		return
	}
	c.out = c.out[max(n, 0):]
	if len(c.out) > 0 {
		return
	}
	c.out = nil
	if err := unix.EpollCtl(s.ep, unix.EPOLL_CTL_MOD, c.fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(c.fd)}); err != nil {
		s.close(c)
		return
	}
	rest := c.rest
	c.rest = nil
	s.consume(c, rest, false)
}

// handshake answers the opening handshake in data. It returns the bytes it
// used, 0 if the request is not complete yet, or -1 if it closed c.
func (s *server) handshake(c *conn, data []byte) int {
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		return 0
	}
	key := headerValue(data[:end], "Sec-WebSocket-Key")
	if key == nil {
		s.close(c)
		return -1
	}
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		wsproto.AcceptKey(string(key)) + "\r\n\r\n"
	// A fresh socket's send buffer always takes these ~130 bytes at once.
	if n, _ := unix.Write(c.fd, []byte(resp)); n != len(resp) {
		s.close(c)
		return -1
	}
	c.upgraded = true
	return end + 4
}

// headerValue returns the trimmed value of the named header field in an HTTP
// request head, matching the name without regard to case, or nil.
func headerValue(head []byte, name string) []byte {
	for line := range bytes.SplitSeq(head, []byte("\r\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(k), []byte(name)) {
			return bytes.TrimSpace(v)
		}
	}
	return nil
}
