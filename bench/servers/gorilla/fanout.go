package main

import (
	"net/http"
	"sync"

	"github.com/gorilla/websocket"
)

// The fan-out server of the benchmark, written like gorilla's chat example:
// a hub of subscribers, each with a buffered channel drained by a writer
// goroutine of its own, so that a slow subscriber never holds the
// publisher. A published message is prepared once (websocket.PreparedMessage)
// and each writer sends it with one WritePreparedMessage. A subscriber whose
// channel is full is dropped, as in the chat example. It is sent one empty
// text message once it is in the hub.

// queueLength is each subscriber's channel capacity (the chat example's).
const queueLength = 256

type hub struct {
	mu   sync.RWMutex
	subs map[*subscriber]struct{}
}

type subscriber struct {
	c    *websocket.Conn
	send chan *websocket.PreparedMessage
}

var subscribedMark, _ = websocket.NewPreparedMessage(websocket.TextMessage, nil)

func (h *hub) serve(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	if r.URL.Path == "/pub" {
		h.publish(c)
		return
	}
	s := &subscriber{c: c, send: make(chan *websocket.PreparedMessage, queueLength)}
	s.send <- subscribedMark
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	go s.write()
	for { // read until the peer closes, to notice it
		if _, _, err := c.NextReader(); err != nil {
			break
		}
	}
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
	close(s.send)
}

// write sends what is queued for s until its channel closes.
func (s *subscriber) write() {
	for pm := range s.send {
		if err := s.c.WritePreparedMessage(pm); err != nil {
			s.c.Close()
			return
		}
	}
}

// publish reads the publisher's messages and queues each for every subscriber.
func (h *hub) publish(c *websocket.Conn) {
	for {
		op, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		pm, err := websocket.NewPreparedMessage(op, msg)
		if err != nil {
			return
		}
		h.mu.RLock()
		for s := range h.subs {
			select {
			case s.send <- pm:
			default:
				s.c.Close() // its reader then removes it
			}
		}
		h.mu.RUnlock()
	}
}
