package wss

import (
	"errors"
	"net/http"
)

// ErrTooManyConnections: the Dispatcher already serves MaxConnections.
var ErrTooManyConnections = errors.New("wss: too many connections")

// admit reserves a connection slot of d for c, or returns
// ErrTooManyConnections or ErrShutdown. A reserved slot is freed by
// unadmit or when c ends.
func (d *Dispatcher) admit(c *Conn) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c.is(flagAdmitted) {
		return nil // by Upgrade, before its handshake
	}
	if err := d.whyRefused(); err != nil {
		return err
	}
	c.set(flagAdmitted)
	d.slots++
	return nil
}

// unadmit frees c's slot, if it holds one.
func (d *Dispatcher) unadmit(c *Conn) {
	d.mu.Lock()
	d.release(c)
	d.mu.Unlock()
}

// release frees c's slot, if it holds one. d.mu must be held.
func (d *Dispatcher) release(c *Conn) {
	if c.is(flagAdmitted) {
		c.clear(flagAdmitted)
		d.slots--
	}
	d.unwatch(c)
	d.checkDrained()
}

// admitCheck reports whether d would admit a connection now.
func (d *Dispatcher) admitCheck() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.whyRefused()
}

// whyRefused returns why d admits no connection now, or nil. d.mu must be
// held.
func (d *Dispatcher) whyRefused() error {
	switch {
	case d.shuttingDown:
		return ErrShutdown
	case d.maxConns > 0 && d.slots >= d.maxConns:
		return ErrTooManyConnections
	}
	return nil
}

// refuse answers a request the Dispatcher cannot take, before any upgrade:
// 503 Service Unavailable, with Retry-After when it is only full.
func refuse(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrTooManyConnections) {
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Set("Connection", "close")
	http.Error(w, err.Error(), http.StatusServiceUnavailable)
}

func (cfg *Config) maxFramesPerMessage() int {
	return pick(cfg.MaxFramesPerMessage, DefaultMaxFramesPerMessage)
}

// countFrame counts a data frame of the open message and returns the close
// code to fail with when the message has too many, or 0.
func (c *Conn) countFrame() int {
	r := &c.rd
	r.frames++
	if c.cfg.MaxFramesPerMessage >= 0 && r.frames > uint32(c.cfg.maxFramesPerMessage()) {
		return StatusMessageTooBig
	}
	return 0
}
