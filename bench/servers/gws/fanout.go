package main

import (
	"net/http"
	"sync"

	"github.com/lxzan/gws"
)

// fanout is the fan-out server of the benchmark, written like gws's README
// broadcast: a connection on /pub publishes each message to every other
// connection with a gws.Broadcaster (the frame built once, then queued on
// each connection's write queue with WriteAsync's machinery). A subscriber
// is sent one empty text message once it is in the set.
type fanout struct {
	gws.BuiltinEventHandler
	mu   sync.RWMutex
	subs map[*gws.Conn]struct{}
}

const publisherKey = "publisher"

// authorize marks the publisher's session; it accepts every request.
func authorize(r *http.Request, session gws.SessionStorage) bool {
	if r.URL.Path == "/pub" {
		session.Store(publisherKey, true)
	}
	return true
}

func (f *fanout) OnOpen(c *gws.Conn) {
	if _, pub := c.Session().Load(publisherKey); pub {
		return
	}
	f.mu.Lock()
	f.subs[c] = struct{}{}
	f.mu.Unlock()
	_ = c.WriteMessage(gws.OpcodeText, nil)
}

func (f *fanout) OnClose(c *gws.Conn, _ error) {
	f.mu.Lock()
	delete(f.subs, c)
	f.mu.Unlock()
}

func (f *fanout) OnPing(c *gws.Conn, payload []byte) { _ = c.WritePong(payload) }

func (f *fanout) OnMessage(_ *gws.Conn, m *gws.Message) {
	b := gws.NewBroadcaster(m.Opcode, m.Bytes())
	defer b.Close()
	f.mu.RLock()
	defer f.mu.RUnlock()
	for c := range f.subs {
		_ = b.Broadcast(c)
	}
}
