package pubsub

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wssgo/wss"
)

// server serves WebSocket connections on a loopback socket; connected is
// called from each connection's first event, closed from its OnClose.
type server struct {
	url   string
	conns chan *wss.Conn
	ended chan int
}

// newServer starts an HTTP server whose connections run h (wrapped by ps
// so they leave their topics) and are reported on s.conns once open.
func newServer(t testing.TB, ps *PubSub, cfg *wss.Config) *server {
	t.Helper()
	s := &server{conns: make(chan *wss.Conn, 16384), ended: make(chan int, 16384)}
	d, err := wss.NewDispatcher(nil)
	if err != nil {
		t.Fatal(err)
	}
	h := ps.Handler(wss.HandlerFuncs{
		Frame: func(c *wss.Conn, data []byte, text bool) {},
		Close: func(c *wss.Conn, status int) { s.ended <- status },
	})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := wss.New(h, d, cfg)
		if c.Upgrade(w, r) == nil {
			s.conns <- c
		}
	}))
	t.Cleanup(hs.Close)
	s.url = hs.URL
	return s
}

// client is a minimal WebSocket client over a real socket: it sends the
// opening handshake and reads the server's unmasked frames.
type client struct {
	nc net.Conn
	br *bufio.Reader
}

// dial connects a client and returns it with the server side's Conn.
func (s *server) dial(t testing.TB) (*client, *wss.Conn) {
	t.Helper()
	addr := strings.TrimPrefix(s.url, "http://")
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	var key [16]byte
	rand.Read(key[:])
	fmt.Fprintf(nc, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", addr, base64.StdEncoding.EncodeToString(key[:]))
	br := bufio.NewReaderSize(nc, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %s", resp.Status)
	}
	select {
	case c := <-s.conns:
		return &client{nc: nc, br: br}, c
	case <-time.After(5 * time.Second):
		t.Fatal("server did not report the connection")
		return nil, nil
	}
}

// frame is a message as read from the wire.
type frame struct {
	op      byte
	payload []byte
}

// read reads one unfragmented frame.
func (c *client) read() (frame, error) {
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return frame{}, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return frame{}, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return frame{}, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if h[0]&0x80 == 0 || h[1]&0x80 != 0 {
		return frame{}, fmt.Errorf("unexpected frame header %x", h)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c.br, p); err != nil {
		return frame{}, err
	}
	return frame{op: h[0] & 0x0f, payload: p}, nil
}

// closeCode reads frames until a close frame and returns its code; the
// data frames before it are returned too.
func (c *client) readUntilClose() (data []frame, code int, err error) {
	for {
		f, err := c.read()
		if err != nil {
			return data, 0, err
		}
		if f.op == 8 {
			if len(f.payload) < 2 {
				return data, wss.StatusNoStatus, nil
			}
			return data, int(binary.BigEndian.Uint16(f.payload)), nil
		}
		data = append(data, f)
	}
}

// sendClose sends a masked close frame with code.
func (c *client) sendClose(code int) error {
	f := []byte{0x88, 0x82, 0, 0, 0, 0, byte(code >> 8), byte(code)}
	_, err := c.nc.Write(f)
	return err
}

// collector reads text messages of a client in the background.
type collector struct {
	mu   sync.Mutex
	msgs []string
	got  chan string
	done chan error
}

func (c *client) collect() *collector {
	col := &collector{got: make(chan string, 1<<16), done: make(chan error, 1)}
	go func() {
		for {
			f, err := c.read()
			if err != nil {
				col.done <- err
				return
			}
			if f.op == 8 {
				col.done <- nil
				return
			}
			col.got <- string(f.payload)
		}
	}()
	return col
}

// next returns the next message, failing the test after a timeout.
func (col *collector) next(t testing.TB) string {
	t.Helper()
	select {
	case m := <-col.got:
		return m
	case err := <-col.done:
		t.Fatalf("connection ended before a message arrived: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
	}
	return ""
}
