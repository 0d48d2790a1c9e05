//go:build !linux

package wss

import "net"

// fdLocalAddr is never called: there are no event loops here.
func fdLocalAddr(*Conn) net.Addr { return nil }
