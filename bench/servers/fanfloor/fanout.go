package main

import (
	"bytes"

	"golang.org/x/sys/unix"

	"github.com/wssgo/wss/bench/internal/wsproto"
)

// Bounds that keep a bad peer from making the server allocate without limit.
const (
	maxRequest = 16 << 10
	maxFrame   = 16 << 20
)

type conn struct {
	fd       int
	upgraded bool
	sub      int    // index in server.subs, or -1
	in       []byte // input that did not make a whole frame (or request) yet
	out      []byte // output the socket did not take yet; more is appended
}

type server struct {
	ep, lfd int
	batched bool
	conns   []*conn // indexed by file descriptor
	subs    []*conn
	rbuf    []byte // every read goes here first
	frames  []byte // with -batch: the server frames of one read, back to back
}

// subscribedMark tells a subscriber that it is subscribed: an empty text frame.
var subscribedMark = []byte{0x80 | wsproto.OpText, 0}

func (s *server) readable(c *conn) {
	n, err := unix.Read(c.fd, s.rbuf)
	if n <= 0 {
		if err != unix.EAGAIN {
			s.close(c)
		}
		return
	}
	data := s.rbuf[:n]
	if len(c.in) > 0 {
		c.in = append(c.in, data...)
		data = c.in
	}
	rest := s.consume(c, data)
	if s.conns[c.fd] != c {
		return // closed
	}
	if len(rest) > maxFrame+wsproto.MaxHeaderSize {
		s.close(c)
		return
	}
	c.in = append(c.in[:0], rest...) // copy handles rest overlapping c.in
	if len(c.in) == 0 {
		c.in = nil
	}
}

// consume handles the handshake and every whole frame in data, and returns
// the incomplete tail.
func (s *server) consume(c *conn, data []byte) []byte {
	if !c.upgraded {
		end := bytes.Index(data, []byte("\r\n\r\n"))
		if end < 0 {
			if len(data) > maxRequest {
				s.close(c)
			}
			return data
		}
		if !s.handshake(c, data[:end]) {
			return nil
		}
		data = data[end+4:]
	}
	s.frames = s.frames[:0]
	for {
		h := wsproto.HeaderSize(data)
		if h == 0 || len(data) < h {
			break
		}
		size := h + int(wsproto.PayloadLen(data))
		if len(data) < size {
			break
		}
		if c.sub >= 0 { // a subscriber's frames are not published (a close ends it)
			if data[0]&0x0f == wsproto.OpClose {
				s.close(c)
				return nil
			}
		} else {
			s.publish(echo(data[:size]))
		}
		data = data[size:]
	}
	if s.batched && len(s.frames) > 0 {
		s.deliver(s.frames)
	}
	return data
}

// publish sends frame f to every subscriber now, or, with -batch, adds it
// to the frames of this read.
func (s *server) publish(f []byte) {
	if s.batched {
		s.frames = append(s.frames, f...)
		return
	}
	s.deliver(f)
}

// deliver writes b to every subscriber with one system call each.
func (s *server) deliver(b []byte) {
	for i := 0; i < len(s.subs); i++ {
		sub := s.subs[i]
		if !s.send(sub, b) {
			i-- // send removed it: another took its place
		}
	}
}

// send writes b to c, or queues it behind what c has queued. It reports
// false if it closed c.
func (s *server) send(c *conn, b []byte) bool {
	if len(c.out) > 0 {
		c.out = append(c.out, b...)
		return true
	}
	n, err := unix.Write(c.fd, b)
	if n == len(b) {
		return true
	}
	if err != nil && err != unix.EAGAIN {
		s.close(c)
		return false
	}
	c.out = append(c.out, b[max(n, 0):]...)
	if err := unix.EpollCtl(s.ep, unix.EPOLL_CTL_MOD, c.fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT, Fd: int32(c.fd)}); err != nil {
		s.close(c)
		return false
	}
	return true
}

func (s *server) writable(c *conn) {
	n, err := unix.Write(c.fd, c.out)
	if err != nil && err != unix.EAGAIN {
		s.close(c)
		return
	}
	if c.out = c.out[max(n, 0):]; len(c.out) > 0 {
		return
	}
	c.out = nil
	if err := unix.EpollCtl(s.ep, unix.EPOLL_CTL_MOD, c.fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(c.fd)}); err != nil {
		s.close(c)
	}
}

// handshake answers the request head; a connection not on /pub becomes a
// subscriber. It reports false if it closed c.
func (s *server) handshake(c *conn, head []byte) bool {
	key := headerValue(head, "Sec-WebSocket-Key")
	if key == nil {
		s.close(c)
		return false
	}
	resp := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		wsproto.AcceptKey(string(key)) + "\r\n\r\n")
	publisher := bytes.HasPrefix(head, []byte("GET /pub "))
	if !publisher {
		resp = append(resp, subscribedMark...)
	}
	// A fresh socket's send buffer always takes these ~130 bytes at once.
	if n, _ := unix.Write(c.fd, resp); n != len(resp) {
		s.close(c)
		return false
	}
	c.upgraded = true
	if !publisher {
		c.sub = len(s.subs)
		s.subs = append(s.subs, c)
	}
	return true
}

func (s *server) close(c *conn) {
	if c.sub >= 0 {
		last := s.subs[len(s.subs)-1]
		s.subs[c.sub], last.sub = last, c.sub
		s.subs = s.subs[:len(s.subs)-1]
		c.sub = -1
	}
	unix.Close(c.fd)
	s.conns[c.fd] = nil
}

// echo turns the masked client frame f into an unmasked server frame in
// place and returns it (see the echo floor).
func echo(f []byte) []byte {
	h := wsproto.HeaderSize(f)
	payload := f[h:]
	if f[1]&0x80 != 0 {
		key := f[h-4 : h]
		for i := range payload {
			payload[i] ^= key[i&3]
		}
		copy(f[6:h], f[2:h-4])
		f[5] = f[1] & 0x7f
		f[4] = f[0]
		return f[4:]
	}
	return f
}

// headerValue returns the trimmed value of the named header field, or nil.
func headerValue(head []byte, name string) []byte {
	for line := range bytes.SplitSeq(head, []byte("\r\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(k), []byte(name)) {
			return bytes.TrimSpace(v)
		}
	}
	return nil
}
