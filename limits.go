package wss

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
)

// ErrTooManyConnections: the Dispatcher already holds MaxConnections.
var ErrTooManyConnections = errors.New("wss: too many connections")

// Admission: a Dispatcher with MaxConnections holds at most that many
// sockets, counted from their accept where it sees the accept (Serve's
// event loops; a Server from NewServer with an HTTPHandler), else from the
// request (HTTPHandler on another server, Upgrade) or from Connect. A
// socket accepted beyond the bound is refused at once (refuseConn), so
// silent connections cannot hold more descriptors than the bound, whatever
// their rate.

// admit reserves a connection slot of d for c, or returns
// ErrTooManyConnections or ErrShutdown. A slot that c's socket, accepted,
// took at its accept passes to c. A reserved slot is freed by unadmit or
// when c ends.
func (d *Dispatcher) admit(c *Conn, accepted net.Conn) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, held := d.accepted[accepted]; held {
		delete(d.accepted, accepted)
		c.state.set(flagAdmitted)
	}
	if c.state.is(flagAdmitted) {
		if d.shuttingDown {
			return ErrShutdown // the slot is freed with the others: unadmit
		}
		return nil
	}
	if err := d.whyRefused(); err != nil {
		return err
	}
	c.state.set(flagAdmitted)
	d.slots++
	return nil
}

// reserve is admit for Upgrade, before its handshake: a socket admitted at
// its accept keeps its slot until Connect passes it to c.
func (d *Dispatcher) reserve(c *Conn, accepted net.Conn) error {
	if err := d.admitCheck(accepted); err != nil {
		return err
	}
	d.mu.Lock()
	_, held := d.accepted[accepted]
	d.mu.Unlock()
	if held {
		return nil
	}
	return d.admit(c, nil)
}

// unadmit frees c's slot, if it holds one.
func (d *Dispatcher) unadmit(c *Conn) {
	d.mu.Lock()
	d.release(c)
	d.mu.Unlock()
}

// release frees c's slot, if it holds one. d.mu must be held.
func (d *Dispatcher) release(c *Conn) {
	if c.state.is(flagAdmitted) {
		c.state.clear(flagAdmitted)
		d.slots--
	}
	d.unwatch(c)
	d.checkDrained()
}

// admitCheck reports whether d would admit a request that came on
// accepted (nil: a socket not admitted at its accept) now.
func (d *Dispatcher) admitCheck(accepted net.Conn) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, held := d.accepted[accepted]; held && !d.shuttingDown {
		return nil
	}
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

// refuseConn ends a socket accepted beyond the bound, before reading from
// it: it answers 503 (with Retry-After when d is only full) in one write,
// which a fresh socket's empty send buffer takes at once, and closes it,
// so that the socket holds its descriptor only for this call. A client
// told to come back later backs off, where one whose connection just closes
// may retry at once. A TLS socket is closed without an answer: that would
// need its TLS handshake first.
func refuseConn(nc net.Conn, err error) {
	if _, isTLS := nc.(*tls.Conn); !isTLS {
		var b [512]byte
		_, _ = nc.Write(appendRefusal(b[:0], err))
	}
	_ = nc.Close()
}

// acceptedKey is the context key of the socket a request came on, when a
// Server from NewServer admitted it at its accept.
type acceptedKey struct{}

// acceptedConn returns the socket r came on if it was admitted at its
// accept, else nil.
func acceptedConn(r *http.Request) net.Conn {
	nc, _ := r.Context().Value(acceptedKey{}).(net.Conn)
	return nc
}

// admitOnAccept makes srv admit each socket when it is accepted, before
// its request is read, so that those in their handshake count toward
// MaxConnections: a socket beyond it is refused at once (refuseConn). The
// slot passes to the Conn that upgrades the socket, or is freed when
// net/http closes it.
func (d *Dispatcher) admitOnAccept(srv *http.Server) {
	srv.ConnContext = func(ctx context.Context, nc net.Conn) context.Context {
		if err := d.admitAccepted(nc); err != nil {
			d.obs.refused(err, nc.RemoteAddr())
			refuseConn(nc, err)
			return ctx
		}
		return context.WithValue(ctx, acceptedKey{}, nc)
	}
	srv.ConnState = func(nc net.Conn, state http.ConnState) {
		switch state {
		case http.StateHijacked:
			d.acceptedHijacked(nc)
		case http.StateClosed:
			d.forgetAccepted(nc, false)
		}
	}
}

// admitAccepted reserves a slot for a socket net/http accepted.
func (d *Dispatcher) admitAccepted(nc net.Conn) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.whyRefused(); err != nil {
		return err
	}
	if d.accepted == nil {
		d.accepted = make(map[net.Conn]bool)
	}
	d.accepted[nc] = false
	d.slots++
	return nil
}

// acceptedHijacked records that net/http let go of nc: from then on only
// Connect or forgetAccepted frees its slot.
func (d *Dispatcher) acceptedHijacked(nc net.Conn) {
	d.mu.Lock()
	if _, held := d.accepted[nc]; held {
		d.accepted[nc] = true
	}
	d.mu.Unlock()
}

// forgetAccepted frees the slot nc holds since its accept, if it still
// does (only once hijacked, if hijacked is true).
func (d *Dispatcher) forgetAccepted(nc net.Conn, hijacked bool) {
	d.mu.Lock()
	if was, held := d.accepted[nc]; held && (was || !hijacked) {
		delete(d.accepted, nc)
		d.slots--
	}
	d.mu.Unlock()
}

// closeAccepted closes the sockets net/http accepted for d and still reads
// a request from: once d is shutting down, their requests would only be
// refused. net/http sees its read fail and closes them (forgetAccepted).
func (d *Dispatcher) closeAccepted() {
	d.mu.Lock()
	var waiting []net.Conn
	for nc, hijacked := range d.accepted {
		if !hijacked {
			waiting = append(waiting, nc)
		}
	}
	d.mu.Unlock()
	for _, nc := range waiting {
		_ = nc.Close()
	}
}
