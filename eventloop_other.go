//go:build !linux

package wss

import "net"

// Event loops exist only on Linux; elsewhere every connection has a
// goroutine, and these are never called.

const eventLoopSupported = false

type loop struct{}

func (*loop) appendConns(conns []*Conn) []*Conn { return conns }

type outQueue struct{}

func (*outQueue) holdsUnowned() bool { return false }

func startLoops(*Dispatcher, int) ([]*loop, error) { return nil, ErrNoEventLoop }

func stopLoops([]*loop) {}

func (c *Conn) takeSocket(*net.TCPConn) error { return ErrNoEventLoop }

func (d *Dispatcher) serveOnLoop(*Conn, []byte) error { return ErrNoEventLoop }

func (c *Conn) detach() {}

func (d *Dispatcher) rearm(*Conn) {}

func (d *Dispatcher) acceptLoop(*net.TCPListener, *Config, *upgrader) error { return ErrNoEventLoop }
