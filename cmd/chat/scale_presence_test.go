package main

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wssgo/wss/internal/wstest"
)

// TestScaleRoomSwitchStorm: one client switches rooms 2,000 times in a
// burst beside a room of 300 people. With the default per-connection
// limits, the people in the room receive less than 200 times the bytes
// the switcher sent, and the switcher is closed with 1008. (Addresses are
// all 127.0.0.1 here: the per-address limits are lifted for the test.)
func TestScaleRoomSwitchStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test")
	}
	lim := defaultLimits()
	lim.connsPerAddr, lim.addrJoinRate, lim.addrMsgRate = 1000, 1e6, 1e6
	s := startChat(t, config{lim: lim})
	const members = 300
	var received atomic.Int64
	marker := make(chan struct{}, members)
	var wg sync.WaitGroup
	for i := range members {
		c := dialChat(t, s)
		c.join(fmt.Sprintf("m%d", i), "big")
		wg.Go(func() {
			for {
				f, err := c.cl.ReadWithin(30 * time.Second)
				if err != nil || f.Op == wstest.OpClose {
					return
				}
				if strings.Contains(string(f.Payload), `"text":"marker"`) {
					marker <- struct{}{}
					return
				}
				received.Add(int64(len(f.Payload)))
			}
		})
	}
	received.Store(0) // the joins of the members themselves do not count

	sw := dialChat(t, s)
	sent := 0
	for i := range 2000 {
		room := "big"
		if i%2 == 1 {
			room = "small"
		}
		b := fmt.Appendf(nil, `{"type":"join","nick":"storm","room":%q}`, room)
		if sw.cl.Write(wstest.OpText, b) != nil {
			break
		}
		sent += len(b)
	}
	if _, _, code := sw.readRefusals(); code != 1008 {
		t.Fatalf("the switcher was closed with %d, want 1008", code)
	}
	waitForLeave := dialChat(t, s)
	waitForLeave.join("observer", "small")
	// The marker is said after the storm's last notice: the members read
	// everything the storm cost them before it.
	(&chatClient{t: t, cl: waitForLeave.cl}).send(map[string]string{"type": "join", "nick": "observer", "room": "big"})
	waitForLeave.nextOf("history")
	waitForLeave.send(map[string]string{"type": "say", "text": "marker"})
	for range members {
		<-marker
	}
	wg.Wait()
	before := received.Load()
	ratio := float64(before) / float64(sent)
	t.Logf("switcher sent %d bytes; %d members received %d bytes: %.1f×", sent, members, before, ratio)
	if ratio >= 200 {
		t.Fatalf("members received %.0f× the bytes the switcher sent, want < 200×", ratio)
	}
}
