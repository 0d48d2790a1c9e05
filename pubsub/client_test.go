package pubsub

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/wssgo/wss"
	"github.com/wssgo/wss/internal/wstest"
)

// server serves WebSocket connections on a loopback socket; connected is
// called from each connection's first event, closed from its OnClose.
type server struct {
	url   string
	conns chan *wss.Conn
	ended chan wss.StatusCode
}

// newServer starts an HTTP server whose connections run h (wrapped by ps
// so they leave their topics) and are reported on s.conns once open.
func newServer(t testing.TB, ps *PubSub, cfg *wss.Config) *server {
	t.Helper()
	return newServerIn(t, ps, cfg, wss.ModeAuto)
}

// newServerIn is newServer on a Dispatcher in mode.
func newServerIn(t testing.TB, ps *PubSub, cfg *wss.Config, mode wss.Mode) *server {
	t.Helper()
	s := &server{conns: make(chan *wss.Conn, 16384), ended: make(chan wss.StatusCode, 16384)}
	d, err := wss.NewDispatcher(&wss.DispatcherConfig{Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	h := ps.Handler(wss.HandlerFuncs{
		Open:  func(c *wss.Conn) { s.conns <- c },
		Frame: func(c *wss.Conn, data []byte, typ wss.MessageType) {},
		Close: func(c *wss.Conn, status wss.StatusCode) { s.ended <- status },
	})
	hs := httptest.NewServer(wss.HTTPHandler(d, cfg, func(*wss.Request) (wss.Handler, error) { return h, nil }))
	t.Cleanup(hs.Close)
	s.url = hs.URL
	return s
}

// client wraps a test client.
type client struct{ *wstest.Client }

// dial connects a client and returns it with the server side's Conn.
func (s *server) dial(t testing.TB) (*client, *wss.Conn) {
	t.Helper()
	cl, err := wstest.Dial(s.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	select {
	case c := <-s.conns:
		return &client{cl}, c
	case <-time.After(5 * time.Second):
		t.Fatal("server did not report the connection")
		return nil, nil
	}
}

// readUntilClose reads frames until a close frame and returns its code
// and the data frames before it.
func (c *client) readUntilClose() (data []wstest.Frame, code int, err error) {
	for {
		f, err := c.Read()
		if err != nil {
			return data, 0, err
		}
		if f.Op == wstest.OpClose {
			return data, f.CloseCode(), nil
		}
		data = append(data, f)
	}
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
			f, err := c.Read()
			if err != nil {
				col.done <- err
				return
			}
			if f.Op == wstest.OpClose {
				col.done <- nil
				return
			}
			col.got <- string(f.Payload)
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

// startServer serves h on a loopback port, in mode: through
// Dispatcher.Serve on event loops, through HTTPHandler otherwise.
func startServer(t *testing.T, mode wss.Mode, h wss.Handler) string {
	t.Helper()
	d, err := wss.NewDispatcher(&wss.DispatcherConfig{Mode: mode})
	if err != nil {
		t.Skipf("dispatcher mode not available here: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	newHandler := func(*wss.Request) (wss.Handler, error) { return h, nil }
	served := make(chan struct{})
	if mode == wss.ModeEventLoop {
		go func() { defer close(served); _ = d.Serve(ln, nil, newHandler) }()
	} else {
		hs := &http.Server{Handler: wss.HTTPHandler(d, nil, newHandler)}
		go func() { defer close(served); _ = hs.Serve(ln) }()
		t.Cleanup(func() { hs.Close() })
	}
	t.Cleanup(func() {
		ln.Close()
		d.Close()
		<-served
	})
	return "ws://" + ln.Addr().String() + "/"
}
