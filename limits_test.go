package wss

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wssgo/wss/internal/frame"
)

// getStatus sends an upgrade request and returns the HTTP status answered.
func getStatus(t *testing.T, addr, extraHeader string) int {
	t.Helper()
	c := dialRaw(t, addr)
	defer c.nc.Close()
	name, value, _ := strings.Cut(extraHeader, ": ")
	c.write(validRequest(addr).add(name, value).bytes())
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Beyond MaxConnections a request is answered 503 without an upgrade; a
// slot frees when a connection ends.
func TestMaxConnectionsAnswers503(t *testing.T) {
	for _, m := range dispatcherModes() {
		t.Run(m.name, func(t *testing.T) {
			log := newCloseLog()
			dc := m.cfg
			dc.MaxConnections = 2
			ts := startHardServer(t, &dc, &Config{PingInterval: -1}, log)
			p1 := dialRaw(t, ts.addr).connect(randomKey())
			dialRaw(t, ts.addr).connect(randomKey())
			<-log.onOpen
			<-log.onOpen
			// The third is refused at its accept, before it counts: once
			// its answer and its end arrive, Len has never moved.
			c := dialRaw(t, ts.addr)
			c.write(validRequest(ts.addr).bytes())
			resp := readResponse(t, c)
			if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
				t.Fatalf("third connection answered %d with Retry-After %q, want 503 and 1",
					resp.StatusCode, resp.Header.Get("Retry-After"))
			}
			io.Copy(io.Discard, resp.Body)
			if n, err := c.br.Read(make([]byte, 1)); n != 0 || err == nil {
				t.Fatalf("after the 503: %d bytes, %v; want the end of the connection", n, err)
			}
			c.nc.Close()
			if ts.d.Len() != 2 {
				t.Fatalf("Len = %d, want 2", ts.d.Len())
			}
			p1.send(closeFin, closePayload(StatusNormalClosure, ""))
			if s := log.wait(t); s != StatusNormalClosure {
				t.Fatalf("OnClose %d", s)
			}
			dialRaw(t, ts.addr).connect(randomKey()) // the freed slot
			if s := getStatus(t, ts.addr, "X-N: 4"); s != http.StatusServiceUnavailable {
				t.Fatalf("answered %d, want 503", s)
			}
		})
	}
}

// Connect, for servers that upgrade by other means, enforces the limit too:
// beyond it the peer gets 1013 (try again later), after Shutdown 1001.
func TestMaxConnectionsConnect(t *testing.T) {
	checkGoroutines(t)
	d, _ := NewDispatcher(&DispatcherConfig{MaxConnections: 1})
	defer d.Shutdown(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// tcpPair returns the server and client ends of a loopback connection.
	tcpPair := func() (net.Conn, net.Conn) {
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		server, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		return server, client
	}
	log := newCloseLog()
	s1, c1 := tcpPair()
	defer c1.Close()
	if err := newConn(log, d, nil).connect(s1); err != nil {
		t.Fatal(err)
	}
	s2, c2 := tcpPair()
	defer c2.Close()
	if err := newConn(log, d, nil).connect(s2); !errors.Is(err, ErrTooManyConnections) {
		t.Fatalf("Connect beyond the limit: %v, want ErrTooManyConnections", err)
	}
	newRawClient(t, c2, nil).expectFail(StatusTryAgainLater)
	c1.Close()
	if s := log.wait(t); s != StatusConnLost {
		t.Fatalf("OnClose %d", s)
	}
	// After Shutdown, Connect refuses with 1001.
	if err := d.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	s3, c3 := tcpPair()
	defer c3.Close()
	if err := newConn(log, d, nil).connect(s3); !errors.Is(err, ErrShutdown) {
		t.Fatalf("Connect after Shutdown: %v, want ErrShutdown", err)
	}
	newRawClient(t, c3, nil).expectFail(StatusGoingAway)
}

// A request header larger than MaxHeaderBytes is answered 431, whether
// net/http or the handshake sees it first.
func TestMaxHeaderBytesAnswers431(t *testing.T) {
	ts := startHardServer(t, nil, &Config{MaxHeaderBytes: 1024}, newCloseLog())
	for _, size := range []int{1500, 8000} {
		if s := getStatus(t, ts.addr, "X-Big: "+strings.Repeat("a", size)); s != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("header of %d bytes answered %d, want 431", size, s)
		}
	}
	if s := getStatus(t, ts.addr, "X-Small: a"); s != http.StatusSwitchingProtocols {
		t.Errorf("small header answered %d", s)
	}
}

// A message in more than MaxFramesPerMessage frames is closed with 1009,
// as soon as the frame over the limit starts; one at the limit passes.
func TestMaxFramesPerMessage(t *testing.T) {
	for _, tc := range []struct {
		frames int
		want   int // close code, 0 for the message echoed
	}{
		{4, 0},
		{5, StatusMessageTooBig},
		{1000, StatusMessageTooBig},
	} {
		t.Run(fmt.Sprint(tc.frames), func(t *testing.T) {
			log := newCloseLog()
			log.onFrame = func(c *Conn, data []byte, text bool) { c.Write(data, text) }
			ts := startHardServer(t, nil, &Config{MaxFramesPerMessage: 4, PingInterval: -1}, log)
			p := dialRaw(t, ts.addr).connect(randomKey())
			var b []byte
			b = append(b, clientFrame(textFrag, []byte("a"))...)
			for i := 1; i < tc.frames-1; i++ {
				b = append(b, clientFrame(contFrag, nil)...)
			}
			b = append(b, clientFrame(contFin, []byte("z"))...)
			p.write(b)
			f := p.readFrame()
			if tc.want == 0 {
				if f.op != opText || string(f.payload) != "az" {
					t.Fatalf("got op %d %q, want the text az", f.op, f.payload)
				}
				return
			}
			if f.op != opClose || string(f.payload) != string(closePayload(tc.want, "")) {
				t.Fatalf("got op %d %x, want close %d", f.op, f.payload, tc.want)
			}
			p.send(closeFin, closePayload(tc.want, ""))
			p.nc.Close()
			if s := log.wait(t); s != StatusTooBig {
				t.Fatalf("OnClose %d, want StatusTooBig", s)
			}
		})
	}
}

// serverMemory returns the live heap after a collection, and the
// process's resident set size.
func serverMemory(t *testing.T) (heap, rss uint64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	status, err := os.ReadFile("/proc/self/status")
	if err == nil {
		for line := range strings.Lines(string(status)) {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				rss = kb << 10
			}
		}
	}
	return ms.HeapAlloc, rss
}

// 1,000 connections each send the header of a maximum-size frame and then
// nothing: the server allocates nothing for the announced payload, so its
// memory grows by a small bound per connection, not by what was announced.
// The peers run in a process of their own so that only the server's
// memory is measured.
func TestMemoryBoundedUnderMaxSizeFrameHeaders(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 connections")
	}
	const conns = 1000
	for _, m := range dispatcherModes() {
		t.Run(m.name, func(t *testing.T) {
			cfg := &Config{PingInterval: -1}
			ts := startHardServer(t, modeConfig(m.cfg), cfg, newCloseLog())
			heap0, rss0 := serverMemory(t)
			stop := startFloodProcess(t, ts.addr, conns, int(cfg.maxMessageSize()))
			for range conns {
				<-ts.log.onOpen
			}
			heap1, rss1 := serverMemory(t)
			perConn := (int64(heap1) - int64(heap0)) / conns
			t.Logf("%s: %d connections, each sent the header of a %d MiB frame: heap %d KiB -> %d KiB (%+d B per connection), RSS %d KiB -> %d KiB (%+d B per connection)",
				m.name, conns, cfg.maxMessageSize()>>20, heap0>>10, heap1>>10, perConn,
				rss0>>10, rss1>>10, (int64(rss1)-int64(rss0))/conns)
			// The bound: a receive buffer and a message buffer's start per
			// connection, and room for the Conn and its socket.
			bound := int64(readBufSize + cfg.startSize() + 8<<10)
			if perConn > bound {
				t.Errorf("heap grew %d B per connection, over the bound %d", perConn, bound)
			}
			stop()
			for range conns {
				ts.log.wait(t)
			}
		})
	}
}

// startFloodProcess runs this test binary as a peer process that opens n
// connections to addr and sends on each the header of a frame of size
// bytes. It returns once all are sent (and the server has answered each
// handshake); the returned func ends the process.
func startFloodProcess(t *testing.T, addr string, n, size int) (stop func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFloodPeerProcess$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("WSS_FLOOD=%s,%d,%d", addr, n, size))
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("flood process: %q %v", line, err)
	}
	return func() {
		in.Close()
		cmd.Wait()
	}
}

// TestFloodPeerProcess is the peer process of startFloodProcess; it does
// nothing in a normal test run.
func TestFloodPeerProcess(t *testing.T) {
	spec := os.Getenv("WSS_FLOOD")
	if spec == "" {
		t.Skip("run by startFloodProcess")
	}
	var addr string
	var n, size int
	if _, err := fmt.Sscanf(strings.ReplaceAll(spec, ",", " "), "%s %d %d", &addr, &n, &size); err != nil {
		t.Fatal(err)
	}
	hdr := make([]byte, frame.MaxHeaderLen)
	hl := frame.PutHeader(hdr, true, 0, opBinary, size, true, 0x01020304)
	peers := make([]*rawClient, n)
	for i := range peers {
		peers[i] = dialRaw(t, addr).connect(randomKey())
		if _, err := peers[i].nc.Write(hdr[:hl]); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
}

// HTTPHandler refuses the excess before asking for a Handler.
func TestHTTPHandlerRefusesBeforeNewHandler(t *testing.T) {
	checkGoroutines(t)
	d, _ := NewDispatcher(&DispatcherConfig{MaxConnections: 1})
	defer d.Shutdown(context.Background())
	log := newCloseLog()
	var asked atomic.Int32
	h := HTTPHandler(d, &Config{PingInterval: -1}, func(*Request) (Handler, error) {
		asked.Add(1)
		return log, nil
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer("", h, nil)
	go srv.Serve(ln)
	defer srv.Close()
	p := dialRaw(t, ln.Addr().String()).connect(randomKey())
	if s := getStatus(t, ln.Addr().String(), "X-N: 2"); s != http.StatusServiceUnavailable {
		t.Fatalf("answered %d, want 503", s)
	}
	p.nc.Close()
	log.wait(t)
	if n := asked.Load(); n != 1 {
		t.Fatalf("newHandler called %d times, want 1", n)
	}
}
