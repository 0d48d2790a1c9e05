package wss

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"time"

	"github.com/wssgo/wss/internal/poll"
)

// acceptBatch bounds the connections one drain of the backlog takes: the
// drain holds the listener, so that ln.Close waits for it.
const acceptBatch = 64

// acceptLoop accepts connections on ln until it is closed and hands each
// to an event loop, which answers its handshake (see Serve).
//
// It waits for a connection with ln.AcceptTCP, then drains the rest of the
// backlog with accept4 on ln's descriptor (drainBacklog). A socket net
// accepts leaves behind a net.TCPConn, its netFD and two addresses, about
// 330 bytes of garbage that raise the heap's peak, and so the RSS, of a
// server taking thousands of connections; accept4 costs nothing on the
// heap. Each drained socket gets the options net gave the first one it
// accepted (TCP_NODELAY, keep-alive as ln's ListenConfig says, the same
// for every socket of ln), so both kinds are alike.
func (d *Dispatcher) acceptLoop(ln *net.TCPListener, cfg *Config, up *upgrader) error {
	rc, err := ln.SyscallConn()
	if err != nil {
		return fmt.Errorf("wss: serve: %w", err)
	}
	b := &backlog{d: d, cfg: cfg, up: up}
	drain := b.drain // one closure for every drain
	var backoff time.Duration
	for {
		tc, err := ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("wss: serve: %w", err)
			}
			// Out of descriptors or memory, most likely: wait for some to
			// be freed, as net/http does, rather than spin.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			d.obs.acceptFailed(err, backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		fd, err := poll.TakeSocket(tc)
		if err != nil {
			tc.Close()
			continue
		}
		if !b.opts.Ready() {
			b.opts = poll.ReadTCPOptions(fd) // net sets the same on every socket of ln
		}
		d.serveAccepted(fd, cfg, up)
		// Drain the backlog while connections keep coming: after a drain
		// that took some, let the loops run and look again, so that a
		// burst is taken here rather than by AcceptTCP.
		for rc.Control(drain) == nil && b.took > 0 { // an error: ln is closed, AcceptTCP says so
			if b.took < acceptBatch {
				runtime.Gosched()
			}
		}
	}
}

// backlog drains a listener's backlog for acceptLoop, which owns it.
type backlog struct {
	d    *Dispatcher
	cfg  *Config
	up   *upgrader
	opts poll.TCPOptions // what net set on the first socket it accepted
	took int             // how many the last drain took
}

// drain accepts up to acceptBatch connections from the listening socket
// lfd and serves them. It stops at the first error: an empty backlog, or
// one that AcceptTCP meets again and handles.
func (b *backlog) drain(lfd uintptr) {
	for b.took = 0; b.took < acceptBatch; b.took++ {
		fd, err := poll.Accept(lfd)
		if err != nil {
			return
		}
		b.opts.Apply(fd)
		b.d.serveAccepted(fd, b.cfg, b.up)
	}
}

// serveAccepted starts serving the socket fd that Serve accepted: it takes
// a MaxConnections slot now, before any byte of its request, or is refused
// at once (refuseSocket); then its loop reads the handshake request.
func (d *Dispatcher) serveAccepted(fd int32, cfg *Config, up *upgrader) {
	c := &Conn{d: d, cfg: cfg}
	c.setHandler(up)
	c.useSocket(fd)
	if err := d.admit(c, nil); err != nil {
		d.obs.refused(err, c.fd.PeerAddr())
		refuseSocket(&c.fd, err)
		return
	}
	c.state.markUpgrading()
	if err := d.serve(c, nil); err != nil {
		c.drop(StatusConnLost)
		c.wire().letGo() // never registered with a loop
		d.unadmit(c)
	}
}

// refuseSocket answers err on a socket Serve accepted and closes it, as
// refuseConn does for net's: the answer is small and the socket new, so
// its buffer takes it at once.
func refuseSocket(f *poll.FD, err error) {
	var b [512]byte
	_, _ = poll.Write(f.Num(), appendRefusal(b[:0], err))
	f.LetGo()
}
