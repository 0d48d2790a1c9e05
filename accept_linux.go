package wss

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// acceptLoop accepts connections on ln until it is closed and hands each
// to an event loop, which answers its handshake (see Serve).
func (d *Dispatcher) acceptLoop(ln *net.TCPListener, cfg *Config, up *upgrader) error {
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
		d.serveAccepted(tc, cfg, up)
	}
}

// serveAccepted starts serving a connection that Serve accepted: it takes
// a MaxConnections slot now, before any byte of its request, or is refused
// at once (refuseConn); then its loop reads the handshake request.
func (d *Dispatcher) serveAccepted(tc *net.TCPConn, cfg *Config, up *upgrader) {
	c := &Conn{d: d, cfg: cfg}
	c.setHandler(up)
	if err := d.admit(c, nil); err != nil {
		d.obs.refused(err, tc.RemoteAddr())
		refuseConn(tc, err)
		return
	}
	if err := c.takeSocket(tc); err != nil {
		tc.Close()
		d.unadmit(c)
		return
	}
	c.state.markUpgrading()
	if err := d.serve(c, nil); err != nil {
		c.drop(StatusConnLost)
		c.wire().letGo() // never registered with a loop
		d.unadmit(c)
	}
}
