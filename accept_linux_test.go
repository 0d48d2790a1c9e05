package wss

// Serve's accept on the event loops: what a socket costs before its
// request arrives, and the options it gets.

import (
	"context"
	"net"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// oneLoop returns a Dispatcher with one event loop.
func oneLoop(t *testing.T) *Dispatcher {
	t.Helper()
	checkGoroutines(t)
	d, err := NewDispatcher(&DispatcherConfig{Mode: ModeEventLoop, Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// rawSockets opens n non-blocking TCP sockets, which connect (rawConnect)
// without allocating; they are closed when the test ends.
func rawSockets(t *testing.T, n int) []int {
	t.Helper()
	fds := make([]int, 0, n)
	t.Cleanup(func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	})
	for range n {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		fds = append(fds, fd)
	}
	return fds
}

func rawConnect(t *testing.T, fds []int, to *unix.SockaddrInet4) {
	t.Helper()
	for _, fd := range fds {
		if err := unix.Connect(fd, to); err != nil && err != unix.EINPROGRESS {
			t.Fatal(err)
		}
	}
}

// waitServed waits until d counts n connections: Serve's count from the
// accept, for which no handler is called.
func waitServed(t *testing.T, d *Dispatcher, n int) {
	t.Helper()
	for deadline := time.Now().Add(testTimeout); d.Len() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d connections accepted", d.Len(), n)
		}
	}
}

func loopback(ln net.Listener) *unix.SockaddrInet4 {
	return &unix.SockaddrInet4{Port: ln.Addr().(*net.TCPAddr).Port, Addr: [4]byte{127, 0, 0, 1}}
}

// Connections waiting in the listener's backlog cost the heap their Conns
// and nothing else: Serve takes them with accept4, leaving no net.TCPConn,
// netFD or addresses as garbage, which would raise the heap's peak, and so
// the RSS, of a server taking thousands at once. (Only the first, which
// Serve waits for with net's AcceptTCP, leaves those.)
func TestServe_BacklogAllocations(t *testing.T) {
	const n = 1024
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := oneLoop(t)
	rawConnect(t, rawSockets(t, n), loopback(ln)) // all in the backlog before Serve
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	serveListener(t, d, ln, nil, newEcho)
	waitServed(t, d, n)
	runtime.ReadMemStats(&after)
	per := float64(after.Mallocs-before.Mallocs) / n
	t.Logf("%.3f allocations and %.0f B per accepted connection", per, float64(after.TotalAlloc-before.TotalAlloc)/n)
	if per > 1.1 {
		t.Errorf("%.3f allocations per accepted connection, want at most 1.1 (its Conn, and its share of the tables)", per)
	}
}

// Every socket Serve accepts has the options the net package gives one it
// accepts on that listener: TCP_NODELAY, and keep-alive as the listener's
// ListenConfig says, whether net accepted it or Serve took it from the
// backlog itself.
func TestServe_AcceptedSocketOptions(t *testing.T) {
	const n = 256
	for _, tc := range []struct {
		name      string
		keepAlive time.Duration
		want      [5]int // TCP_NODELAY, SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT
	}{
		{"default", 0, [5]int{1, 1, 15, 15, 9}},
		{"30s", 30 * time.Second, [5]int{1, 1, 30, 15, 9}},
		{"off", -1, [5]int{1, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lc := net.ListenConfig{KeepAlive: tc.keepAlive}
			ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			d := oneLoop(t)
			serveListener(t, d, ln, nil, newEcho)
			rawConnect(t, rawSockets(t, n), loopback(ln))
			waitServed(t, d, n)
			for _, c := range d.loops[0].appendConns(nil) {
				got := socketOptions(t, c.fd.Num(), tc.want[1] == 1)
				if got != tc.want {
					t.Fatalf("socket %d: options %v, want %v", c.fd.Num(), got, tc.want)
				}
			}
		})
	}
}

// socketOptions reads the options TestServe_AcceptedSocketOptions checks;
// the keep-alive timings only if keep-alive is on.
func socketOptions(t *testing.T, fd int32, keepAlive bool) [5]int {
	t.Helper()
	opts := [5][2]int{
		{unix.IPPROTO_TCP, unix.TCP_NODELAY}, {unix.SOL_SOCKET, unix.SO_KEEPALIVE},
		{unix.IPPROTO_TCP, unix.TCP_KEEPIDLE}, {unix.IPPROTO_TCP, unix.TCP_KEEPINTVL}, {unix.IPPROTO_TCP, unix.TCP_KEEPCNT},
	}
	if !keepAlive {
		opts = [5][2]int{opts[0], opts[1]}
	}
	var got [5]int
	for i, o := range opts {
		if o == [2]int{} {
			break
		}
		v, err := unix.GetsockoptInt(int(fd), o[0], o[1])
		if err != nil {
			t.Fatal(err)
		}
		got[i] = v
	}
	return got
}
