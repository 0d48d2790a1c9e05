package main

import (
	"fmt"
	"testing"
)

// TestScaleRoomsAreFreedWhenEmpty: one connection visiting 2,000 rooms with a
// message in each leaves no room in memory once it has gone; the history
// stays in the store.
func TestScaleRoomsAreFreedWhenEmpty(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test")
	}
	hubs := make(chan *Hub, 1)
	s := startChat(t, config{lim: generous(), onHub: func(h *Hub) { hubs <- h }})
	h := <-hubs
	c := dialChat(t, s)
	const rooms = 2000
	for i := range rooms {
		c.join("ann", fmt.Sprintf("r%d", i))
		c.sayAll("m", i, 1)
	}
	h.mu.Lock()
	held := len(h.rooms)
	h.mu.Unlock()
	if held != 1 {
		t.Fatalf("%d rooms held with one person in one room, want 1", held)
	}
	c.cl.SendClose(1000)
	waitFor(t, "the room freed", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.rooms) == 0 && len(h.byNode) == 0 && len(h.clients) == 0 && len(h.addrs) == 0
	})
	checkHistory(t, dialChat(t, s).join("bob", "r7"), "m", 7, 8)
}
