package wss

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strconv"
)

// A SOCKS5 client: the CONNECT command of RFC 1928 with no authentication
// or the username and password of RFC 1929, which is all Dial needs.

const (
	socksVersion   = 5
	socksNoAuth    = 0x00
	socksUserPass  = 0x02
	socksNoMethod  = 0xff
	socksConnect   = 0x01
	socksIPv4      = 0x01
	socksDomain    = 0x03
	socksIPv6      = 0x04
	userPassVer    = 0x01
	socksMaxReply  = 4 + 1 + 255 + 2 // the longest reply: a domain name
	socksMaxString = 255
)

// socksReplies names the reply codes of RFC 1928 section 6.
var socksReplies = [...]string{
	1: "general SOCKS server failure",
	2: "connection not allowed by ruleset",
	3: "network unreachable",
	4: "host unreachable",
	5: "connection refused",
	6: "TTL expired",
	7: "command not supported",
	8: "address type not supported",
}

// connectSOCKS5 asks the SOCKS5 proxy p on nc for a connection to addr.
// With the scheme socks5 the host name is resolved here; with socks5h
// the proxy resolves it.
func connectSOCKS5(ctx context.Context, nc net.Conn, p *url.URL, addr string) (net.Conn, error) {
	dst, err := socksAddress(ctx, addr, p.Scheme == "socks5")
	if err != nil {
		return nil, err
	}
	if err := socksAuthenticate(nc, p.User); err != nil {
		return nil, err
	}
	if _, err := nc.Write(append([]byte{socksVersion, socksConnect, 0}, dst...)); err != nil {
		return nil, err
	}
	if err := readSOCKSReply(nc); err != nil {
		return nil, err
	}
	return nc, nil
}

// socksAddress encodes addr as DST.ADDR and DST.PORT (RFC 1928 section
// 5), resolving a host name first if resolve is set.
func socksAddress(ctx context.Context, addr string, resolve bool) ([]byte, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("port %q: %w", portStr, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil && resolve {
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, err
		}
		ip = ips[0]
	}
	var b []byte
	switch {
	case ip.Is4() || ip.Is4In6():
		b = append([]byte{socksIPv4}, ip.Unmap().AsSlice()...)
	case ip.Is6():
		b = append([]byte{socksIPv6}, ip.AsSlice()...)
	case len(host) > socksMaxString:
		return nil, fmt.Errorf("host name over %d bytes", socksMaxString)
	default:
		b = append([]byte{socksDomain, byte(len(host))}, host...)
	}
	return binary.BigEndian.AppendUint16(b, uint16(port)), nil
}

// socksAuthenticate offers no authentication, and username and password
// when the proxy URL carries them, and runs the method the proxy chooses.
func socksAuthenticate(rw io.ReadWriter, user *url.Userinfo) error {
	greeting := []byte{socksVersion, 1, socksNoAuth}
	if user != nil {
		greeting = []byte{socksVersion, 2, socksNoAuth, socksUserPass}
	}
	if _, err := rw.Write(greeting); err != nil {
		return err
	}
	method, err := readSOCKSMethod(rw)
	if err != nil {
		return err
	}
	switch {
	case method == socksNoAuth:
		return nil
	case method == socksUserPass && user != nil:
		return socksUserPassword(rw, user)
	case method == socksNoMethod:
		return errors.New("socks5: the proxy accepts none of the offered authentication methods")
	}
	return fmt.Errorf("socks5: the proxy chose method %#x, which was not offered", method)
}

// readSOCKSMethod reads the proxy's choice of method (RFC 1928 section 3).
func readSOCKSMethod(r io.Reader) (byte, error) {
	var b [2]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, fmt.Errorf("socks5: reading the method: %w", err)
	}
	if b[0] != socksVersion {
		return 0, fmt.Errorf("socks5: version %d in the answer", b[0])
	}
	return b[1], nil
}

// socksUserPassword runs the subnegotiation of RFC 1929.
func socksUserPassword(rw io.ReadWriter, user *url.Userinfo) error {
	name := user.Username()
	pass, _ := user.Password()
	if len(name) == 0 || len(name) > socksMaxString || len(pass) > socksMaxString {
		return fmt.Errorf("socks5: user name and password must be 1 to %d bytes", socksMaxString)
	}
	req := append([]byte{userPassVer, byte(len(name))}, name...)
	req = append(append(req, byte(len(pass))), pass...)
	if _, err := rw.Write(req); err != nil {
		return err
	}
	var b [2]byte
	if _, err := io.ReadFull(rw, b[:]); err != nil {
		return fmt.Errorf("socks5: reading the authentication status: %w", err)
	}
	if b[0] != userPassVer || b[1] != 0 {
		return fmt.Errorf("socks5: the proxy refused the user name and password (status %d)", b[1])
	}
	return nil
}

// readSOCKSReply reads the reply to a request (RFC 1928 section 6) into
// a fixed buffer: BND.ADDR is read and discarded, whatever its type
// claims. It returns nil when the proxy connected.
func readSOCKSReply(r io.Reader) error {
	var b [socksMaxReply]byte
	if _, err := io.ReadFull(r, b[:5]); err != nil {
		return fmt.Errorf("socks5: reading the reply: %w", err)
	}
	if b[0] != socksVersion {
		return fmt.Errorf("socks5: version %d in the reply", b[0])
	}
	if rep := b[1]; rep != 0 {
		if int(rep) < len(socksReplies) {
			return fmt.Errorf("socks5: %s (reply %d)", socksReplies[rep], rep)
		}
		return fmt.Errorf("socks5: reply %d", rep)
	}
	var rest int // what follows the first byte of BND.ADDR, port included
	switch b[3] {
	case socksIPv4:
		rest = 4 - 1 + 2
	case socksIPv6:
		rest = 16 - 1 + 2
	case socksDomain:
		rest = int(b[4]) + 2
	default:
		return fmt.Errorf("socks5: address type %d in the reply", b[3])
	}
	if _, err := io.ReadFull(r, b[5:5+rest]); err != nil {
		return fmt.Errorf("socks5: reading the bound address: %w", err)
	}
	return nil
}
