package wss

import (
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// TestEventLoop_ReadBudget: a peer that sends without pause cannot hold its
// loop. With input from two peers waiting, the loop reads at most
// its ReadBudget and one read more from the first before it handles the
// second's message. (Without the budget it drains the first: 155 of 200
// messages here, as the rest waits in the sender's buffer.)
func TestEventLoop_ReadBudget(t *testing.T) {
	checkGoroutines(t)
	if !eventLoopSupported {
		t.Skip("no event loops on this system")
	}
	const budget = 16 << 10
	d, err := NewDispatcher(&DispatcherConfig{Mode: ModeEventLoop, Loops: 1, ReadBudget: budget})
	if err != nil {
		t.Fatal(err)
	}
	closeDispatcher(t, d)
	const floodMsgs = 200 // of 1 KiB: far more than one read of the loop's buffer
	var flooded atomic.Int32
	blocked, release := make(chan struct{}), make(chan struct{})
	handledB := make(chan int32, 1)
	handlers := map[string]Handler{
		"/block": HandlerFuncs{Frame: func(*Conn, []byte, bool) { close(blocked); <-release }},
		"/flood": HandlerFuncs{Frame: func(*Conn, []byte, bool) { flooded.Add(1) }},
		"/b":     HandlerFuncs{Frame: func(*Conn, []byte, bool) { handledB <- flooded.Load() }},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = d.Serve(ln, &Config{PingInterval: -1}, func(r *Request) (Handler, error) { return handlers[r.Target()], nil })
	}()
	defer func() { ln.Close(); <-served }()
	open := func(path string) *rawClient {
		c := dialRaw(t, ln.Addr().String())
		q := validRequest(ln.Addr().String())
		q.line = "GET " + path + " HTTP/1.1"
		c.write(q.bytes())
		c.expect([]byte(acceptResponse))
		return c
	}
	block, flood, b := open("/block"), open("/flood"), open("/b")

	block.send(binFin, []byte("hold the loop"))
	<-blocked
	var burst []byte
	for range floodMsgs {
		burst = append(burst, clientFrame(binFin, make([]byte, 1024))...)
	}
	// All of the burst is sent, into the sender's buffer when the loop's
	// socket is full, before the second peer's message: the loop learns of
	// the flood first, and finds more of it each time it reads.
	if err := flood.nc.(*net.TCPConn).SetWriteBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	flood.write(burst)
	b.send(binFin, []byte("me too"))
	close(release)
	select {
	case n := <-handledB:
		// One read of the loop's buffer may go past the budget.
		frameLen := len(burst) / floodMsgs
		if limit := (budget+loopBufSize)/frameLen + 1; int(n) > limit {
			t.Errorf("the second peer's message waited for %d of the first's, want at most %d", n, limit)
		}
		t.Logf("handled after %d of %d flood messages", n, floodMsgs)
	case <-time.After(testTimeout):
		t.Fatal("the second peer's message was not handled")
	}
}
