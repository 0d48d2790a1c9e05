//go:build !linux

package poll

import "net"

// Elsewhere no loop serves a descriptor, so none is ever closed here.
func closeFD(int32) {}

// How a socket is shut down (Shutdown).
const (
	ShutWrite = 1
	ShutBoth  = 2
)

// Shutdown does nothing where no loop serves descriptors.
func (f *FD) Shutdown(how int) {}

// PeerAddr returns nil where no loop serves descriptors.
func (f *FD) PeerAddr() net.Addr { return nil }

// LocalAddr returns nil where no loop serves descriptors.
func (f *FD) LocalAddr() net.Addr { return nil }
