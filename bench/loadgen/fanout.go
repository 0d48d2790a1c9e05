package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/wssgo/wss/bench/internal/proc"
	"github.com/wssgo/wss/bench/internal/result"
	"github.com/wssgo/wss/bench/internal/wsproto"
)

// Fan-out mode (-fanout): -conns subscribers connect on /sub and one
// publisher on /pub. A fan-out server subscribes every connection that is
// not on /pub to one topic and, once it has, sends it one empty text frame
// (the "subscribed" mark); every message from the publisher goes to every
// subscriber. Publishing starts when every subscriber has its mark.
//
// The publisher sends bursts of -window messages with one write and the next
// burst once every subscriber has every message of this one: never more
// than -window messages are unacknowledged. Each message is -size bytes
// (at least 8) whose first 8 are its sequence number, big-endian, from 1.
// Every delivery is checked: a subscriber must receive binary messages of
// exactly -size bytes, numbered one after the other with no gap, no
// repetition and nothing else.

// Paths of the fan-out protocol.
const (
	fanoutPubPath = "/pub"
	fanoutSubPath = "/sub"
)

// fanout is the state of a fan-out run.
type fanout struct {
	window    int
	msgs      []byte    // one burst of masked frames, renumbered each burst
	seqAt     []int     // offset of each frame's sequence number in msgs
	next      uint64    // sequence number of the burst's first message
	left      int       // deliveries of the current burst still to come
	marked    int       // subscribers that have their mark
	sentAt    time.Time // when the current burst was sent
	pub       *conn
	delivered uint64 // deliveries counted in the window
}

func newFanout(g *gen) (*fanout, error) {
	if g.size < 8 {
		return nil, errors.New("-fanout needs -size 8 or more: a message carries its sequence number")
	}
	f := &fanout{window: max(g.window, 1), next: 1}
	for range f.window {
		h := wsproto.AppendHeader(nil, wsproto.OpBinary, g.size, true) // all-zero key: payload as is
		f.seqAt = append(f.seqAt, len(f.msgs)+len(h))
		f.msgs = append(append(f.msgs, h...), g.payload...)
	}
	return f, nil
}

// publish sends the next burst.
func (g *gen) publish() {
	f := g.fan
	for i, at := range f.seqAt {
		binary.BigEndian.PutUint64(f.msgs[at:], f.next+uint64(i))
	}
	f.left = g.conns * f.window
	f.sentAt = time.Now()
	f.pub.out = f.msgs
	if err := g.write(f.pub); err != nil {
		g.fail(f.pub, err)
	}
}

// fanFrames parses frames from the server on a fan-out connection: the
// mark and deliveries on a subscriber, nothing on the publisher (control
// frames aside).
func (g *gen) fanFrames(c *conn, b []byte) error {
	for len(b) > 0 {
		if !c.inFrame {
			n, err := c.header(b)
			if err != nil {
				return err
			}
			b = b[n:]
			if !c.inFrame {
				return nil
			}
			if err := g.startDelivery(c); err != nil {
				return err
			}
		}
		k := int(min(c.left, uint64(len(b))))
		switch {
		case c.control:
			c.ping = append(c.ping, b[:k]...)
		case c.got < 8:
			c.seq = append(c.seq, b[:min(k, 8-c.got)]...)
		}
		if !c.control {
			c.got += k
		}
		c.left -= uint64(k)
		b = b[k:]
		if err := g.endDelivery(c); err != nil {
			return err
		}
	}
	return nil
}

// startDelivery checks a newly read header on a fan-out connection.
func (g *gen) startDelivery(c *conn) error {
	op := c.hdr[0] & 0x0f
	c.control = op >= wsproto.OpClose
	switch {
	case op == wsproto.OpClose:
		return errors.New("server closed the connection")
	case c.control && c.left > 125:
		return errors.New("control frame longer than 125 bytes")
	case c.control:
		c.ping = c.ping[:0]
		return nil
	case c.pub:
		return errors.New("the publisher received a message")
	case c.hdr[0]&0x80 == 0 || op == wsproto.OpContinuation:
		return errors.New("fragmented delivery") // the servers send each message as one frame
	case op == wsproto.OpText && !c.marked:
		if c.left != 0 {
			return errors.New("subscribed mark is not empty")
		}
		return nil
	case op != wsproto.OpBinary || !c.marked:
		return fmt.Errorf("unexpected opcode %d (subscribed mark seen: %v)", op, c.marked)
	case c.left != uint64(g.size):
		return fmt.Errorf("delivery of %d bytes, published %d", c.left, g.size)
	}
	c.got, c.seq = 0, c.seq[:0]
	return nil
}

// endDelivery completes the current frame once its last byte is in.
func (g *gen) endDelivery(c *conn) error {
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
	f := g.fan
	if !c.marked {
		c.marked = true
		c.expect = 1
		f.marked++
		return nil
	}
	if seq := binary.BigEndian.Uint64(c.seq); seq != c.expect {
		return fmt.Errorf("delivery of message %d, expected %d", seq, c.expect)
	}
	if c.expect >= f.next+uint64(f.window) {
		return fmt.Errorf("delivery of message %d, never published", c.expect)
	}
	c.expect++
	if g.counting {
		f.delivered++
	}
	if f.left--; f.left == 0 {
		g.record(time.Since(f.sentAt))
		f.next += uint64(f.window)
		g.publish()
	}
	return nil
}

// fanoutRun waits for every subscriber's mark, publishes through the
// warm-up and the window, and prints one line (result.Fanout).
func (g *gen) fanoutRun() error {
	f := g.fan
	deadline := time.Now().Add(g.setupTimeout)
	for f.marked < g.conns {
		if err := g.poll(10); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d subscribers marked subscribed after %v", f.marked, g.conns, g.setupTimeout)
		}
	}
	g.publish()
	if err := g.runFor(g.warmup); err != nil {
		return err
	}
	srv0, err := g.serverCPU()
	if err != nil {
		return err
	}
	own0 := ownCPU()
	start := time.Now()
	g.counting = true
	if err := g.runFor(g.duration); err != nil {
		return err
	}
	g.counting = false
	elapsed := time.Since(start)
	srv1, err := g.serverCPU()
	if err != nil {
		return err
	}
	var rss int64
	if g.pid != 0 {
		if rss, err = proc.RSS(g.pid); err != nil {
			return err
		}
	}
	return json.NewEncoder(os.Stdout).Encode(result.Fanout{
		Subscribers:      g.conns,
		Size:             g.size,
		Window:           f.window,
		Deliveries:       f.delivered,
		Bursts:           g.msgs,
		Seconds:          elapsed.Seconds(),
		DeliveriesPerSec: float64(f.delivered) / elapsed.Seconds(),
		P50Micros:        micros(g.hist.percentile(50)),
		P99Micros:        micros(g.hist.percentile(99)),
		ServerCPU:        (srv1 - srv0).Seconds(),
		LoadgenCPU:       (ownCPU() - own0).Seconds(),
		ServerRSS:        rss,
	})
}
