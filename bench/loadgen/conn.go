package main

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wssgo/wss/bench/internal/wsproto"
)

type phase uint8

const (
	connecting phase = iota
	handshaking
	open
)

// conn is one client connection. Frames from the server are parsed as they
// stream past in the loop's shared read buffer: only a header that straddles
// two reads is copied, and the payload is counted, not stored.
type conn struct {
	fd      int
	phase   phase
	slow    bool   // a slow reader: it sends and never reads (slow.go)
	pub     bool   // the fan-out publisher (fanout.go)
	out     []byte // bytes still to send: the request or a frame, never copied
	after   []byte // frames to send once out is sent: pongs, or an echo behind one
	waitOut bool   // EPOLLOUT is in the interest set
	resp    []byte // handshake response read so far
	ping    []byte // payload of the ping being read, echoed in the pong

	hdr      [wsproto.MaxHeaderSize]byte
	hdrN     int    // bytes of hdr filled
	inFrame  bool   // hdr is complete and the payload is being read
	left     uint64 // payload bytes of the current frame still to come
	control  bool   // the current frame is a control frame, not part of the echo
	inEcho   bool   // a data frame of the echo has started
	got      int    // payload bytes of the echo received so far
	verified bool   // the first echo on this connection matched byte for byte
	sentAt   time.Time
	awaiting int       // echoes of the latest burst still to come (-inflight)
	at       time.Time // when the connect finished (silent mode)

	// A fan-out subscriber (fanout.go): whether its subscribed mark came,
	// the sequence number it expects next, and the current message's so far.
	marked bool
	expect uint64
	seq    []byte
}

var errUnexpected = errors.New("unexpected data from server")

// write sends as much of c.out, then c.after, as the socket takes and keeps
// EPOLLOUT in the interest set exactly while something is left.
func (g *gen) write(c *conn) error {
	for {
		if len(c.out) == 0 {
			if len(c.after) == 0 {
				break
			}
			c.out, c.after = c.after, nil
		}
		n, err := unix.Write(c.fd, c.out)
		if err == unix.EAGAIN {
			break
		}
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
		c.out = c.out[n:]
	}
	if want := len(c.out) > 0; want != c.waitOut {
		c.waitOut = want
		ev := uint32(unix.EPOLLIN)
		if want {
			ev |= unix.EPOLLOUT
		}
		return unix.EpollCtl(g.ep, unix.EPOLL_CTL_MOD, c.fd, &unix.EpollEvent{Events: ev, Fd: int32(c.fd)})
	}
	return nil
}

// connected is called when a non-blocking connect finishes.
func (g *gen) connected(c *conn) error {
	errno, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err == nil && errno != 0 {
		err = unix.Errno(errno)
	}
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	c.phase = handshaking
	if g.silent {
		c.at = time.Now()
		g.up++
		c.waitOut = true
		return g.write(c) // nothing to send: only drops EPOLLOUT
	}
	c.out = g.request
	if c.pub {
		c.out = g.pubRequest
	}
	c.waitOut = true // registered with EPOLLOUT for the connect
	return g.write(c)
}

// handshake accumulates the server's response to the opening handshake.
func (g *gen) handshake(c *conn, b []byte) error {
	c.resp = append(c.resp, b...)
	end := bytes.Index(c.resp, []byte("\r\n\r\n"))
	if end < 0 {
		if len(c.resp) > 16<<10 {
			return errors.New("handshake response too long")
		}
		return nil
	}
	head := c.resp[:end]
	if !bytes.HasPrefix(head, []byte("HTTP/1.1 101 ")) || !bytes.Contains(head, []byte(g.accept)) {
		return fmt.Errorf("bad handshake response: %q", head)
	}
	rest := c.resp[end+4:]
	c.resp = nil
	c.phase = open
	g.up++
	switch {
	case c.slow:
		return g.startSlow(c)
	case !g.idle && g.fan == nil:
		g.send(c)
	}
	return g.frames(c, rest)
}

// send starts the next echo: the same pre-built frame every time, behind a
// pong still being sent.
// With -inflight N it sends N frames with one write, and the next burst
// once all N echoes are back.
func (g *gen) send(c *conn) {
	c.awaiting = g.inflight
	if len(c.out) == 0 {
		c.out = g.burst
	} else {
		c.after = append(c.after, g.burst...)
	}
	c.sentAt = time.Now()
	if err := g.write(c); err != nil {
		g.fail(c, err)
	}
}

// frames parses the server's frames in b (RFC 6455 section 5.2).
func (g *gen) frames(c *conn, b []byte) error {
	if g.fan != nil {
		return g.fanFrames(c, b)
	}
	for len(b) > 0 {
		if !c.inFrame {
			n, err := c.header(b)
			if err != nil {
				return err
			}
			b = b[n:]
			if !c.inFrame {
				return nil // the header continues in the next read
			}
			if err := g.startFrame(c); err != nil {
				return err
			}
		}
		k := int(min(c.left, uint64(len(b))))
		if c.control {
			c.ping = append(c.ping, b[:k]...) // at most 125 bytes
		} else {
			if !c.verified && !bytes.Equal(b[:k], g.payload[c.got:c.got+k]) {
				return errors.New("echo differs from the message sent")
			}
			c.got += k
		}
		c.left -= uint64(k)
		b = b[k:]
		// Reached with b empty too: a frame with no payload ends with its header.
		if err := g.endFrame(c); err != nil {
			return err
		}
	}
	return nil
}

// header copies header bytes from b into c.hdr and reports how many it took;
// c.inFrame is set once the header is complete.
func (c *conn) header(b []byte) (int, error) {
	n := copy(c.hdr[c.hdrN:max(2, c.hdrN)], b)
	c.hdrN += n
	size := wsproto.HeaderSize(c.hdr[:c.hdrN])
	if size == 0 {
		return n, nil
	}
	m := copy(c.hdr[c.hdrN:size], b[n:])
	c.hdrN += m
	if c.hdrN < size {
		return n + m, nil
	}
	if c.hdr[1]&0x80 != 0 {
		return 0, errors.New("server sent a masked frame")
	}
	c.inFrame = true
	c.left = wsproto.PayloadLen(c.hdr[:size])
	return n + m, nil
}

// startFrame checks a newly read header against the echo expected.
func (g *gen) startFrame(c *conn) error {
	op := c.hdr[0] & 0x0f
	c.control = op >= wsproto.OpClose
	switch {
	case op == wsproto.OpClose:
		return errors.New("server closed the connection")
	case c.control && c.left > 125:
		return errors.New("control frame longer than 125 bytes")
	case c.control: // a ping or pong is not part of the echo
		c.ping = c.ping[:0]
		return nil
	case g.idle:
		return errUnexpected
	case c.inEcho && op != wsproto.OpContinuation, !c.inEcho && op != g.opcode:
		return fmt.Errorf("unexpected opcode %d", op)
	case uint64(c.got)+c.left > uint64(len(g.payload)):
		return errors.New("echo longer than the message sent")
	}
	c.inEcho = true
	return nil
}

// endFrame completes the current frame, and the echo with it, if its last
// payload byte has arrived.
func (g *gen) endFrame(c *conn) error {
	if !c.inFrame || c.left > 0 {
		return nil
	}
	c.inFrame, c.hdrN = false, 0
	if c.control {
		if c.hdr[0]&0x0f == wsproto.OpPing {
			return g.pong(c)
		}
		return nil
	}
	if c.hdr[0]&0x80 == 0 {
		return nil // a fragment of the echo
	}
	if c.got != len(g.payload) {
		return fmt.Errorf("echo of %d bytes, sent %d", c.got, len(g.payload))
	}
	g.record(time.Since(c.sentAt))
	c.inEcho, c.got, c.verified = false, 0, true
	if c.awaiting--; c.awaiting <= 0 {
		g.send(c)
	}
	return nil
}

// pong answers the ping just read with its payload (RFC 6455 section
// 5.5.2), masked as a client must (with the all-zero key), after whatever
// is being sent.
func (g *gen) pong(c *conn) error {
	g.pings++
	c.after = append(wsproto.AppendHeader(c.after, wsproto.OpPong, len(c.ping), true), c.ping...)
	return g.write(c)
}
