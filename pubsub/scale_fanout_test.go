package pubsub

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wssgo/wss"
)

// fanPeer is one subscriber's client end: it checks that the messages
// arrive numbered 0, 1, 2, ... and counts them.
type fanPeer struct {
	next  uint64
	bad   *atomic.Int32
	left  *atomic.Int64 // deliveries still expected, over all peers
	all   chan struct{} // closed when left reaches 0
	ended *sync.WaitGroup
}

func (p *fanPeer) OnFrame(_ *wss.Conn, data []byte, _ wss.MessageType) {
	if len(data) == 0 { // the server's word that it subscribed us
		return
	}
	if len(data) != fanSize || binary.BigEndian.Uint64(data) != p.next {
		p.bad.Add(1)
	}
	p.next++
	if p.left.Add(-1) == 0 {
		close(p.all)
	}
}

func (p *fanPeer) OnClose(*wss.Conn, wss.StatusCode) { p.ended.Done() }

const fanSize = 64

// TestScaleFanOutBoundedGoroutines publishes bursts to thousands of
// subscribers, clients on an event loop in this process, and checks that
// the goroutines alive while Publish returns stay within a bound that does
// not grow with the subscribers (the writers: GOMAXPROCS on event loops,
// Options.Writers in goroutine mode), and that every subscriber gets every
// message, in order. The server runs in each dispatcher mode, on event
// loops through Dispatcher.Serve and in goroutine mode through
// HTTPHandler (a goroutine per connection there: fewer subscribers).
func TestScaleFanOutBoundedGoroutines(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test")
	}
	tests := []struct {
		name string
		mode wss.Mode
		subs int
	}{
		{"event loop, Serve", wss.ModeEventLoop, 4000},
		{"goroutine, HTTPHandler", wss.ModeGoroutine, 2000},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s, %d subscribers", tt.name, tt.subs), func(t *testing.T) {
			fanOutBounded(t, tt.mode, tt.subs)
		})
	}
}

func fanOutBounded(t *testing.T, mode wss.Mode, n int) {
	const (
		bursts   = 4
		perBurst = 16
		writers  = 32
		slack    = 64 // timers, the runtime's own, the test's
	)
	ps := newPubSub(t, &Options{Writers: writers})
	opened := make(chan struct{}, n)
	h := ps.Handler(wss.HandlerFuncs{
		Open: func(c *wss.Conn) {
			if ps.Subscribe(c, "t") == nil && ps.Send(c, nil, wss.Text) == nil {
				opened <- struct{}{}
			}
		},
		Frame: func(*wss.Conn, []byte, wss.MessageType) {},
		Close: func(*wss.Conn, wss.StatusCode) {},
	})
	url := startServer(t, mode, h)

	cli, err := wss.NewDispatcher(&wss.DispatcherConfig{Mode: wss.ModeEventLoop})
	if err != nil {
		t.Skipf("event loops not available here: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	var (
		bad   atomic.Int32
		left  atomic.Int64
		ended sync.WaitGroup
	)
	left.Store(int64(n * bursts * perBurst))
	all := make(chan struct{})
	conns := dialFanPeers(t, cli, url, n, func() wss.Handler {
		ended.Add(1)
		return &fanPeer{bad: &bad, left: &left, all: all, ended: &ended}
	})
	for range n {
		select {
		case <-opened:
		case <-time.After(30 * time.Second):
			t.Fatal("subscribers not all subscribed within 30s")
		}
	}

	base := runtime.NumGoroutine()
	limit := base + runtime.GOMAXPROCS(0) + writers + slack
	peak := 0
	msg := make([]byte, fanSize)
	for i := range bursts * perBurst {
		binary.BigEndian.PutUint64(msg, uint64(i))
		if err := ps.Publish("t", msg, wss.Binary); err != nil {
			t.Fatal(err)
		}
		peak = max(peak, runtime.NumGoroutine())
	}
	select {
	case <-all:
	case <-time.After(30 * time.Second):
		t.Fatalf("%d deliveries missing after 30s", left.Load())
	}
	if peak > limit {
		t.Errorf("%d goroutines alive during the bursts, %d before: want at most %d", peak, base, limit)
	}
	if b := bad.Load(); b != 0 {
		t.Errorf("%d deliveries out of order or of the wrong size", b)
	}
	if s := ps.Stats(); s.Dropped != 0 || s.Overflowed != 0 {
		t.Errorf("Stats = %+v: want nothing dropped or overflowed", s)
	}
	for _, c := range conns {
		_ = c.Close(wss.StatusNormalClosure, "")
	}
	ended.Wait()
}

// dialFanPeers connects n clients on cli, a few at a time, each with the
// handler newPeer returns.
func dialFanPeers(t *testing.T, cli *wss.Dispatcher, url string, n int, newPeer func() wss.Handler) []*wss.Conn {
	t.Helper()
	conns := make([]*wss.Conn, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	const dialers = 8
	for k := range dialers {
		wg.Go(func() {
			for i := k; i < n; i += dialers {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				c, err := wss.Dial(ctx, url, newPeer(), &wss.DialOptions{Dispatcher: cli})
				cancel()
				if err != nil {
					errs <- fmt.Errorf("dial %d: %w", i, err)
					return
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	close(errs)
	var msgs []string
	for err := range errs {
		msgs = append(msgs, err.Error())
	}
	if len(msgs) > 0 {
		t.Fatal(strings.Join(msgs, "; "))
	}
	return conns
}
