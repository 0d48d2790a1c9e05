package wss

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// connListener is a net.Listener whose connections are NetConns the
// WebSocket server opened, so that an http.Server serves HTTP over them.
type connListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}
func (l *connListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *connListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// serveNetConns serves WebSocket upgrades on 127.0.0.1 with d, each
// connection's Handler a NetConn sent on the returned channel. It returns
// the ws:// URL; the server stops when the test ends.
func serveNetConns(t *testing.T, d *Dispatcher, cfg *Config) (string, chan *NetConn) {
	t.Helper()
	conns := make(chan *NetConn, 16)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln = smallBuffers{ln}
	srv := &http.Server{Handler: HTTPHandler(d, cfg, func(*Request) (Handler, error) {
		n := &NetConn{}
		conns <- n
		return n, nil
	})}
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		<-served
		for {
			select {
			case n := <-conns:
				n.Close()
			default:
				return
			}
		}
	})
	return "ws://" + ln.Addr().String() + "/", conns
}

// socketBuffer is the size of the NetConn tests' socket buffers, each
// way, so that the 4 MiB they copy are many times what the kernel holds.
const socketBuffer = 64 << 10

// smallBuffers is a listener whose connections have socketBuffer buffers.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err == nil {
		shrinkBuffers(nc)
	}
	return nc, err
}

// shrinkBuffers sets nc's socket buffers to socketBuffer.
func shrinkBuffers(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(socketBuffer)
		_ = tc.SetWriteBuffer(socketBuffer)
	}
}

// dialNetConn dials url with d through a NetConn, closed when the test
// ends; its socket has socketBuffer buffers.
func dialNetConn(t *testing.T, url string, d *Dispatcher) *NetConn {
	t.Helper()
	n := &NetConn{}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			shrinkBuffers(nc)
		}
		return nc, err
	}
	if _, err := Dial(context.Background(), url, n, &DialOptions{Dispatcher: d, NetDialContext: dial}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// TestNetConnCopiesBothWays sends 4 MiB each way through NetConns at both
// ends with io.Copy, written in one message, or in 32 KiB, 4 KiB or
// 1000-byte ones, and read in 1000-byte pieces, so reads cross message
// boundaries, many times what the sockets hold. Each connection's reader
// must go on reading while a writer waits for the peer, and in goroutine
// mode while its turn holds small
// writes gathered from the other goroutine (gather.go).
func TestNetConnCopiesBothWays(t *testing.T) {
	t.Run("one write", func(t *testing.T) { testNetConnCopiesBothWays(t, 0) })
	for _, size := range []int{32 << 10, 4 << 10, 1000} {
		t.Run(fmt.Sprintf("%d-byte writes", size), func(t *testing.T) { testNetConnCopiesBothWays(t, size) })
	}
}

// onlyReader hides every method of a reader but Read.
type onlyReader struct{ io.Reader }

func testNetConnCopiesBothWays(t *testing.T, size int) {
	forEachModeOf(t, testModes[:3], func(t *testing.T, d *Dispatcher) {
		url, conns := serveNetConns(t, d, nil)
		client := dialNetConn(t, url, d)
		server := <-conns
		up, down := make([]byte, 4<<20), make([]byte, 4<<20)
		rand.Read(up)
		rand.Read(down)
		type result struct {
			got []byte
			err error
		}
		readAll := func(n *NetConn, size int) chan result {
			ch := make(chan result, 1)
			go func() {
				var got bytes.Buffer
				buf := make([]byte, 1000)
				for got.Len() < size {
					k, err := n.Read(buf)
					got.Write(buf[:k])
					if err != nil {
						ch <- result{got.Bytes(), err}
						return
					}
				}
				ch <- result{got.Bytes(), nil}
			}()
			return ch
		}
		atServer, atClient := readAll(server, len(up)), readAll(client, len(down))
		errs := make(chan error, 2)
		copyTo := func(dst *NetConn, data []byte) {
			var src io.Reader = bytes.NewReader(data) // its WriteTo writes all of data at once
			if size > 0 {
				src = onlyReader{src} // CopyBuffer writes size bytes at a time
			}
			_, err := io.CopyBuffer(dst, src, make([]byte, max(size, 1)))
			errs <- err
		}
		go copyTo(client, up)
		go copyTo(server, down)
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			name string
			ch   chan result
			want []byte
		}{{"server", atServer, up}, {"client", atClient, down}} {
			r := <-c.ch
			if r.err != nil || !bytes.Equal(r.got, c.want) {
				t.Fatalf("%s read %d bytes (%v), equal %v; want %d", c.name, len(r.got), r.err, bytes.Equal(r.got, c.want), len(c.want))
			}
		}
		if client.LocalAddr() == nil || client.RemoteAddr().String() != strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/") {
			t.Errorf("client addresses %v %v", client.LocalAddr(), client.RemoteAddr())
		}
		if server.RemoteAddr().String() != client.LocalAddr().String() {
			t.Errorf("server's peer %v, client's local address %v", server.RemoteAddr(), client.LocalAddr())
		}
	})
}

// TestNetConnCarriesHTTP runs an HTTP/1.1 exchange over NetConns: an
// http.Server reads requests from the server's NetConns and an
// http.Transport dials through client NetConns.
func TestNetConnCarriesHTTP(t *testing.T) {
	forEachModeOf(t, testModes[:3], func(t *testing.T, d *Dispatcher) {
		url, conns := serveNetConns(t, d, nil)
		ln := &connListener{conns: make(chan net.Conn), done: make(chan struct{})}
		go func() {
			for {
				select {
				case n := <-conns:
					select {
					case ln.conns <- n:
					case <-ln.done:
						n.Close()
						return
					}
				case <-ln.done:
					return
				}
			}
		}()
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("X-Method", r.Method)
			_, _ = w.Write(append([]byte("got "), body...))
		})}
		served := make(chan struct{})
		go func() { defer close(served); _ = srv.Serve(ln) }()
		tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			n := &NetConn{}
			if _, err := Dial(ctx, url, n, &DialOptions{Dispatcher: d}); err != nil {
				return nil, err
			}
			return n, nil
		}}
		defer func() { tr.CloseIdleConnections(); srv.Close(); <-served }()
		client := &http.Client{Transport: tr}
		for i := range 3 { // the second and third reuse the connection
			resp, err := client.Post("http://tunnel/x", "text/plain", strings.NewReader(strings.Repeat("x", i*100000)))
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || string(body) != "got "+strings.Repeat("x", i*100000) || resp.Header.Get("X-Method") != "POST" {
				t.Fatalf("response %d: %d bytes, %v, %q", i, len(body), err, resp.Header)
			}
		}
	})
}

// TestNetConnReadDeadline checks that an expired read deadline fails Read
// with os.ErrDeadlineExceeded, also a Read blocked before it was set,
// and that a later deadline lets Read go on.
func TestNetConnReadDeadline(t *testing.T) {
	forEachModeOf(t, testModes[:3], func(t *testing.T, d *Dispatcher) {
		url, conns := serveNetConns(t, d, nil)
		client := dialNetConn(t, url, d)
		server := <-conns
		_ = client.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		buf := make([]byte, 10)
		if _, err := client.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) || !isTimeout(err) {
			t.Fatalf("Read after the deadline: %v; want a timeout wrapping os.ErrDeadlineExceeded", err)
		}
		_ = client.SetReadDeadline(time.Time{})
		blocked := make(chan error, 1)
		go func() { _, err := client.Read(buf); blocked <- err }()
		_ = client.SetReadDeadline(time.Now().Add(-time.Second)) // wakes the blocked Read
		if err := <-blocked; !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("blocked Read: %v; want os.ErrDeadlineExceeded", err)
		}
		_ = client.SetReadDeadline(time.Now().Add(testTimeout))
		if _, err := server.Write([]byte("after")); err != nil {
			t.Fatal(err)
		}
		if k, err := client.Read(buf); err != nil || string(buf[:k]) != "after" {
			t.Fatalf("Read = %q, %v", buf[:k], err)
		}
	})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestNetConnWriteDeadline checks that a Write blocked on a peer that
// reads nothing fails once its deadline passes, and drops the
// connection; and that a full queue of that peer holds only its own
// connection: another NetConn on the same dispatchers still echoes.
func TestNetConnWriteDeadline(t *testing.T) {
	forEachModeOf(t, testModes[:3], func(t *testing.T, d *Dispatcher) {
		url, conns := serveNetConns(t, d, nil)
		stuck := dialNetConn(t, url, d)
		<-conns // never read: its queue fills, then its socket
		other := dialNetConn(t, url, d)
		otherServer := <-conns

		_ = stuck.SetWriteDeadline(time.Now().Add(-time.Second))
		if _, err := stuck.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Write after the deadline: %v", err)
		}
		_ = stuck.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
		msg := make([]byte, 1<<20)
		var err error
		for i := 0; err == nil && i < 256; i++ {
			_, err = stuck.Write(msg)
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) || !isTimeout(err) {
			t.Fatalf("Write to a peer that reads nothing: %v; want os.ErrDeadlineExceeded", err)
		}
		if _, err := stuck.Read(make([]byte, 1)); err == nil || errors.Is(err, io.EOF) {
			t.Fatalf("Read after a write timeout: %v; want the dropped connection's error", err)
		}

		go func() { _, _ = io.Copy(otherServer, otherServer) }()
		_ = other.SetDeadline(time.Now().Add(testTimeout))
		if _, err := other.Write([]byte("still served")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		if k, err := io.ReadAtLeast(other, buf, len("still served")); err != nil || string(buf[:k]) != "still served" {
			t.Fatalf("other connection: %q, %v", buf[:k], err)
		}
	})
}

// TestNetConnClose checks that Close sends a close frame with 1000, that
// the peer's Read then returns io.EOF, and that Read and Write after
// Close fail with net.ErrClosed.
func TestNetConnClose(t *testing.T) {
	forEachModeOf(t, testModes[:3], func(t *testing.T, d *Dispatcher) {
		url, conns := serveNetConns(t, d, nil)
		client := dialNetConn(t, url, d)
		server := <-conns
		if _, err := client.Write([]byte("last")); err != nil {
			t.Fatal(err)
		}
		if err := client.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(bufio.NewReader(server))
		if err != nil || string(got) != "last" {
			t.Fatalf("server read %q, %v; want \"last\" then io.EOF", got, err)
		}
		if status, _ := server.in.Status(); status != StatusNormalClosure {
			t.Errorf("server's OnClose status %d, want 1000", status)
		}
		if _, err := client.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Read after Close: %v", err)
		}
		if _, err := client.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Write after Close: %v", err)
		}
		if err := client.Close(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("second Close: %v", err)
		}
	})
}
