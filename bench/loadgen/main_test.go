package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fragmentingEcho is an echo server whose answers come in 1 KiB frames
// (gorilla sends a frame per write buffer), so that the generator's parser
// meets continuation frames and headers split across reads.
func fragmentingEcho(t *testing.T) (addr string, closeAll func()) {
	up := websocket.Upgrader{WriteBufferSize: 1024}
	var mu sync.Mutex
	var conns []*websocket.Conn
	var closed bool // closeAll ran: a handler still registering closes its own
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		// The client may see the 101 and call closeAll before this runs.
		mu.Lock()
		if closed {
			c.Close()
		}
		conns = append(conns, c)
		mu.Unlock()
		for {
			op, rd, err := c.NextReader()
			if err != nil {
				return
			}
			wr, err := c.NextWriter(op)
			if err != nil {
				return
			}
			if _, err := io.Copy(wr, rd); err != nil || wr.Close() != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), func() {
		mu.Lock()
		defer mu.Unlock()
		closed = true
		for _, c := range conns {
			c.Close()
		}
	}
}

func testConfig(addr string, conns, size int) config {
	return config{addr: addr, path: "/", conns: conns, size: size, src: "127.0.0.2", perSrc: 2,
		setupTimeout: 10 * time.Second}
}

// startGen makes a generator and opens its connections.
func startGen(t *testing.T, cfg config) *gen {
	t.Helper()
	g, err := newGen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.setup(); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestEcho(t *testing.T) {
	addr, _ := fragmentingEcho(t)
	for _, size := range []int{0, 100, 70_000} {
		for _, text := range []bool{false, true} {
			cfg := testConfig(addr, 5, size)
			cfg.text = text
			g := startGen(t, cfg)
			g.counting = true
			if err := g.runFor(200 * time.Millisecond); err != nil {
				t.Fatalf("size %d, text %v: %v", size, text, err)
			}
			if g.msgs == 0 || g.hist.total != g.msgs {
				t.Errorf("size %d, text %v: %d messages, %d latencies", size, text, g.msgs, g.hist.total)
			}
		}
	}
}

func TestIdleDropped(t *testing.T) {
	addr, closeAll := fragmentingEcho(t)
	cfg := testConfig(addr, 7, 0)
	cfg.idle = true
	g := startGen(t, cfg)
	if n := g.dropped(); n != 0 {
		t.Fatalf("%d dropped before the server closed anything", n)
	}
	closeAll()
	deadline := time.Now().Add(5 * time.Second)
	for g.dropped() != 7 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := g.dropped(); n != 7 {
		t.Fatalf("%d of 7 seen dropped", n)
	}
}

func TestHistogram(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 500 * time.Microsecond}, {99, 990 * time.Microsecond}} {
		got := h.percentile(c.p)
		if d := got - c.want; d < -c.want/64 || d > c.want/64 {
			t.Errorf("p%v = %v, want %v within 1/64", c.p, got, c.want)
		}
	}
}

// Held idle, the generator answers each ping with a masked pong carrying
// the ping's payload (RFC 6455 section 5.5.2), and counts the pings.
func TestIdleAnswersPings(t *testing.T) {
	const conns, pings = 3, 4
	pongs := make(chan string, conns*pings)
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetPongHandler(func(data string) error { pongs <- data; return nil })
		for i := range pings {
			if err := c.WriteControl(websocket.PingMessage, []byte{byte('a' + i)}, time.Now().Add(time.Second)); err != nil {
				return
			}
		}
		for {
			if _, _, err := c.NextReader(); err != nil { // runs the pong handler
				return
			}
		}
	}))
	defer srv.Close()
	cfg := testConfig(srv.Listener.Addr().String(), conns, 0)
	cfg.idle = true
	g := startGen(t, cfg)
	g.holding = true
	got := map[string]int{}
	deadline := time.Now().Add(5 * time.Second)
	for n := range conns * pings {
		for len(pongs) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d pongs came back, want %d", n, conns*pings)
			}
			if err := g.poll(10); err != nil {
				t.Fatal(err)
			}
		}
		got[<-pongs]++
	}
	for i := range pings {
		if n := got[string(rune('a'+i))]; n != conns {
			t.Errorf("pong %q came back %d times, want %d", string(rune('a'+i)), n, conns)
		}
	}
	if g.pings != conns*pings || g.lost != 0 {
		t.Errorf("%d pings counted, %d connections lost; want %d and 0", g.pings, g.lost, conns*pings)
	}
}

// In silent mode the generator sends nothing and times how long after its
// connect the server closes each connection.
func TestSilentTimesTheClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const conns = 5
	go func() {
		for range conns {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				nc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				_, _ = io.Copy(io.Discard, nc) // nothing comes: closes at the deadline
			}()
		}
	}()
	cfg := testConfig(ln.Addr().String(), conns, 0)
	cfg.silent, cfg.duration, cfg.within = true, 5*time.Second, 50*time.Millisecond
	g := startGen(t, cfg)
	if err := g.waitClosed(); err != nil {
		t.Fatal(err)
	}
	if g.lost != conns || len(g.lived) != conns {
		t.Fatalf("%d closed, %d timed; want %d", g.lost, len(g.lived), conns)
	}
	for _, d := range g.lived {
		if d < 90*time.Millisecond || d > 5*time.Second {
			t.Errorf("lived %v, want about 100ms", d)
		}
	}
}
