package main

import (
	"strings"
	"sync"

	"github.com/wssgo/wss"

	"github.com/wssgo/wss/pubsub"
)

// maxActiveRooms bounds the rooms whose activity a node remembers: those
// with the latest messages.
const maxActiveRooms = 256

// activity remembers, for the rooms with the latest messages, the id of
// the last one and how many messages this node has seen in the room since
// it started: the rooms list offers them for the page's unread counts.
// Every node reads every stored message once, in order (Render), so each
// knows every room's. Safe for concurrent use.
type activity struct {
	mu    sync.Mutex
	rooms map[string]roomActivity
}

// roomActivity is one room's last message id and its message count.
type roomActivity struct {
	Last, Count uint64
}

func newActivity() *activity { return &activity{rooms: make(map[string]roomActivity)} }

// render is the PubSub's Render: it notes the message, then renders it.
// Render also runs for the messages a join replays: only a message newer
// than the room's last one counts.
func (a *activity) render(m pubsub.Message) ([]byte, wss.MessageType) {
	if name, ok := strings.CutPrefix(m.Topic, "room/"); ok {
		a.note(name, m.ID)
	}
	return renderStored(m)
}

func (a *activity) note(name string, id uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, known := a.rooms[name]
	if id <= r.Last {
		return // a replay of an older message renders it again
	}
	r.Last, r.Count = id, r.Count+1
	a.rooms[name] = r
	if known || len(a.rooms) <= maxActiveRooms {
		return
	}
	oldest, min := "", id
	for n, o := range a.rooms {
		if o.Last < min {
			oldest, min = n, o.Last
		}
	}
	delete(a.rooms, oldest)
}

// snapshot returns a copy of the rooms' activity.
func (a *activity) snapshot() map[string]roomActivity {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]roomActivity, len(a.rooms))
	for n, r := range a.rooms {
		out[n] = r
	}
	return out
}
