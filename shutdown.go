package wss

import (
	"context"
	"fmt"
	"net"
	"sync"
)

// ErrShutdown: the Dispatcher has been shut down and takes no connection.
// It wraps ErrClosed.
var ErrShutdown = fmt.Errorf("%w: dispatcher shut down", ErrClosed)

// lifecycle is the part of a Dispatcher that admits, times and shuts down
// connections. Its fields are guarded by Dispatcher.mu unless noted.
type lifecycle struct {
	maxConns int
	slots    int // connections admitted and not yet ended
	// accepted holds the connections a Server from NewServer admitted at
	// accept, each holding a slot until a Conn takes it over or net/http
	// closes it; true once hijacked.
	accepted     map[net.Conn]bool
	shuttingDown bool
	drained      chan struct{} // closed when shutting down and no connection is left
	loopsStopped sync.Once

	sweep        sweeper
	sweepActions sync.WaitGroup
}

// Shutdown shuts d down gracefully. It refuses new connections (Upgrade
// and Serve answer 503, Connect returns ErrShutdown), closes those still in
// their handshake (on Serve, or a Server from NewServer with an
// HTTPHandler), sends every connection a close
// frame with 1001 (going away) after the writes already queued, and waits
// for the close handshakes to finish. When ctx ends first, it drops the
// connections left, whose OnClose gets StatusShutdown, and returns
// ctx.Err(). It returns once every OnClose has returned and every
// goroutine of d has ended. Safe for concurrent use; later calls wait the
// same way. A Dispatcher that was shut down stays so; this includes the
// default one, used by New with a nil Dispatcher.
//
// Shutdown does not stop an http.Server: shut that down first so that no
// new request arrives.
func (d *Dispatcher) Shutdown(ctx context.Context) error {
	_, err := d.shutdown(ctx, true)
	return err
}

// Close drops every connection at once, without close handshakes (their
// OnClose gets StatusShutdown), and returns once every OnClose has
// returned and every goroutine of d, event loops included, has ended.
// Like Shutdown, it refuses new connections from then on (ErrShutdown,
// which wraps ErrClosed). On a Dispatcher already shut down (by Close or
// Shutdown) it drops what is left and waits the same way, then returns
// ErrShutdown, as closing a closed file fails. Safe for concurrent use.
func (d *Dispatcher) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if began, _ := d.shutdown(ctx, false); !began {
		return fmt.Errorf("wss: close: %w", ErrShutdown)
	}
	return nil
}

// shutdown shuts d down and reports whether this call began it.
func (d *Dispatcher) shutdown(ctx context.Context, graceful bool) (began bool, err error) {
	conns, drained, began := d.beginShutdown()
	d.closeAccepted()
	var closers sync.WaitGroup
	if graceful {
		for _, c := range conns {
			closers.Go(func() { _ = c.Close(StatusGoingAway, "") })
		}
	}
	select {
	case <-drained:
	case <-ctx.Done():
		if graceful {
			err = ctx.Err()
		}
		d.dropAll(StatusShutdown)
		<-drained
	}
	closers.Wait()
	d.stopSweeper()
	d.loopsStopped.Do(func() { stopLoops(d.loops) })
	return began, err
}

// beginShutdown marks d shutting down and returns its connections, the
// channel closed once they have all ended, and whether d was not shutting
// down before.
func (d *Dispatcher) beginShutdown() ([]*Conn, chan struct{}, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	began := !d.shuttingDown
	if began {
		d.shuttingDown = true
		d.drained = make(chan struct{})
		d.checkDrained()
	}
	return d.connList(), d.drained, began
}

// checkDrained closes d.drained once a shutting-down d serves no
// connection. One still in its handshake does not count: serve refuses it,
// and Connect sends it 1001 and closes it. d.mu must be held.
func (d *Dispatcher) checkDrained() {
	if d.shuttingDown && d.served == 0 {
		select {
		case <-d.drained:
		default:
			close(d.drained)
		}
	}
}

func (d *Dispatcher) dropAll(status StatusCode) {
	d.mu.Lock()
	conns := d.connList()
	d.mu.Unlock()
	// Closing a TLS connection writes an alert, which may wait: in parallel.
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() { c.drop(status) })
	}
	wg.Wait()
}
