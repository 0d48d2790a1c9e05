package main

import (
	"slices"
	"testing"
	"time"
)

// TestRoomSwitchIsAMoveAndRoomsAreListed: a room switch reaches the old
// room as a leave naming the new room; a switch refused for a taken
// nickname keeps the person where they were; a rooms request lists the
// rooms with people in them and their counts.
func TestRoomSwitchIsAMoveAndRoomsAreListed(t *testing.T) {
	s := startChat(t, config{lim: generous()})
	ann := dialChat(t, s)
	ann.join("ann", "lobby")
	bob := dialChat(t, s)
	bob.join("bob", "lobby")
	ann.nextOf("join")

	bob.join("bob", "dev")
	if m := ann.nextOf("leave"); m.From != "bob" || m.To != "dev" || m.Status != 1000 {
		t.Fatalf("leave %+v, want bob to dev with 1000", m)
	}

	// A nickname change in the room is a leave naming the new one.
	eve := dialChat(t, s)
	eve.join("eve", "lobby")
	ann.nextOf("join")
	eve.join("eva", "lobby")
	if m := ann.nextOf("leave"); m.From != "eve" || m.Nick != "eva" || m.To != "" {
		t.Fatalf("leave %+v, want eve renamed eva", m)
	}
	if m := ann.nextOf("join"); m.From != "eva" {
		t.Fatalf("got %+v, want eva's join", m)
	}
	eve.cl.SendClose(1000)
	ann.nextOf("leave")

	// ann tries dev as "Bob": refused, and still in the lobby.
	ann.send(map[string]string{"type": "join", "nick": "Bob", "room": "dev"})
	if m := ann.nextOf("error"); m.Code != "nick_taken" {
		t.Fatalf("got %+v, want nick_taken", m)
	}
	ann.send(map[string]string{"type": "rooms"})
	m := ann.nextOf("rooms")
	want := []roomInfo{{Name: "dev", Users: 1}, {Name: "lobby", Users: 1}}
	if !slices.Equal(m.Rooms, want) {
		t.Fatalf("rooms %+v, want %+v", m.Rooms, want)
	}
	ann.send(map[string]string{"type": "say", "text": "still here"})
	said := ann.nextOf("message")
	if said.Text != "still here" || said.Room != "lobby" {
		t.Fatalf("got %+v, want ann's message in the lobby", said)
	}

	// A room with recent messages and nobody in it is listed too, with
	// its last message and count.
	cat := dialChat(t, s)
	cat.join("cat", "quiet")
	cat.send(map[string]string{"type": "say", "text": "anyone?"})
	quiet := cat.nextOf("message")
	cat.cl.SendClose(1000)
	want = []roomInfo{{Name: "dev", Users: 1}, {Name: "lobby", Users: 1, Last: said.ID, Count: 1}, {Name: "quiet", Last: quiet.ID, Count: 1}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ann.send(map[string]string{"type": "rooms"})
		m := ann.nextOf("rooms")
		if slices.Equal(m.Rooms, want) {
			break
		}
		if time.Now().After(deadline) { // cat's leave is an event: no message to wait on in the lobby
			t.Fatalf("rooms %+v, want %+v", m.Rooms, want)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A join's replay renders the room's messages again: they count once.
	dan := dialChat(t, s)
	if hist := dan.join("dan", "quiet"); len(hist) != 1 {
		t.Fatalf("quiet's history has %d messages, want 1", len(hist))
	}
	dan.send(map[string]string{"type": "rooms"})
	if m := dan.nextOf("rooms"); !slices.Contains(m.Rooms, roomInfo{Name: "quiet", Users: 1, Last: quiet.ID, Count: 1}) {
		t.Fatalf("rooms %+v, want quiet with 1 message", m.Rooms)
	}
}
