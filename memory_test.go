package wss

import (
	"bufio"
	"context"
	"fmt"
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
	ended := map[int]int{} // OnClose statuses of connections that ended
	h := HandlerFuncs{Frame: func(c *Conn, data []byte, text bool) { _ = c.Write(data, text) },
		Close: func(_ *Conn, status int) {
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
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=ws://%s/ %d %s %d", memChildEnv, ln.Addr(), n, mode, size))
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
	if _, err := fmt.Sscan(arg, &url, &n, &mode, &size); err != nil {
		t.Fatal(err)
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
				err = c.Write(msg, true)
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
	ended := map[int]int{}
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
