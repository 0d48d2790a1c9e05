package main

import (
	"slices"
	"testing"
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
	if m := ann.nextOf("message"); m.Text != "still here" || m.Room != "lobby" {
		t.Fatalf("got %+v, want ann's message in the lobby", m)
	}
}
