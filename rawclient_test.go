package wss

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wssgo/wss/internal/frame"
)

// rawClient is one end of a WebSocket connection over a real socket (TCP,
// or TLS over it) that writes exact bytes and reads the other end's
// frames, checking that they follow the RFC: as a client, the server's
// frames (unmasked, minimal lengths, no RSV bits but those a negotiated
// extension allows); as the server end of a Dial client
// (readClientFrame), the client's. Every wait is bounded by testTimeout.
// Its methods fail the test, except handshake, nextFrame and answerClose,
// which return errors so that goroutines other than the test's may use
// them.
type rawClient struct {
	t   testing.TB
	nc  net.Conn
	br  *bufio.Reader
	ext string // the Sec-WebSocket-Extensions the server answered
}

// newRawClient is the one constructor of rawClient: it wraps nc, which is
// closed when the test ends. br is a reader of nc that may already hold
// bytes, or nil. With t nil (a goroutine other than the test's, which
// uses only methods returning errors) the caller closes nc.
func newRawClient(t testing.TB, nc net.Conn, br *bufio.Reader) *rawClient {
	if t != nil {
		t.Cleanup(func() { nc.Close() })
	}
	if br == nil {
		br = bufio.NewReader(nc)
	}
	return &rawClient{t: t, nc: nc, br: br}
}

// dialRaw opens a TCP connection to addr as a rawClient; its handshake is
// connect, connectExt, or bytes the test writes.
func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return newRawClient(t, nc, nil)
}

// connectExt completes a handshake with the sample key offering the
// extensions offer (none if empty), and records the server's answer in
// ext.
func (c *rawClient) connectExt(offer string) *rawClient {
	c.t.Helper()
	q := validRequest(c.host())
	if offer != "" {
		q.add("Sec-WebSocket-Extensions", offer)
	}
	c.write(q.bytes())
	resp := readResponse(c.t, c)
	if accept := resp.Header.Get("Sec-WebSocket-Accept"); resp.StatusCode != http.StatusSwitchingProtocols || accept != sampleAccept {
		c.t.Fatalf("handshake answered %s with Sec-WebSocket-Accept %q", resp.Status, accept)
	}
	c.ext = resp.Header.Get("Sec-WebSocket-Extensions")
	return c
}

// host is the Host a handshake names: the address dialled.
func (c *rawClient) host() string { return c.nc.RemoteAddr().String() }

// connect is handshake, failing the test on an error. Distinct peers send
// a randomKey; the sample key gives the exact acceptResponse.
func (c *rawClient) connect(key string) *rawClient {
	c.t.Helper()
	if err := c.handshake(key); err != nil {
		c.t.Fatal(err)
	}
	return c
}

func randomKey() string {
	var key [16]byte
	rand.Read(key[:])
	return base64.StdEncoding.EncodeToString(key[:])
}

// handshake sends validRequest(c.host()) with key in place of the sample
// key, and checks the response is acceptResponse with key's accept value
// (RFC 6455 section 4.2.2), byte for byte.
func (c *rawClient) handshake(key string) error {
	host := c.host()
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	want := strings.Replace(acceptResponse, sampleAccept, base64.StdEncoding.EncodeToString(sum[:]), 1)
	if err := c.nc.SetDeadline(time.Now().Add(testTimeout)); err != nil {
		return err
	}
	if _, err := io.WriteString(c.nc, strings.Replace(string(validRequest(host).bytes()), sampleKey, key, 1)); err != nil {
		return fmt.Errorf("sending the handshake: %w", err)
	}
	got := make([]byte, len(want))
	if n, err := io.ReadFull(c.br, got); err != nil {
		return fmt.Errorf("reading the 101 response: got %q: %w", got[:n], err)
	}
	if string(got) != want {
		return fmt.Errorf("handshake answered\n%q\nwant\n%q", got, want)
	}
	return nil
}

func (c *rawClient) deadline() {
	if err := c.nc.SetDeadline(time.Now().Add(testTimeout)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawClient) write(b []byte) {
	c.t.Helper()
	c.deadline()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("client write: %v", err)
	}
}

// send writes a masked frame with first byte b0 (FIN, RSV and opcode bits).
func (c *rawClient) send(b0 byte, payload []byte) {
	c.t.Helper()
	c.write(clientFrame(b0, payload))
}

// expect reads len(want) bytes and checks they are want.
func (c *rawClient) expect(want []byte) {
	c.t.Helper()
	c.deadline()
	got := make([]byte, len(want))
	n, err := io.ReadFull(c.br, got)
	if err != nil {
		c.t.Fatalf("reading %d bytes: got %d (%q): %v; want %q", len(want), n, trim(got[:n]), err, trim(want))
	}
	if !bytes.Equal(got, want) {
		i := 0 // where a long frame starts to differ
		if len(want) > 256 {
			for got[i] == want[i] {
				i++
			}
		}
		c.t.Fatalf("got bytes (from byte %d)\n%q\nwant\n%q", i, trim(got[i:]), trim(want[i:]))
	}
}

// trim shortens b to what a failure message shows.
func trim(b []byte) []byte { return b[:min(len(b), 256)] }

// expectEOF checks that the server closed (or half-closed) the connection,
// with nothing more sent.
func (c *rawClient) expectEOF() {
	c.t.Helper()
	c.deadline()
	b, err := c.br.ReadByte()
	switch {
	case err == nil:
		rest, _ := c.br.Peek(c.br.Buffered())
		c.t.Fatalf("got byte %#x (then %q), want the server to close", b, rest)
	case !errors.Is(err, io.EOF) && !isReset(err):
		c.t.Fatalf("want EOF, got %v", err)
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "connection reset")
}

// expectFail checks the server failed the connection with code: a close
// frame with exactly that code, then EOF. Then it closes its side, which
// lets the server finish.
func (c *rawClient) expectFail(code StatusCode) {
	c.t.Helper()
	c.expect(serverClose(code))
	c.expectEOF()
	c.nc.Close()
}

// wireFrame is a frame read from the server.
type wireFrame struct {
	fin     bool
	op      opcode
	payload []byte
	rsv1    bool // compressed (RFC 7692)
}

// nextFrame reads one frame from the server and checks the rules a server
// frame must follow: no mask, minimal length encoding, no RSV bits but
// RSV1 on the first frame of a data message once permessage-deflate is
// negotiated (RFC 7692 section 6). The connection's end before a frame is
// io.EOF.
func (c *rawClient) nextFrame() (wireFrame, error) {
	if err := c.nc.SetDeadline(time.Now().Add(testTimeout)); err != nil {
		return wireFrame{}, err
	}
	var h [frame.MaxHeaderLen]byte
	if _, err := io.ReadFull(c.br, h[:2]); err != nil {
		return wireFrame{}, err
	}
	n := frame.HeaderLen(h[1])
	if _, err := io.ReadFull(c.br, h[2:n]); err != nil {
		return wireFrame{}, fmt.Errorf("reading a frame header: %w", err)
	}
	hd, ok := frame.ParseHeader(h[:n])
	switch {
	case !ok:
		return wireFrame{}, fmt.Errorf("server sent a malformed header % x", h[:n])
	case hd.Masked:
		return wireFrame{}, errors.New("server sent a masked frame (RFC 6455 section 5.1)")
	case hd.Rsv != 0 && (hd.Rsv != frame.Rsv1 || hd.Op != opText && hd.Op != opBinary || !strings.HasPrefix(c.ext, "permessage-deflate")):
		return wireFrame{}, fmt.Errorf("server set RSV bits %#x on opcode %#x (extensions %q)", hd.Rsv, hd.Op, c.ext)
	}
	p := make([]byte, hd.Length)
	if _, err := io.ReadFull(c.br, p); err != nil {
		return wireFrame{}, fmt.Errorf("reading a %d-byte payload: %w", hd.Length, err)
	}
	return wireFrame{hd.Fin, hd.Op, p, hd.Rsv != 0}, nil
}

// readFrame is nextFrame, failing the test on an error.
func (c *rawClient) readFrame() wireFrame {
	c.t.Helper()
	f, err := c.nextFrame()
	if err != nil {
		c.t.Fatalf("reading a frame: %v", err)
	}
	return f
}

// readClientFrame reads one frame a Dial client sent, as its server end,
// and returns it with its raw header (mask key included).
func (c *rawClient) readClientFrame() (clientWireFrame, []byte) {
	c.t.Helper()
	c.deadline()
	raw := make([]byte, 2, frame.MaxHeaderLen)
	if _, err := io.ReadFull(c.br, raw); err != nil {
		c.t.Fatalf("reading a frame header: %v", err)
	}
	ext := map[byte]int{126: 2, 127: 8}[raw[1]&0x7f]
	if raw[1]&0x80 != 0 {
		ext += 4
	}
	raw = raw[:2+ext]
	if _, err := io.ReadFull(c.br, raw[2:]); err != nil {
		c.t.Fatalf("reading a frame header: %v", err)
	}
	n := uint64(raw[1] & 0x7f)
	switch n {
	case 126:
		n = uint64(binary.BigEndian.Uint16(raw[2:]))
	case 127:
		n = binary.BigEndian.Uint64(raw[2:])
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(c.br, payload); err != nil {
		c.t.Fatalf("reading a payload of %d bytes: %v", n, err)
	}
	f, _, err := parseClientFrame(append(bytes.Clone(raw), payload...))
	if err != nil {
		c.t.Fatalf("frame % x: %v", raw, err)
	}
	return f, raw
}

// readMessage reads frames until a whole data message has arrived,
// skipping nothing: a control frame in between fails the test.
func (c *rawClient) readMessage() ([]byte, opcode) {
	c.t.Helper()
	f := c.readFrame()
	op, data := f.op, f.payload
	for !f.fin {
		f = c.readFrame()
		if f.op != opContinuation {
			c.t.Fatalf("got opcode %#x inside a message", f.op)
		}
		data = append(data, f.payload...)
	}
	return data, op
}

// expectClose reads frames until a close frame and returns its code.
func (c *rawClient) expectClose() StatusCode {
	c.t.Helper()
	for {
		if f := c.readFrame(); f.op == opClose {
			if len(f.payload) < 2 {
				return StatusNoStatus
			}
			return StatusCode(binary.BigEndian.Uint16(f.payload))
		}
	}
}

// answerClose plays a well-behaved peer: it reads until the server's close
// frame, answers it with the same code, waits for the server to close TCP
// and reports the code.
func (c *rawClient) answerClose() (StatusCode, error) {
	for {
		f, err := c.nextFrame()
		if err != nil {
			return 0, err
		}
		if f.op == opClose {
			c.nc.Write(clientFrame(closeFin, f.payload))
			var b [1]byte
			if _, err := c.br.Read(b[:]); err == nil {
				return 0, errors.New("data after the close frame")
			}
			if len(f.payload) < 2 {
				return StatusNoStatus, nil
			}
			return StatusCode(binary.BigEndian.Uint16(f.payload)), nil
		}
	}
}
