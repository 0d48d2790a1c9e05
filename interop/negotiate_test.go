package interop

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wssgo/wss"
)

// offer is a client's permessage-deflate offer (RFC 7692 section 7.1); a
// window of 0 means the parameter was not given, cbAsked that
// client_max_window_bits was (with or without a value).
type offer struct {
	snt, cnt bool
	sb, cb   int
	cbAsked  bool
}

// wantResponse is the Sec-WebSocket-Extensions value CompressionConfig's
// documentation promises from a server configured with cc to o: context
// takeover off where either side asks, each window the smaller of the
// offer's and the server's (written when the offer named it or it is
// below 15), and a client window only when the offer allows one.
func wantResponse(cc *wss.CompressionConfig, o offer) string {
	s := "permessage-deflate"
	if o.snt || cc.ServerNoContextTakeover {
		s += "; server_no_context_takeover"
	}
	if o.cnt || cc.ClientNoContextTakeover {
		s += "; client_no_context_takeover"
	}
	if bits := min(windowOr15(o.sb), windowOr15(cc.ServerMaxWindowBits)); o.sb != 0 || bits < 15 {
		s += "; server_max_window_bits=" + strconv.Itoa(bits)
	}
	if o.cbAsked {
		asked := windowOr15(cc.ClientMaxWindowBits)
		if cc.ClientMaxWindowBits == 0 {
			asked = defaultClientMaxWindowBits
		}
		if bits := min(windowOr15(o.cb), asked); o.cb != 0 || bits < 15 {
			s += "; client_max_window_bits=" + strconv.Itoa(bits)
		}
	}
	return s
}

// defaultClientMaxWindowBits is the window a wss server asks of a client
// when CompressionConfig.ClientMaxWindowBits is 0 (its documented default).
const defaultClientMaxWindowBits = 12

// windowOr15 is a configured window: 15 when unset or out of range, at
// least 8.
func windowOr15(bits int) int {
	if bits <= 0 || bits > 15 {
		return 15
	}
	return max(bits, 8)
}

// checkOfferHonoured checks a peer server's answer to our client's offer:
// compression accepted, windows within the offer, and
// server_no_context_takeover granted when asked for. A server may lower
// windows and turn context takeover off on its own.
func checkOfferHonoured(ext string, o *wss.CompressionConfig) error {
	params, ok := strings.CutPrefix(ext, "permessage-deflate")
	if !ok {
		return fmt.Errorf("compression not negotiated: %q", ext)
	}
	got := make(map[string]string)
	for p := range strings.SplitSeq(params, ";") {
		if name, value, _ := strings.Cut(strings.TrimSpace(p), "="); name != "" {
			got[name] = value
		}
	}
	window := func(name string) int {
		if v, ok := got[name]; ok {
			n, _ := strconv.Atoi(v)
			return n
		}
		return 0
	}
	_, snt := got["server_no_context_takeover"]
	switch {
	case window("server_max_window_bits") > windowOr15(o.ServerMaxWindowBits):
		return fmt.Errorf("server window above the offer: %q", ext)
	case window("client_max_window_bits") > windowOr15(o.ClientMaxWindowBits):
		return fmt.Errorf("client window above the offer: %q", ext)
	case o.ServerNoContextTakeover && !snt:
		return fmt.Errorf("server_no_context_takeover asked for, not granted: %q", ext)
	}
	return nil
}

// echoRoundTrips dials url with compression cc, checks the server's
// answer to the offer, sends msgs and expects each back.
func echoRoundTrips(t *testing.T, name, url string, cc *wss.CompressionConfig, msgs []wss.Message) {
	t.Helper()
	if err := checkOfferHonoured(answerTo(t, url, cc), cc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	in := wss.NewInbox(len(msgs))
	c, err := wss.Dial(ctx, url, in, &wss.DialOptions{Config: &wss.Config{Compression: cc}})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer func() {
		_ = c.Close(wss.StatusNormalClosure, "")
		for {
			if _, err := in.Read(ctx); err != nil {
				break
			}
		}
	}()
	for _, m := range msgs {
		if err := c.Write(m.Data, m.Type); err != nil {
			t.Fatalf("%s: write: %v", name, err)
		}
	}
	for i, m := range msgs {
		got, err := in.Read(ctx)
		if err != nil {
			t.Fatalf("%s: message %d: %v", name, i, err)
		}
		if got.Type != m.Type || !bytes.Equal(got.Data, m.Data) {
			t.Fatalf("%s: message %d: got %d bytes text=%v, want %d text=%v", name, i, len(got.Data), got.Type, len(m.Data), m.Type)
		}
	}
}

// answerTo returns the Sec-WebSocket-Extensions of url's answer to a Dial
// offering cc. The connection is dialled apart and closed: a net.Conn
// that records what it reads is not a *net.TCPConn, so an event loop
// would not serve it, and the round trips run on the default dispatcher.
func answerTo(t *testing.T, url string, cc *wss.CompressionConfig) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var rec handshakeRecorder
	in := wss.NewInbox(1)
	c, err := wss.Dial(ctx, url, in, &wss.DialOptions{Config: &wss.Config{Compression: cc}, NetDialContext: rec.dial})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(wss.StatusNormalClosure, ""); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := in.Read(ctx); err != nil {
			break
		}
	}
	resp, err := rec.response()
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Get("Sec-WebSocket-Extensions")
}

// handshakeRecorder keeps the first bytes a dialled connection reads, so
// that the server's handshake response can be read back after Dial.
type handshakeRecorder struct {
	mu  sync.Mutex
	buf []byte
}

// handshakeMax bounds what is kept: a response header is far smaller.
const handshakeMax = 16 << 10

func (h *handshakeRecorder) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: nc, h: h}, nil
}

// response parses the recorded handshake response.
func (h *handshakeRecorder) response() (*http.Response, error) {
	h.mu.Lock()
	buf := bytes.Clone(h.buf)
	h.mu.Unlock()
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(buf)), nil)
	if err != nil {
		return nil, fmt.Errorf("recorded handshake response: %w", err)
	}
	return resp, nil
}

// recordingConn copies what it reads to its recorder, up to handshakeMax.
type recordingConn struct {
	net.Conn
	h *handshakeRecorder
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.h.mu.Lock()
	if room := handshakeMax - len(c.h.buf); room > 0 {
		c.h.buf = append(c.h.buf, p[:min(n, room)]...)
	}
	c.h.mu.Unlock()
	return n, err
}
