package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wssgo/wss/internal/wstest"
)

// readRefusals reads until the connection closes and returns the messages
// accepted (echoed back), the rate_limited errors and the close code.
func (c *chatClient) readRefusals() (accepted, refused, code int) {
	c.t.Helper()
	for {
		f, err := c.cl.ReadWithin(15 * time.Second)
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		switch {
		case f.Op == wstest.OpClose:
			return accepted, refused, f.CloseCode()
		case strings.Contains(string(f.Payload), `"type":"message"`):
			accepted++
		case strings.Contains(string(f.Payload), `"code":"rate_limited"`):
			if !strings.Contains(string(f.Payload), "Slow down") {
				c.t.Fatalf("refusal without a clear message: %s", f.Payload)
			}
			refused++
		}
	}
}

// TestMessageRateLimitErrorsThen1008: with the default limits, a burst of
// 10 messages passes, the next are refused with an error, and a client
// that goes on is closed with 1008 after 10 refusals.
func TestMessageRateLimitErrorsThen1008(t *testing.T) {
	s := startChat(t, config{})
	bob := dialChat(t, s)
	bob.join("bob", "lobby")
	c := dialChat(t, s)
	c.join("ann", "lobby")
	for i := range 40 {
		c.send(map[string]string{"type": "say", "text": fmt.Sprint(i)})
	}
	_, refused, code := c.readRefusals()
	if refused != 10 || code != 1008 {
		t.Fatalf("refused %d, closed with %d; want 10 errors, then 1008", refused, code)
	}
	cat := dialChat(t, s)
	cat.join("cat", "lobby")
	cat.send(map[string]string{"type": "say", "text": "end"})
	n := 0
	for m := bob.nextOf("message"); m.Text != "end"; m = bob.nextOf("message") {
		n++
	}
	if n < 10 || n > 11 {
		t.Fatalf("%d messages passed, want 10 (11 if a token refilled meanwhile)", n)
	}
}

// TestJoinRateLimit: 5 room switches in a burst pass, the 6th is refused.
func TestJoinRateLimit(t *testing.T) {
	s := startChat(t, config{})
	c := dialChat(t, s)
	for i := range 5 {
		c.join("ann", fmt.Sprintf("room%d", i))
	}
	c.send(map[string]string{"type": "join", "nick": "ann", "room": "room9"})
	if m := c.nextOf("error"); m.Code != "rate_limited" || !strings.Contains(m.Message, "joins per second") {
		t.Fatalf("6th join: %+v, want rate_limited on joins", m)
	}
}

// TestConnectionsPerAddress: beyond -conns-per-addr, a connection from the
// same address is refused (429) until one closes.
func TestConnectionsPerAddress(t *testing.T) {
	lim := defaultLimits()
	lim.connsPerAddr = 3
	s := startChat(t, config{lim: lim})
	var open []*chatClient
	for range 3 {
		open = append(open, dialChat(t, s))
	}
	if cl, err := wstest.Dial("ws://" + s.addr + "/ws"); err == nil {
		cl.Close()
		t.Fatal("a 4th connection from one address was accepted")
	} else if !strings.Contains(err.Error(), "429") {
		t.Fatalf("4th connection: %v, want a 429 refusal", err)
	}
	open[0].cl.SendClose(1000)
	deadline := time.Now().Add(10 * time.Second)
	for { // the close is handled on the server's own time: no event to wait on here
		cl, err := wstest.Dial("ws://" + s.addr + "/ws")
		if err == nil {
			cl.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no connection accepted after one closed: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitFor polls cond for at most 10s, for states with no event to wait on.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
