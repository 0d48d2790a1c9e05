package wss

// The client's send path, checked against an independent reading of the
// frames it puts on the wire (RFC 6455 section 5.2): every frame a client
// sends is final, masked, uses the shortest length encoding and unmasks to
// exactly what was sent, whatever its length (0 included) and opcode.

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"
	"unicode/utf8"

	"github.com/wssgo/wss/internal/frame"
)

// clientWireFrame is one frame as a server reads it off the wire.
type clientWireFrame struct {
	fin     bool
	rsv     byte // the three RSV bits, in place
	op      byte
	masked  bool
	length  int
	payload []byte // unmasked
}

// parseClientFrame reads one client frame at the start of b by the text of
// section 5.2 alone and returns it with the bytes that follow. It refuses a
// frame that is unmasked or whose length is not in its shortest form.
func parseClientFrame(b []byte) (clientWireFrame, []byte, error) {
	var f clientWireFrame
	if len(b) < 2 {
		return f, b, fmt.Errorf("%d bytes, no frame header", len(b))
	}
	f.fin, f.rsv, f.op = b[0]&0x80 != 0, b[0]&0x70, b[0]&0x0f
	f.masked = b[1]&0x80 != 0
	n, b := uint64(b[1]&0x7f), b[2:]
	switch n {
	case 126:
		if len(b) < 2 {
			return f, b, errors.New("16-bit length cut short")
		}
		n, b = uint64(binary.BigEndian.Uint16(b)), b[2:]
		if n < 126 {
			return f, b, fmt.Errorf("length %d in 16 bits", n)
		}
	case 127:
		if len(b) < 8 {
			return f, b, errors.New("64-bit length cut short")
		}
		n, b = binary.BigEndian.Uint64(b), b[8:]
		if n <= 0xFFFF || n>>63 != 0 {
			return f, b, fmt.Errorf("length %d in 64 bits", n)
		}
	}
	if !f.masked {
		return f, b, errors.New("client frame not masked")
	}
	if len(b) < 4 {
		return f, b, errors.New("mask key cut short")
	}
	key, b := b[:4], b[4:]
	if uint64(len(b)) < n {
		return f, b, fmt.Errorf("payload of %d bytes cut at %d", n, len(b))
	}
	f.length = int(n)
	f.payload = make([]byte, n)
	for i := range f.payload {
		f.payload[i] = b[i] ^ key[i%4]
	}
	return f, b[n:], nil
}

// clientSendKinds are the ways a client puts a frame on the wire.
var clientSendKinds = []string{"text", "binary", "ping", "pong", "close", "close reply", "compressed"}

// maxFuzzLen covers every length encoding and its edges (125/126,
// 65535/65536) while keeping an iteration fast.
const maxFuzzLen = 1<<17 + 3

// sinkClient returns a client Conn whose frames go to a sinkConn.
func sinkClient(cfg *Config, compress bool) (*Conn, *sinkConn) {
	sink := &sinkConn{}
	c := newConn(HandlerFuncs{}, nil, cfg)
	c.client = true
	c.aside = &connAside{nc: sink}
	if compress {
		c.aside.dfl = newDeflate(&CompressionConfig{Threshold: -1}, deflateParams{}, true, 0)
	}
	c.state.set(flagConnected)
	return c, sink
}

// clientSend sends payload as kind from a fresh client Conn and returns
// the error of the call and the bytes on the wire. A pong and the answer
// to a close go out as the reader sends them, in reply to a server frame.
func clientSend(kind string, payload []byte, code int) (error, []byte) {
	c, sink := sinkClient(&Config{}, kind == "compressed")
	defer func() {
		c.drop(StatusConnLost)
		c.d.remove(c) // stops a close timer
		if d := c.dfl(); d != nil {
			d.release()
		}
	}()
	var err error
	switch kind {
	case "text":
		err = c.Write(payload, true)
	case "binary", "compressed":
		err = c.Write(payload, false)
	case "ping":
		err = c.Ping(payload)
	case "pong":
		c.feed(serverFrame(opPing, payload)) // the server's ping, read as from the socket
	case "close":
		err = c.Close(code)
	case "close reply":
		c.feed(serverFrame(opClose, nil)) // a close frame without a code
	}
	return err, sink.out.Bytes()
}

// wantClientFrame returns the frame a client must send for kind and
// payload ("pong": the answer to a ping carrying payload), or nil if the
// call must fail and send nothing.
func wantClientFrame(kind string, payload []byte, code int) *clientWireFrame {
	f := &clientWireFrame{fin: true, masked: true, payload: payload}
	switch kind {
	case "text":
		if !utf8.Valid(payload) {
			return nil
		}
		f.op = byte(opText)
	case "binary":
		f.op = byte(opBinary)
	case "compressed":
		f.op, f.rsv = byte(opBinary), frame.Rsv1
	case "ping":
		if len(payload) > frame.MaxControlPayload {
			return nil
		}
		f.op = byte(opPing)
	case "pong":
		f.op = byte(opPong)
		if len(payload) > frame.MaxControlPayload { // section 5.5: the ping fails the connection
			f.op, f.payload = byte(opClose), closePayload(StatusProtocolError, "")
		}
	case "close":
		if !validCloseCode(code) {
			return nil
		}
		f.op, f.payload = byte(opClose), closePayload(code, "")
	case "close reply":
		f.op, f.payload = byte(opClose), nil
	}
	f.length = len(f.payload)
	return f
}

// inflateMessage decompresses a permessage-deflate payload with
// compress/flate (RFC 7692 section 7.2.2).
func inflateMessage(p []byte) ([]byte, error) {
	r := flate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader(deflateTail)))
	out, err := io.ReadAll(r)
	if errors.Is(err, io.ErrUnexpectedEOF) { // a sync-flushed stream has no final block
		err = nil
	}
	return out, err
}

// checkClientSend sends payload as kind and checks the wire against
// wantClientFrame.
func checkClientSend(t *testing.T, kind string, payload []byte, code int) {
	t.Helper()
	err, wire := clientSend(kind, payload, code)
	want := wantClientFrame(kind, payload, code)
	if want == nil {
		if err == nil || len(wire) != 0 {
			t.Fatalf("%s of %d bytes (code %d): error %v, %d bytes sent; want an error and nothing sent", kind, len(payload), code, err, len(wire))
		}
		return
	}
	if err != nil {
		t.Fatalf("%s of %d bytes: %v", kind, len(payload), err)
	}
	got, rest, perr := parseClientFrame(wire)
	if perr != nil {
		t.Fatalf("%s of %d bytes: wire % x...: %v", kind, len(payload), wire[:min(len(wire), 16)], perr)
	}
	if len(rest) != 0 {
		t.Fatalf("%s of %d bytes: %d bytes after the frame", kind, len(payload), len(rest))
	}
	if kind == "compressed" {
		if got.payload, err = inflateMessage(got.payload); err != nil {
			t.Fatalf("compressed %d bytes: inflate: %v", len(payload), err)
		}
		got.length = len(got.payload)
	}
	if got.fin != want.fin || got.rsv != want.rsv || got.op != want.op || got.masked != want.masked ||
		got.length != want.length || !bytes.Equal(got.payload, want.payload) {
		t.Fatalf("%s of %d bytes: sent fin %v rsv %#x op %#x masked %v length %d; want fin %v rsv %#x op %#x masked %v length %d (payload equal: %v)",
			kind, len(payload), got.fin, got.rsv, got.op, got.masked, got.length,
			want.fin, want.rsv, want.op, want.masked, want.length, bytes.Equal(got.payload, want.payload))
	}
}

// fuzzPayload is n bytes repeating fill (zeros if fill is empty).
func fuzzPayload(n int, fill []byte) []byte {
	p := make([]byte, n)
	if len(fill) > 0 {
		for i := 0; i < n; i += copy(p[i:], fill) {
		}
	}
	return p
}

// FuzzClientSend sends frames of every kind and length from a client Conn
// and reads the wire back independently: a client must never panic, and
// each frame must decode to exactly what was sent.
func FuzzClientSend(f *testing.F) {
	for k := range clientSendKinds {
		for _, n := range []uint32{0, 1, 2, 125, 126, 127, 0xFFFF, 0x10000, 0x10001} {
			f.Add(uint8(k), n, []byte("seed €"), uint16(1000))
		}
	}
	f.Add(uint8(4), uint32(0), []byte{}, uint16(1005))
	f.Fuzz(func(t *testing.T, kind uint8, n uint32, fill []byte, code uint16) {
		name := clientSendKinds[int(kind)%len(clientSendKinds)]
		checkClientSend(t, name, fuzzPayload(int(n%(maxFuzzLen+1)), fill), int(code))
	})
}

// TestRFC6455_5_2_ClientFrameLengths sends every kind of client frame
// at each edge of the length encodings, 0 included, and of the control
// frame limit.
func TestRFC6455_5_2_ClientFrameLengths(t *testing.T) {
	for _, kind := range clientSendKinds {
		for _, n := range []int{0, 1, 125, 126, 127, 0xFFFF, 0x10000, 1 << 20} {
			t.Run(fmt.Sprintf("%s %d", kind, n), func(t *testing.T) {
				checkClientSend(t, kind, payloadOf(n, true), StatusNormalClosure)
			})
		}
	}
}
