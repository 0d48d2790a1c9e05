// Package wstest is a minimal WebSocket client for tests: it speaks the
// opening handshake over a real socket, reads unfragmented server frames
// and sends masked ones. It checks little on purpose: the tests using it
// check the server.
package wstest

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Opcodes of RFC 6455 section 5.2.
const (
	OpText   = 1
	OpBinary = 2
	OpClose  = 8
)

// Client is one client connection.
type Client struct {
	nc net.Conn
	br *bufio.Reader
}

// Frame is a frame as read from the wire.
type Frame struct {
	Op      byte
	Payload []byte
}

// Dial connects to a ws:// or http:// URL and completes the handshake.
func Dial(rawURL string) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	nc, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		return nil, err
	}
	var key [16]byte
	rand.Read(key[:])
	path := u.RequestURI()
	fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
		path, u.Host, base64.StdEncoding.EncodeToString(key[:]))
	br := bufio.NewReaderSize(nc, 4<<10) // small: benchmarks hold thousands
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		nc.Close()
		return nil, fmt.Errorf("handshake: %s", resp.Status)
	}
	return &Client{nc: nc, br: br}, nil
}

// Conn returns the underlying socket.
func (c *Client) Conn() net.Conn { return c.nc }

// Close closes the socket.
func (c *Client) Close() error { return c.nc.Close() }

// Read reads one unfragmented frame.
func (c *Client) Read() (Frame, error) {
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return Frame{}, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return Frame{}, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return Frame{}, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if h[0]&0x80 == 0 || h[1]&0x80 != 0 || n > 1<<30 {
		return Frame{}, fmt.Errorf("unexpected frame header %x", h)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c.br, p); err != nil {
		return Frame{}, err
	}
	return Frame{Op: h[0] & 0x0f, Payload: p}, nil
}

// ReadWithin reads one unfragmented frame, failing with a timeout error
// (os.ErrDeadlineExceeded) if none has arrived within d.
func (c *Client) ReadWithin(d time.Duration) (Frame, error) {
	if err := c.nc.SetReadDeadline(time.Now().Add(d)); err != nil {
		return Frame{}, err
	}
	return c.Read()
}

// CloseCode returns the code of a close frame, 1005 if it has none.
func (f Frame) CloseCode() int {
	if len(f.Payload) < 2 {
		return 1005
	}
	return int(binary.BigEndian.Uint16(f.Payload))
}

// Write sends one masked frame with opcode op.
func (c *Client) Write(op byte, payload []byte) error {
	hdr := []byte{0x80 | op, 0}
	switch n := len(payload); {
	case n < 126:
		hdr[1] = 0x80 | byte(n)
	case n < 1<<16:
		hdr[1] = 0x80 | 126
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	default:
		hdr[1] = 0x80 | 127
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	var key [4]byte
	rand.Read(key[:])
	frame := append(hdr, key[:]...)
	for i, b := range payload {
		frame = append(frame, b^key[i&3])
	}
	_, err := c.nc.Write(frame)
	return err
}

// SendClose sends a close frame with code.
func (c *Client) SendClose(code int) error {
	return c.Write(OpClose, binary.BigEndian.AppendUint16(nil, uint16(code)))
}
