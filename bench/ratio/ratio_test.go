// Package ratio compares the compression ratio of wss and gws on the
// same chat-like JSON, each with the windows it negotiates against a
// browser's offer.
package ratio

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wssgo/wss/internal/wstest"

	"github.com/lxzan/gws"

	"github.com/wssgo/wss"
)

// browserOffer is what Chromium, Firefox and Safari offer.
const browserOffer = "permessage-deflate; client_max_window_bits"

// TestCompressionRatio echoes the same chat-like JSON messages through a
// wss server and a gws server, both with context takeover and their
// default settings otherwise, from a client that offers what a browser
// does and sends uncompressed, and compares what the servers send: the
// ratio is message bytes over compressed payload bytes. It logs the
// figures and fails if an echo is wrong or if wss's ratio is below gws's.
//
//	cd bench && go test -run CompressionRatio -v ./ratio
func TestCompressionRatio(t *testing.T) {
	for _, tc := range []struct {
		stream string
		size   int
		msgs   [][]byte
	}{
		{"chat", 300, wstest.ChatMessages(2000, 300)},
		{"chat", 1200, wstest.ChatMessages(2000, 1200)},
		{"records", 300, wstest.JSONRecords(2000, 300)},
		{"records", 1200, wstest.JSONRecords(2000, 1200)},
	} {
		stream, size, msgs := tc.stream, tc.size, tc.msgs
		ratios := map[string]float64{}
		for _, s := range []struct {
			name string
			h    http.Handler
		}{
			{"wss", wssServer(t, &wss.CompressionConfig{})},
			// With gws's 4 KiB of context, for comparison.
			{"wss+4K", wssServer(t, &wss.CompressionConfig{SendContext: 4 << 10})},
			{"gws", gwsServer()},
		} {
			srv := httptest.NewServer(s.h)
			ext, ratio := echoRatio(t, srv.Listener.Addr().String(), msgs)
			srv.Close()
			t.Logf("%-7s %4d B: %-6s %.2fx (%s)", stream, size, s.name, ratio, ext)
			ratios[s.name] = ratio
		}
		if ratios["wss"] < ratios["gws"] {
			t.Errorf("%s, %d B: wss compresses %.2fx, below gws's %.2fx", stream, size, ratios["wss"], ratios["gws"])
		}
	}
}

func wssServer(t *testing.T, cc *wss.CompressionConfig) http.Handler {
	d, err := wss.NewDispatcher(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	echo := wss.HandlerFuncs{Frame: func(c *wss.Conn, data []byte, typ wss.MessageType) { _ = c.Write(data, typ) }}
	cfg := &wss.Config{Compression: cc}
	return wss.HTTPHandler(d, cfg, func(*wss.Request) (wss.Handler, error) { return echo, nil })
}

type gwsEcho struct{ gws.BuiltinEventHandler }

func (gwsEcho) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	_ = c.WriteMessage(m.Opcode, m.Bytes())
}

func gwsServer() http.Handler {
	up := gws.NewUpgrader(gwsEcho{}, &gws.ServerOption{PermessageDeflate: gws.PermessageDeflate{
		Enabled: true, ServerContextTakeover: true, ClientContextTakeover: true,
	}})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := up.Upgrade(w, r); err == nil {
			go c.ReadLoop()
		}
	})
}

// echoRatio sends msgs one by one, reads each echo, inflates it with the
// server's context (checking it is the message) and returns the
// extension the server answered and the ratio of what it sent.
func echoRatio(t *testing.T, addr string, msgs [][]byte) (string, float64) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	key := make([]byte, 16)
	rand.Read(key)
	fmt.Fprintf(nc, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: %s\r\n\r\n",
		addr, base64.StdEncoding.EncodeToString(key), browserOffer)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	ext := resp.Header.Get("Sec-WebSocket-Extensions")
	if strings.Contains(ext, "server_no_context_takeover") {
		t.Fatalf("no context takeover: %s", ext)
	}
	var window []byte // what the server's next message may refer back to
	plain, wire := 0, 0
	for _, m := range msgs {
		if _, err := nc.Write(clientFrame(m)); err != nil {
			t.Fatal(err)
		}
		rsv1, payload := readFrame(t, br)
		wire += len(payload)
		plain += len(m)
		got := payload
		if rsv1 {
			r := flate.NewReaderDict(io.MultiReader(bytes.NewReader(payload), bytes.NewReader([]byte{0, 0, 0xff, 0xff})), window)
			got, _ = io.ReadAll(r) // ends with io.ErrUnexpectedEOF after the tail
		}
		if !bytes.Equal(got, m) {
			t.Fatalf("echo of %d bytes came back as %d", len(m), len(got))
		}
		window = append(window, got...)
		window = window[max(0, len(window)-32<<10):]
	}
	return ext, float64(plain) / float64(wire)
}

// clientFrame is a masked text frame carrying p uncompressed.
func clientFrame(p []byte) []byte {
	b := []byte{0x81}
	switch {
	case len(p) < 126:
		b = append(b, 0x80|byte(len(p)))
	case len(p) < 1<<16:
		b = binary.BigEndian.AppendUint16(append(b, 0x80|126), uint16(len(p)))
	default:
		b = binary.BigEndian.AppendUint64(append(b, 0x80|127), uint64(len(p)))
	}
	mask := [4]byte{1, 2, 3, 4}
	b = append(b, mask[:]...)
	for i, c := range p {
		b = append(b, c^mask[i&3])
	}
	return b
}

// readFrame reads one unfragmented server frame.
func readFrame(t *testing.T, br *bufio.Reader) (rsv1 bool, payload []byte) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		t.Fatal(err)
	}
	if h[0]&0x80 == 0 || h[0]&0x0f != 1 {
		t.Fatalf("frame %#x: want a whole text message", h[0])
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		io.ReadFull(br, l[:])
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		io.ReadFull(br, l[:])
		n = binary.BigEndian.Uint64(l[:])
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(br, payload); err != nil {
		t.Fatal(err)
	}
	return h[0]&0x40 != 0, payload
}
