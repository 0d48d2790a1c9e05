package wss

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wssgo/wss/internal/frame"
)

// Memory per idle connection with compression negotiated. It is a
// measurement, not a unit test: it runs only when WSS_MEM_CONNS is set,
// e.g.
//
//	WSS_MEM_CONNS=10000 go test -run TestMemoryPerIdleConnection -v
//
// WSS_MEM_MODES picks modes (default "off,no-takeover,takeover"; add
// "takeover-15" for 15-bit client windows), WSS_MEM_PROFILE=path writes
// the heap profile at the idle point to path.<mode>, and
// WSS_MEM_DISPATCHER=goroutine measures goroutine mode instead of the
// default Dispatcher. The clients run in a
// child process (this test binary again), since one process cannot hold
// both ends of 10,000 connections. Each client sends one compressible
// 40 kB message and reads its compressed echo, so both directions have
// been used and every window is full (40 kB fill 15-bit windows); then
// the connections idle.

const memModeEnv, memChildEnv = "WSS_MEM_CONNS", "WSS_MEM_CHILD"

var memModes = map[string]*CompressionConfig{
	"off":         nil,
	"no-takeover": {ServerNoContextTakeover: true, ClientNoContextTakeover: true},
	// takeover answers the client's bare client_max_window_bits (a
	// browser's offer) with the default window.
	"takeover": {},
	// takeover-15 keeps the client's 15-bit window, as with a peer that
	// offers no client_max_window_bits.
	"takeover-15": {ClientMaxWindowBits: 15},
}

func TestMemoryPerIdleConnection(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv(memModeEnv))
	if n == 0 {
		t.Skip("set " + memModeEnv + " to measure")
	}
	modes := "off,no-takeover,takeover"
	if m := os.Getenv("WSS_MEM_MODES"); m != "" {
		modes = m
	}
	for mode := range strings.SplitSeq(modes, ",") {
		heap, rss := measureIdle(t, n, mode, 40_000)
		t.Logf("%-12s %d connections: heap+stacks %6.1f KiB/conn, RSS %6.1f KiB/conn",
			mode, n, float64(heap)/1024/float64(n), float64(rss)/1024/float64(n))
	}
}

// measureIdle serves n idle connections in mode, each of which sent one
// size-byte message, and returns the growth of heap and stacks, and of
// RSS, over the server alone.
func measureIdle(t *testing.T, n int, mode string, size int) (heap, rss int64) {
	return measureIdleWith(t, n, mode, size, false)
}

// measureIdleWith is measureIdle, with raw clients when raw is set: the
// child then sends one precomputed compressed frame on each connection
// after the same handshake, instead of running a wss client, which under
// the race detector costs more than the server being measured. The server
// sees the same offer, message and echo.
func measureIdleWith(t *testing.T, n int, mode string, size int, raw bool) (heap, rss int64) {
	var dcfg DispatcherConfig
	if os.Getenv("WSS_MEM_DISPATCHER") == "goroutine" {
		dcfg.Mode = ModeGoroutine
	}
	d, err := NewDispatcher(&dcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var mu sync.Mutex
	var conns []*Conn
	ended := map[StatusCode]int{} // OnClose statuses of connections that ended
	h := HandlerFuncs{Frame: func(c *Conn, data []byte, typ MessageType) { _ = c.Write(data, typ) },
		Close: func(_ *Conn, status StatusCode) {
			mu.Lock()
			ended[status]++
			mu.Unlock()
		}}
	cfg := &Config{Compression: memModes[mode]}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := upgradeFor(w, r, h, d, cfg); err == nil {
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()

	heap0, rss0 := memNow()
	cmd := exec.Command(os.Args[0], "-test.run=^TestMemoryClientChild$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=ws://%s/ %d %s %d %v", memChildEnv, ln.Addr(), n, mode, size, raw))
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("clients: %q %v", line, err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		mu.Lock()
		got := len(conns)
		mu.Unlock()
		if got == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d connections upgraded", got, n)
		}
	}
	mu.Lock()
	early := fmt.Sprint(ended)
	mu.Unlock()
	if early != "map[]" {
		t.Fatalf("connections ended before the idle check, by OnClose status: %s", early)
	}
	checkIdle(t, &mu, conns, mode)
	heap1, rss1 := memNow()
	if f := os.Getenv("WSS_MEM_PROFILE"); f != "" {
		writeHeapProfile(t, f+"."+mode)
	}
	if got := d.Len(); got != n {
		t.Errorf("%d connections served, want %d", got, n)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); d.Len() > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open", d.Len())
		}
	}
	return int64(heap1 - heap0), rss1 - rss0
}

// checkIdle checks what idle connections keep: nothing without context
// takeover; with it, the peer's window and our context, each within its
// bound.
func checkIdle(t *testing.T, mu *sync.Mutex, conns []*Conn, mode string) {
	mu.Lock()
	defer mu.Unlock()
	for _, c := range conns {
		checkIdleConn(t, c, mode)
	}
}

// checkIdleConn checks one idle connection under its write lock: sent is
// written under it, the window by the reading goroutine before the echo's
// write took it, and release (when the connection ends) under it too.
func checkIdleConn(t *testing.T, c *Conn, mode string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	d := c.dfl()
	switch {
	case mode == "off" && d != nil, mode != "off" && d == nil:
		t.Fatalf("%s: compression state %v", mode, d)
	case mode == "no-takeover" && (d.window != nil || d.sent != nil):
		t.Fatal("no-takeover connection holds a window")
	case strings.HasPrefix(mode, "takeover") && (len(d.window) == 0 || cap(d.window) > 1<<d.recvBits || cap(d.sent) > d.sendContext):
		t.Fatalf("takeover connection holds %d bytes of window (bits %d), %d of context", cap(d.window), d.recvBits, cap(d.sent))
	}
}

// writeHeapProfile writes the live heap to path (WSS_MEM_PROFILE).
func writeHeapProfile(t *testing.T, path string) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		t.Fatal(err)
	}
}

// memNow returns heap and stack bytes in use after a full GC, and RSS.
func memNow() (uint64, int64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var rss int64
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		f := strings.Fields(string(b))
		pages, _ := strconv.ParseInt(f[1], 10, 64)
		rss = pages * int64(os.Getpagesize())
	}
	return ms.HeapInuse + ms.StackInuse, rss
}

// TestMemoryClientChild is the client side of TestMemoryPerIdleConnection.
func TestMemoryClientChild(t *testing.T) {
	arg := os.Getenv(memChildEnv)
	if arg == "" {
		t.Skip("run by TestMemoryPerIdleConnection")
	}
	var url, mode string
	var n, size int
	var raw bool
	if _, err := fmt.Sscan(arg, &url, &n, &mode, &size, &raw); err != nil {
		t.Fatal(err)
	}
	if raw {
		rawMemoryClients(t, strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/"), n, mode, size)
		return
	}
	var cc *CompressionConfig
	if memModes[mode] != nil {
		cc = &CompressionConfig{ServerNoContextTakeover: mode == "no-takeover", ClientNoContextTakeover: mode == "no-takeover"}
	}
	msg := jsonLike(size)
	sem := make(chan struct{}, 64)
	errs := make(chan error, n)
	inboxes := make(chan *Inbox, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			in := NewInbox(1)
			inboxes <- in
			c, err := Dial(ctx, url, in, &DialOptions{Config: &Config{Compression: cc}})
			if err == nil {
				err = c.Write(msg, Text)
			}
			if err == nil {
				_, err = in.Read(ctx)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println("ready")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes stdin
	close(inboxes)
	ended := map[StatusCode]int{}
	for in := range inboxes {
		if status, ok := in.Status(); ok {
			ended[status]++
		}
	}
	if len(ended) > 0 {
		// stdout is no longer read: say it where the parent shows it.
		fmt.Fprintf(os.Stderr, "clients: connections ended while idle, by OnClose status: %v\n", ended)
		t.Fatal("connections ended while idle")
	}
}

// rawMemoryClients is TestMemoryClientChild with raw sockets: each client
// offers what a browser does (or no context takeover in mode
// no-takeover), sends one compressed text message (the same precomputed
// frame on every connection: a first message refers to nothing before
// it) and reads the server's compressed echo.
func rawMemoryClients(t *testing.T, addr string, n int, mode string, size int) {
	offer := "permessage-deflate; client_max_window_bits"
	if mode == "no-takeover" {
		offer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
	}
	// A 12-bit window, within what the server answers by default.
	d := &deflate{level: 1, sendBits: defaultClientMaxWindowBits}
	buf := getBuf(size)
	payload, err := d.compress(&buf, jsonLike(size))
	if err != nil {
		t.Fatal(err)
	}
	var hdr [frame.MaxHeaderLen]byte
	const key = 0x01020304
	msg := append(hdr[:frame.PutHeader(hdr[:], true, frame.Rsv1, opText, len(payload), true, key)], payload...)
	frame.Mask(key, msg[len(msg)-len(payload):])
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Extensions: " + offer + "\r\n\r\n"
	conns := make([]net.Conn, n)
	sem := make(chan struct{}, 64)
	errs := make(chan error, n)
	for i := range conns {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			var err error
			conns[i], err = rawExchange(addr, req, msg)
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println("ready")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes stdin
	// A connection still open has nothing to read: its read times out.
	ended := make(chan error, n)
	for _, c := range conns {
		go func() {
			c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			_, err := c.Read(make([]byte, 1))
			if errors.Is(err, os.ErrDeadlineExceeded) {
				err = nil
			} else if err == nil {
				err = errors.New("unexpected bytes")
			}
			ended <- err
			c.Close()
		}()
	}
	closed := 0
	for range n {
		if <-ended != nil {
			closed++
		}
	}
	if closed > 0 {
		fmt.Fprintf(os.Stderr, "clients: %d connections ended while idle\n", closed)
		t.Fatal("connections ended while idle")
	}
}

// rawExchange opens a connection with the upgrade request req, sends the
// frame msg and reads one compressed text frame back.
func rawExchange(addr, req string, msg []byte) (net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	if _, err = io.WriteString(c, req); err == nil {
		var resp *http.Response
		if resp, err = http.ReadResponse(br, nil); err == nil && resp.StatusCode != http.StatusSwitchingProtocols {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
	}
	if err == nil {
		_, err = c.Write(msg)
	}
	var h [10]byte
	if err == nil {
		_, err = io.ReadFull(br, h[:2])
	}
	if err == nil && h[0] != 0xc1 {
		err = fmt.Errorf("echo frame starts %#x, want a compressed text message", h[0])
	}
	if err == nil {
		n := int64(h[1] & 0x7f)
		switch n {
		case 126:
			_, err = io.ReadFull(br, h[:2])
			n = int64(binary.BigEndian.Uint16(h[:2]))
		case 127:
			_, err = io.ReadFull(br, h[:8])
			n = int64(binary.BigEndian.Uint64(h[:8]))
		}
		if err == nil {
			_, err = io.CopyN(io.Discard, br, n)
		}
	}
	if err == nil && br.Buffered() > 0 {
		err = errors.New("bytes after the echo")
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("raw client: %w", err)
	}
	c.SetDeadline(time.Time{})
	return c, nil
}
