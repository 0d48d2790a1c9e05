// Package interop tests wss against independent WebSocket implementations
// over real sockets: gorilla/websocket and coder/websocket in process,
// Node's ws, python3-websockets and Chromium as child processes. It is a
// module of its own so that the library's module requires none of them;
// it uses only wss's exported API.
package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wssgo/wss"
)

// testTimeout bounds every wait, so that a bug shows up as a failure
// rather than a hung test.
const testTimeout = 10 * time.Second

// serverMode is a dispatcher mode a test server runs in, and whether its
// handshakes go through Dispatcher.Serve instead of net/http.
type serverMode struct {
	name     string
	cfg      wss.DispatcherConfig
	viaServe bool
}

// serverModes are the modes the server-side interop tests run under.
var serverModes = []serverMode{
	{"goroutine", wss.DispatcherConfig{Mode: wss.ModeGoroutine}, false},
	{"eventloop", wss.DispatcherConfig{Mode: wss.ModeEventLoop, Loops: 2}, false},
	{"eventloop-offloop", wss.DispatcherConfig{Mode: wss.ModeEventLoop, Loops: 2, OffLoop: true}, false},
	{"eventloop-serve", wss.DispatcherConfig{Mode: wss.ModeEventLoop, Loops: 2}, true},
}

// clientModes are the dispatcher modes a Dial client runs in.
var clientModes = []serverMode{
	{"eventloop", wss.DispatcherConfig{Mode: wss.ModeEventLoop, Loops: 1}, false},
	{"goroutine", wss.DispatcherConfig{Mode: wss.ModeGoroutine}, false},
}

// forEachMode runs f once per mode, each as a subtest with a dispatcher of
// its own (skipping a mode NewDispatcher refuses on this system), and
// checks that no goroutine outlives the subtest.
func forEachMode(t *testing.T, modes []serverMode, f func(t *testing.T, m serverMode, d *wss.Dispatcher)) {
	t.Helper()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			checkGoroutines(t)
			d, err := wss.NewDispatcher(&m.cfg)
			if err != nil {
				t.Skipf("dispatcher mode %s not available here: %v", m.name, err)
			}
			t.Cleanup(func() {
				if err := d.Close(); err != nil && !errors.Is(err, wss.ErrShutdown) {
					t.Errorf("dispatcher close: %v", err)
				}
			})
			f(t, m, d)
		})
	}
}

// checkGoroutines fails the test if it ends (after its other cleanups)
// with more goroutines than it started with, once a bounded wait for them
// to return has passed: goroutine exits have no event to wait on.
func checkGoroutines(t *testing.T) {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(testTimeout)
		for runtime.NumGoroutine() > base {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("%d goroutine(s) still running after the test:\n%s",
					runtime.NumGoroutine()-base, buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// testServer is a wss server on 127.0.0.1:0 whose connections each run a
// recorder; it stops when the test ends, after checking that every
// connection's OnClose was called exactly once.
type testServer struct {
	addr     string
	accepted chan *recorder // in the order the connections opened

	mu   sync.Mutex
	recs []*recorder
}

// recorder is one server connection's Handler: onFrame answers messages,
// and OnClose's calls and status are kept.
type recorder struct {
	onFrame func(c *wss.Conn, data []byte, text bool)
	s       *testServer
	ncalls  atomic.Int32
	status  atomic.Int32
	closed  chan struct{}
}

func (r *recorder) OnOpen(*wss.Conn) {
	r.s.mu.Lock()
	r.s.recs = append(r.s.recs, r)
	r.s.mu.Unlock()
	r.s.accepted <- r
}

func (r *recorder) OnFrame(c *wss.Conn, data []byte, text bool) { r.onFrame(c, data, text) }

func (r *recorder) OnClose(_ *wss.Conn, status int) {
	if r.ncalls.Add(1) == 1 {
		r.status.Store(int32(status))
		close(r.closed)
	}
}

// wantClose waits for OnClose and checks its status.
func (r *recorder) wantClose(t *testing.T, want int) {
	t.Helper()
	select {
	case <-r.closed:
		if got := int(r.status.Load()); got != want {
			t.Errorf("OnClose status = %d, want %d", got, want)
		}
	case <-time.After(testTimeout):
		t.Fatalf("OnClose not called within %v", testTimeout)
	}
}

// startServer serves connections on d with a recorder each, through
// Dispatcher.Serve when m says so and HTTPHandler otherwise.
func startServer(t *testing.T, m serverMode, d *wss.Dispatcher, onFrame func(c *wss.Conn, data []byte, text bool)) *testServer {
	t.Helper()
	s := &testServer{accepted: make(chan *recorder, 64)}
	newRecorder := func() wss.Handler { return &recorder{onFrame: onFrame, s: s, closed: make(chan struct{})} }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	srv := &http.Server{Handler: wss.HTTPHandler(d, nil, func(*wss.Request) (wss.Handler, error) { return newRecorder(), nil })}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if m.viaServe {
			_ = d.Serve(ln, nil, func(*wss.Request) (wss.Handler, error) { return newRecorder(), nil })
		} else {
			_ = srv.Serve(ln)
		}
	}()
	t.Cleanup(func() {
		s.checkRecorders(t)
		srv.Close()
		ln.Close()
		<-served
	})
	return s
}

// next returns the next connection the server accepted.
func (s *testServer) next(t *testing.T) *recorder {
	t.Helper()
	select {
	case r := <-s.accepted:
		return r
	case <-time.After(testTimeout):
		t.Fatalf("no connection accepted within %v", testTimeout)
		return nil
	}
}

func (s *testServer) checkRecorders(t *testing.T) {
	s.mu.Lock()
	recs := s.recs
	s.mu.Unlock()
	for _, r := range recs {
		select {
		case <-r.closed:
		case <-time.After(testTimeout):
			t.Errorf("a connection's OnClose was not called within %v", testTimeout)
		}
		if n := r.ncalls.Load(); n > 1 {
			t.Errorf("OnClose called %d times, want once", n)
		}
	}
}

// echoHandler writes every message back.
var echoHandler = wss.HandlerFuncs{Frame: func(c *wss.Conn, data []byte, text bool) { _ = c.Write(data, text) }}

// echoServer serves cfg's connections with echoHandler under net/http.
func echoServer(t testing.TB, cfg *wss.Config) *httptest.Server {
	t.Helper()
	d, err := wss.NewDispatcher(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() }) // after srv.Close: cleanups run last first
	srv := httptest.NewServer(wss.HTTPHandler(d, cfg, func(*wss.Request) (wss.Handler, error) { return echoHandler, nil }))
	t.Cleanup(srv.Close)
	return srv
}

func wsURL(srv *httptest.Server) string { return "ws" + strings.TrimPrefix(srv.URL, "http") }

// requireTool skips the test (fails it under CI=true, which
// scripts/test.sh sets) when what is missing is not installed.
func requireTool(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("%s is not installed (%v); ./scripts/test.sh installs it", what, err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// needPeer is requireTool for a peer installed at path.
func needPeer(t *testing.T, path string) {
	t.Helper()
	_, err := os.Stat(path)
	requireTool(t, "interop peer "+path, err)
}

// payloadOf returns n bytes of a recognizable pattern; valid UTF-8 when
// text.
func payloadOf(n int, text bool) []byte {
	p := make([]byte, n)
	for i := range p {
		if text {
			p[i] = 'a' + byte(i%26)
		} else {
			p[i] = byte(i*31 + i>>8)
		}
	}
	return p
}

// testMessages are messages that compress, refer to each other, and
// cross window sizes.
func testMessages() []wss.Message {
	var msgs []wss.Message
	phrase := []byte("the quick brown fox jumps over the lazy dog; ")
	for i, n := range []int{0, 1, 50, 300, 700, 5000, 40_000, 200_000} {
		b := make([]byte, n)
		for j := range b {
			b[j] = phrase[(j*7+i)%len(phrase)]
		}
		if i%3 == 2 { // some incompressible bytes
			for j := 0; j < n; j += 13 {
				b[j] = byte(j*31 + i)
			}
			msgs = append(msgs, wss.Message{Data: b})
			continue
		}
		msgs = append(msgs, wss.Message{Data: b, Text: true}, wss.Message{Data: b, Text: true})
	}
	return msgs
}

// wantMessage reads the client's next message and checks it.
func wantMessage(t *testing.T, in *wss.Inbox, want wss.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	m, err := in.Read(ctx)
	if err != nil || m.Text != want.Text || !bytes.Equal(m.Data, want.Data) {
		t.Fatalf("client got %q (text %v), %v; want %q (text %v)", m.Data, m.Text, err, want.Data, want.Text)
	}
}
