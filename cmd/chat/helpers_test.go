package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wssgo/wss/internal/wstest"
)

// chatServer is a chat server run by a test.
type chatServer struct {
	addr string
	stop func() // shuts down gracefully and waits
}

// startChat runs the chat server with cfg (addr defaults to a free
// loopback port) until the test ends or stop is called.
func startChat(t *testing.T, cfg config) *chatServer {
	t.Helper()
	if cfg.addr == "" {
		cfg.addr = "127.0.0.1:0"
	}
	if cfg.maxMessage == 0 {
		cfg.maxMessage = 256 << 10
	}
	if cfg.dataDir == "" {
		cfg.dataDir = t.TempDir()
	}
	if cfg.history == 0 {
		cfg.history = 100
	}
	if cfg.historyBytes == 0 {
		cfg.historyBytes = 256 << 20
	}
	if cfg.lim == (limits{}) {
		cfg.lim = defaultLimits()
	}
	if cfg.timing == (presenceTiming{}) {
		cfg.timing = defaultTiming()
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, log, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("chat server did not start: %v", err)
	}
	var once sync.Once
	s := &chatServer{addr: addr}
	s.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("chat server: %v", err)
			}
		})
	}
	t.Cleanup(s.stop)
	return s
}

func (s *chatServer) url() string { return "http://" + s.addr + "/" }

// chatClient is a protocol-level client of the chat.
type chatClient struct {
	t     *testing.T
	cl    *wstest.Client
	users []string // the presence list of the last join
	last  string   // id of the last message read
	hist  outbound // the history header of the last join
}

func dialChat(t *testing.T, s *chatServer) *chatClient {
	t.Helper()
	cl, err := wstest.Dial("ws://" + s.addr + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return &chatClient{t: t, cl: cl}
}

func (c *chatClient) send(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	if err := c.cl.Write(wstest.OpText, b); err != nil {
		c.t.Fatal(err)
	}
}

// next reads the next frame: a decoded text message, or an image's header
// and bytes.
func (c *chatClient) next() (msg outbound, img []byte) {
	c.t.Helper()
	f, err := c.cl.ReadWithin(30 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	switch f.Op {
	case wstest.OpText:
		if err := json.Unmarshal(f.Payload, &msg); err != nil {
			c.t.Fatalf("bad JSON %q: %v", f.Payload, err)
		}
		if msg.ID != "" {
			c.last = msg.ID
		}
		return msg, nil
	case wstest.OpBinary:
		hdr, img, err := splitImageFrame(f.Payload)
		if err != nil {
			c.t.Fatal(err)
		}
		if err := json.Unmarshal(hdr, &msg); err != nil {
			c.t.Fatal(err)
		}
		c.last = msg.ID
		return msg, img
	case wstest.OpClose:
		c.t.Fatalf("closed with %d", f.CloseCode())
	}
	c.t.Fatalf("unexpected opcode %d", f.Op)
	return
}

// nextOf skips frames until one of type typ arrives.
func (c *chatClient) nextOf(typ string) outbound {
	c.t.Helper()
	for {
		if m, _ := c.next(); m.Type == typ {
			return m
		}
	}
}

// join joins a room and reads the welcome, the presence list and the
// history, which it returns.
func (c *chatClient) join(nick, room string) []outbound {
	c.t.Helper()
	return c.joinAfter(nick, room, "")
}

// joinAfter joins resuming after message id after.
func (c *chatClient) joinAfter(nick, room, after string) []outbound {
	c.t.Helper()
	c.send(map[string]string{"type": "join", "nick": nick, "room": room, "after": after})
	if m, _ := c.next(); m.Type != "welcome" || m.Nick != nick {
		c.t.Fatalf("got %+v, want welcome for %s", m, nick)
	}
	p, _ := c.next()
	if p.Type != "presence" {
		c.t.Fatalf("got %+v, want presence", p)
	}
	c.users = p.Users
	h, _ := c.next()
	if h.Type != "history" || h.Count == nil {
		c.t.Fatalf("got %+v, want history", h)
	}
	c.hist = h
	var hist []outbound
	for range *h.Count {
		m, _ := c.next()
		hist = append(hist, m)
	}
	return hist
}

// waitUsers applies the join and leave notices that follow the presence
// list of the last join until the room holds exactly want: presence from
// another node may arrive after the list.
func (c *chatClient) waitUsers(want ...string) {
	c.t.Helper()
	for !slices.Equal(c.users, want) {
		m := c.next2("join", "leave")
		c.users = slices.DeleteFunc(c.users, func(u string) bool { return u == m.From })
		if m.Type == "join" {
			c.users = append(c.users, m.From)
			slices.Sort(c.users)
		}
	}
}
