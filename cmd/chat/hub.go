package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wssgo/wss"
	"github.com/wssgo/wss/pubsub"
)

// eventsTopic carries every room's events between nodes. Each node listens
// to it, keeps its rooms' history and presence from it, and relays each
// event to its own clients in the room, on the room's topic.
const eventsTopic = "chat/events"

// Presence between nodes: each node announces its members every
// rosterEvery, and forgets another node's members when it has not heard
// from that node for rosterExpiry (a node that crashed).
const (
	rosterEvery  = 15 * time.Second
	rosterExpiry = 50 * time.Second
)

// event is what nodes tell each other on eventsTopic. An image travels as a
// binary frame: a 4-byte big-endian length, this event as JSON, the image.
type event struct {
	Kind    string   `json:"kind"` // say, image, join, leave, roster, hello
	Node    string   `json:"node"`
	Client  string   `json:"client,omitempty"`
	Room    string   `json:"room,omitempty"`
	Nick    string   `json:"nick,omitempty"`
	ID      string   `json:"id,omitempty"`
	Text    string   `json:"text,omitempty"`
	Mime    string   `json:"mime,omitempty"`
	Time    int64    `json:"time,omitempty"`
	Status  int      `json:"status,omitempty"`
	Members []member `json:"members,omitempty"`
}

// member is one person in one room, on one node.
type member struct {
	Client string `json:"client"`
	Room   string `json:"room"`
	Nick   string `json:"nick"`
}

// client is one connection's state.
type client struct {
	conn *wss.Conn
	id   string
	nick string // "" until joined
	room string
}

// room is what a node knows of one room.
type room struct {
	history []*wss.PreparedMessage // oldest first; framed once, sent to each joiner
	size    int
	members map[string]map[string]member // node -> client id -> member
}

// Hub is the chat: the clients of this node and the rooms of all nodes.
type Hub struct {
	ps       *pubsub.PubSub
	log      *slog.Logger
	node     string
	maxImage int

	nextID atomic.Uint64

	mu       sync.Mutex
	clients  map[*wss.Conn]*client
	rooms    map[string]*room
	lastSeen map[string]time.Time // other nodes, by id

	// announce orders this node's membership changes with its roster
	// announcements, so a roster never undoes a later leave.
	announce sync.Mutex

	stop chan struct{}
	wg   sync.WaitGroup
}

// NewHub starts the chat on ps. maxImage bounds a shared image.
func NewHub(ps *pubsub.PubSub, log *slog.Logger, maxImage int) *Hub {
	var id [4]byte
	rand.Read(id[:])
	h := &Hub{
		ps:       ps,
		log:      log,
		node:     hex.EncodeToString(id[:]),
		maxImage: maxImage,
		clients:  make(map[*wss.Conn]*client),
		rooms:    make(map[string]*room),
		lastSeen: make(map[string]time.Time),
		stop:     make(chan struct{}),
	}
	stopListen := ps.Listen(eventsTopic, h.onEvent)
	h.publish(&event{Kind: "hello"})
	h.wg.Go(func() {
		defer stopListen()
		t := time.NewTicker(rosterEvery)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-t.C:
				h.announceRoster()
				h.expireNodes()
			}
		}
	})
	return h
}

// Node returns this node's id.
func (h *Hub) Node() string { return h.node }

// Serve returns the http.Handler of /ws: it upgrades each request to a
// WebSocket served by d with cfg, one connHandler per connection.
func (h *Hub) Serve(d *wss.Dispatcher, cfg *wss.Config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cl := &client{id: fmt.Sprintf("%s-%d", h.node, h.nextID.Add(1))}
		cl.conn = wss.New(h.ps.Handler(connHandler{h, cl}), d, cfg)
		// Registered before the upgrade: OnClose, which removes it, may
		// run before Upgrade returns.
		h.mu.Lock()
		h.clients[cl.conn] = cl
		h.mu.Unlock()
		if err := cl.conn.Upgrade(w, r); err != nil {
			h.log.Debug("chat: upgrade failed", "err", err)
			h.mu.Lock()
			delete(h.clients, cl.conn)
			h.mu.Unlock()
		}
	})
}

// connHandler is the wss.Handler of one connection.
type connHandler struct {
	h  *Hub
	cl *client
}

func (ch connHandler) OnFrame(c *wss.Conn, data []byte, text bool) {
	h, cl := ch.h, ch.cl
	var err error
	if text {
		err = h.onText(cl, data)
	} else {
		err = h.onImage(cl, data)
	}
	if err != nil {
		pe, ok := err.(*protocolError)
		if !ok {
			h.log.Error("chat: request failed", "client", cl.id, "err", err)
			pe = refuse("internal", "The server could not handle that.")
		}
		h.sendTo(c, &outbound{Type: "error", Code: pe.Code, Message: pe.Message})
	}
}

func (ch connHandler) OnClose(c *wss.Conn, status int) {
	h, cl := ch.h, ch.cl
	h.announce.Lock()
	defer h.announce.Unlock()
	h.mu.Lock()
	delete(h.clients, c)
	nick, room := cl.nick, cl.room
	h.mu.Unlock()
	if nick != "" {
		h.log.Info("chat: left", "client", cl.id, "nick", nick, "room", room, "status", status)
		h.publish(&event{Kind: "leave", Client: cl.id, Room: room, Nick: nick, Status: status})
	}
}

func (h *Hub) onText(cl *client, data []byte) error {
	var in inbound
	if err := json.Unmarshal(data, &in); err != nil {
		return refuse("bad_json", "The server could not read that message (not JSON).")
	}
	switch in.Type {
	case "join":
		return h.join(cl, in.Nick, in.Room)
	case "say":
		if cl.nick == "" {
			return refuse("not_joined", "Join a room first.")
		}
		text, err := checkText(in.Text)
		if err != nil {
			return err
		}
		h.publish(&event{Kind: "say", Client: cl.id, Room: cl.room, Nick: cl.nick, Text: text, ID: h.newMessageID()})
		return nil
	}
	return refuse("bad_type", fmt.Sprintf("Unknown message type %q.", in.Type))
}

func (h *Hub) onImage(cl *client, data []byte) error {
	if cl.nick == "" {
		return refuse("not_joined", "Join a room first.")
	}
	if len(data) > h.maxImage {
		return refuse("too_big", fmt.Sprintf("An image has at most %s.", humanBytes(h.maxImage)))
	}
	mime := http.DetectContentType(data)
	if !imageTypes[mime] {
		return refuse("bad_image", "Only PNG, JPEG, GIF and WebP images can be shared.")
	}
	ev := &event{Kind: "image", Node: h.node, Client: cl.id, Room: cl.room, Nick: cl.nick, Mime: mime,
		ID: h.newMessageID(), Time: time.Now().UnixMilli()}
	hdr, _ := json.Marshal(ev)
	if err := h.ps.Publish(eventsTopic, imageFrame(hdr, data), false); err != nil {
		h.log.Warn("chat: publish", "err", err)
	}
	return nil
}

// join puts cl in a room, leaving the one it was in. Under h.mu, it sends
// the welcome and the room's history and subscribes cl to the room, so
// every later message reaches cl once, after the history.
func (h *Hub) join(cl *client, nick, roomName string) error {
	nick, err := checkNick(nick)
	if err != nil {
		return err
	}
	roomName, err = checkRoom(roomName)
	if err != nil {
		return err
	}
	h.announce.Lock()
	defer h.announce.Unlock()
	if cl.nick != "" {
		if cl.room == roomName && cl.nick == nick {
			return nil
		}
		h.ps.Unsubscribe(cl.conn, roomTopic(cl.room))
		h.mu.Lock()
		oldNick, oldRoom := cl.nick, cl.room
		cl.nick = ""
		h.mu.Unlock()
		h.publish(&event{Kind: "leave", Client: cl.id, Room: oldRoom, Nick: oldNick, Status: wss.StatusNormalClosure})
	}

	h.mu.Lock()
	r := h.roomLocked(roomName)
	for _, ms := range r.members {
		for _, m := range ms {
			if strings.EqualFold(m.Nick, nick) && m.Client != cl.id {
				h.mu.Unlock()
				return refuse("nick_taken", fmt.Sprintf("%q is already in room %s.", nick, roomName))
			}
		}
	}
	cl.nick, cl.room = nick, roomName
	h.sendTo(cl.conn, &outbound{Type: "welcome", Nick: nick, Room: roomName, Node: h.node,
		MaxText: maxTextLen, MaxImage: h.maxImage})
	count := len(r.history)
	h.sendTo(cl.conn, &outbound{Type: "history", Room: roomName, Count: &count})
	for _, pm := range r.history {
		_ = h.ps.SendPrepared(cl.conn, pm)
	}
	err = h.ps.Subscribe(cl.conn, roomTopic(roomName))
	h.mu.Unlock()
	if err != nil {
		return err
	}
	h.log.Info("chat: joined", "client", cl.id, "nick", nick, "room", roomName)
	h.publish(&event{Kind: "join", Client: cl.id, Room: roomName, Nick: nick})
	return nil
}

// publish sends an event to every node, this one included.
func (h *Hub) publish(ev *event) {
	ev.Node = h.node
	if ev.Time == 0 {
		ev.Time = time.Now().UnixMilli()
	}
	b, _ := json.Marshal(ev)
	if err := h.ps.Publish(eventsTopic, b, true); err != nil {
		h.log.Warn("chat: publish", "kind", ev.Kind, "err", err)
	}
}

// onEvent applies an event from any node, this one included, and relays
// what the people in the room should see.
func (h *Hub) onEvent(data []byte, text bool) {
	var ev event
	var img []byte
	if text {
		if err := json.Unmarshal(data, &ev); err != nil {
			h.log.Warn("chat: bad event", "err", err)
			return
		}
	} else {
		hdr, rest, err := splitImageFrame(data)
		if err == nil {
			err = json.Unmarshal(hdr, &ev)
		}
		if err != nil || ev.Kind != "image" {
			h.log.Warn("chat: bad image event", "err", err)
			return
		}
		img = rest
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if ev.Node != h.node {
		h.lastSeen[ev.Node] = time.Now()
	}
	switch ev.Kind {
	case "say":
		out := &outbound{Type: "message", Room: ev.Room, ID: ev.ID, From: ev.Nick, Text: ev.Text, Time: ev.Time}
		h.postLocked(ev.Room, out.encode(), true, true)
	case "image":
		out := &outbound{Type: "image", Room: ev.Room, ID: ev.ID, From: ev.Nick, Time: ev.Time, Mime: ev.Mime, Size: len(img)}
		h.postLocked(ev.Room, imageFrame(out.encode(), img), false, true)
	case "join":
		r := h.roomLocked(ev.Room)
		r.addMember(ev.Node, member{Client: ev.Client, Room: ev.Room, Nick: ev.Nick})
		h.postLocked(ev.Room, (&outbound{Type: "join", Room: ev.Room, From: ev.Nick, Time: ev.Time}).encode(), true, false)
		h.presenceLocked(ev.Room)
	case "leave":
		if r := h.rooms[ev.Room]; r != nil {
			r.removeMember(ev.Node, ev.Client)
		}
		out := &outbound{Type: "leave", Room: ev.Room, From: ev.Nick, Time: ev.Time, Status: ev.Status, Reason: closeReason(ev.Status)}
		h.postLocked(ev.Room, out.encode(), true, false)
		h.presenceLocked(ev.Room)
	case "hello":
		if ev.Node != h.node {
			go h.announceRoster()
		}
	case "roster":
		if ev.Node != h.node {
			h.setRosterLocked(ev.Node, ev.Members)
		}
	}
}

// postLocked relays a client frame to this node's people in the room, and
// keeps it in the room's history if keep is set.
func (h *Hub) postLocked(roomName string, frame []byte, text, keep bool) {
	if keep {
		if err := h.roomLocked(roomName).remember(frame, text); err != nil {
			h.log.Warn("chat: history", "room", roomName, "err", err)
		}
	}
	if err := h.ps.PublishLocal(roomTopic(roomName), frame, text); err != nil {
		h.log.Warn("chat: relay", "room", roomName, "err", err)
	}
}

// presenceLocked tells the room who is in it.
func (h *Hub) presenceLocked(roomName string) {
	r := h.rooms[roomName]
	if r == nil {
		return
	}
	users := r.nicks()
	h.postLocked(roomName, (&outbound{Type: "presence", Room: roomName, Users: users}).encode(), true, false)
	if len(users) == 0 && len(r.history) == 0 {
		delete(h.rooms, roomName)
	}
}

// announceRoster tells the other nodes who is on this node.
func (h *Hub) announceRoster() {
	h.announce.Lock()
	defer h.announce.Unlock()
	h.mu.Lock()
	var ms []member
	for _, cl := range h.clients {
		if cl.nick != "" {
			ms = append(ms, member{Client: cl.id, Room: cl.room, Nick: cl.nick})
		}
	}
	h.mu.Unlock()
	if ms == nil {
		ms = []member{}
	}
	h.publish(&event{Kind: "roster", Members: ms})
}

// setRosterLocked replaces what this node knows of another node's members.
func (h *Hub) setRosterLocked(node string, ms []member) {
	changed := make(map[string]bool)
	for name, r := range h.rooms {
		if len(r.members[node]) > 0 {
			delete(r.members, node)
			changed[name] = true
		}
	}
	for _, m := range ms {
		h.roomLocked(m.Room).addMember(node, m)
		changed[m.Room] = true
	}
	for name := range changed {
		h.presenceLocked(name)
	}
}

// expireNodes forgets the members of nodes not heard from for a while.
func (h *Hub) expireNodes() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for node, seen := range h.lastSeen {
		if time.Since(seen) > rosterExpiry {
			h.log.Warn("chat: node silent, forgetting its members", "node", node)
			delete(h.lastSeen, node)
			h.setRosterLocked(node, nil)
		}
	}
}

func (h *Hub) roomLocked(name string) *room {
	r := h.rooms[name]
	if r == nil {
		r = &room{members: make(map[string]map[string]member)}
		h.rooms[name] = r
	}
	return r
}

// sendTo queues a reply for one connection, in order with its broadcasts.
func (h *Hub) sendTo(c *wss.Conn, o *outbound) {
	_ = h.ps.Send(c, o.encode(), true)
}

func (h *Hub) newMessageID() string {
	return fmt.Sprintf("%s-m%d", h.node, h.nextID.Add(1))
}

// Stop stops the roster announcements. The connections are the
// Dispatcher's to close (Dispatcher.Shutdown), before Stop.
func (h *Hub) Stop() {
	close(h.stop)
	h.wg.Wait()
}

func roomTopic(name string) string { return "room/" + name }

// remember adds a frame to the history, dropping the oldest beyond
// historyLen messages or historyBytes bytes.
func (r *room) remember(frame []byte, text bool) error {
	pm, err := wss.NewPreparedMessage(frame, text)
	if err != nil {
		return err
	}
	r.history = append(r.history, pm)
	r.size += pm.Len()
	for len(r.history) > historyLen || (r.size > historyBytes && len(r.history) > 1) {
		r.size -= r.history[0].Len()
		r.history[0] = nil
		r.history = r.history[1:]
	}
	return nil
}

func (r *room) addMember(node string, m member) {
	ms := r.members[node]
	if ms == nil {
		ms = make(map[string]member)
		r.members[node] = ms
	}
	ms[m.Client] = m
}

func (r *room) removeMember(node, clientID string) {
	delete(r.members[node], clientID)
	if len(r.members[node]) == 0 {
		delete(r.members, node)
	}
}

// nicks returns the sorted nicknames in the room.
func (r *room) nicks() []string {
	users := []string{}
	for _, ms := range r.members {
		for _, m := range ms {
			users = append(users, m.Nick)
		}
	}
	slices.SortFunc(users, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return slices.Compact(users)
}

func humanBytes(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
