package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wssgo/wss"
	"github.com/wssgo/wss/pubsub"
)

// Rooms' messages and images are durable topics of the store, one per room
// (roomTopic): every node gets each of them once, in order, and a joiner
// gets the room's history from the store. Presence travels on eventsTopic,
// a plain topic every node listens to (see presence.go).
const eventsTopic = "chat/events"

// historyTimeout bounds reading a room's history from the store on a join.
const historyTimeout = 5 * time.Second

// client is one connection's state; its fields are guarded by Hub.mu.
type client struct {
	conn *wss.Conn
	id   string
	addr string
	nick string // "" until joined
	key  string // nickKey(nick)
	room string

	msgs, joins *bucket
	refusals    int  // requests refused for a rate in a row
	dropping    bool // closed for ignoring the limits: its frames are ignored
	closed      bool // OnClose ran

	joinMu sync.Mutex // orders this client's joins, which run off the event loop
}

// Hub is the chat: the clients of this node and the presence of all nodes.
type Hub struct {
	ps       *pubsub.PubSub
	log      *slog.Logger
	node     string // stable across restarts on the same -data
	boot     string // new at each start
	maxImage int
	lim      limits
	timing   presenceTiming

	nextID atomic.Uint64

	// activity is the rooms' recent messages, for the rooms list; set
	// before the hub serves.
	activity *activity

	mu          sync.Mutex
	clients     map[*wss.Conn]*client
	addrs       map[string]*addrState
	rooms       map[string]*room             // rooms with members on any node
	byNode      map[string]map[string]member // node -> client id -> member
	peers       map[string]*peer             // other nodes, by id
	backplaneUp bool

	// announce orders this node's membership events with its rosters.
	announce sync.Mutex

	stop chan struct{}
	wg   sync.WaitGroup
}

// NewHub starts the chat on ps as node. The backplane is taken as up until
// SetBackplane says otherwise.
func NewHub(ps *pubsub.PubSub, log *slog.Logger, node string, maxImage int, lim limits, timing presenceTiming) *Hub {
	var boot [6]byte
	rand.Read(boot[:])
	h := &Hub{
		ps:          ps,
		log:         log,
		node:        node,
		boot:        hex.EncodeToString(boot[:]),
		maxImage:    maxImage,
		lim:         lim,
		timing:      timing,
		clients:     make(map[*wss.Conn]*client),
		addrs:       make(map[string]*addrState),
		rooms:       make(map[string]*room),
		byNode:      make(map[string]map[string]member),
		peers:       make(map[string]*peer),
		backplaneUp: true,
		stop:        make(chan struct{}),
	}
	stopListen := ps.Listen(eventsTopic, h.onEvent)
	h.publish(&event{Kind: "hello"})
	h.wg.Go(func() {
		defer stopListen()
		h.presenceLoop()
	})
	return h
}

// Node returns this node's id.
func (h *Hub) Node() string { return h.node }

// renderStored gives a stored room message its id, the store's sequence.
func renderStored(m pubsub.Message) ([]byte, bool) {
	id := strconv.FormatUint(m.ID, 10)
	if m.Text {
		return withID(m.Data, id), true
	}
	hdr, img, err := splitImageFrame(m.Data)
	if err != nil {
		return m.Data, false
	}
	return imageFrame(withID(hdr, id), img), false
}

// Serve returns the http.Handler of /ws: it upgrades each request to a
// WebSocket served by d with cfg, one connHandler per connection, and
// refuses an address over its connection limit with 429.
func (h *Hub) Serve(d *wss.Dispatcher, cfg *wss.Config) http.Handler {
	return wss.HTTPHandler(d, cfg, func(r *wss.Request) (wss.Handler, error) {
		cl := &client{id: fmt.Sprintf("%s-%d", h.node, h.nextID.Add(1)), addr: hostOf(r.RemoteAddr())}
		// Counted before the upgrade; its OnClose, which comes whatever
		// happens to the handshake from here, releases it.
		if !h.admit(cl) {
			return nil, &wss.HandshakeError{StatusCode: http.StatusTooManyRequests,
				Body: fmt.Appendf(nil, "Too many connections from your address (at most %d).\n", h.lim.connsPerAddr)}
		}
		return h.ps.Handler(connHandler{h, cl}), nil
	})
}

// hostOf returns the host of a client's address, or "" if it is gone.
func hostOf(a net.Addr) string {
	if a == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// admit counts cl for its address unless the address has too many
// connections.
func (h *Hub) admit(cl *client) bool {
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.addrs[cl.addr]
	if a == nil {
		a = &addrState{msgs: newBucket(h.lim.addrMsgRate, msgBurstSeconds, now), joins: newBucket(h.lim.addrJoinRate, joinBurstSeconds, now)}
		h.addrs[cl.addr] = a
	}
	if a.conns >= h.lim.connsPerAddr {
		return false
	}
	a.conns++
	cl.msgs = newBucket(h.lim.msgRate, msgBurstSeconds, now)
	cl.joins = newBucket(h.lim.joinRate, joinBurstSeconds, now)
	return true
}

// release forgets cl; it reports whether cl was still registered.
func (h *Hub) release(cl *client) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if cl.closed {
		return false
	}
	if cl.conn != nil {
		delete(h.clients, cl.conn)
	}
	cl.closed = true
	if a := h.addrs[cl.addr]; a != nil {
		if a.conns--; a.conns <= 0 {
			delete(h.addrs, cl.addr)
		}
	}
	return true
}

// connHandler is the wss.Handler of one connection.
type connHandler struct {
	h  *Hub
	cl *client
}

func (ch connHandler) OnFrame(c *wss.Conn, data []byte, text bool) {
	h, cl := ch.h, ch.cl
	h.mu.Lock()
	dropping := cl.dropping
	h.mu.Unlock()
	if dropping {
		return
	}
	var err error
	if text {
		err = h.onText(cl, data)
	} else {
		err = h.onImage(cl, data)
	}
	if err != nil {
		h.refused(cl, err)
	}
}

// refused answers a refused request with an error message; a client that
// goes on past the rate limits is closed with 1008.
func (h *Hub) refused(cl *client, err error) {
	pe, ok := err.(*protocolError)
	if !ok {
		h.log.Error("chat: request failed", "client", cl.id, "err", err)
		pe = refuse("internal", "The server could not handle that.")
	}
	h.sendTo(cl.conn, &outbound{Type: "error", Code: pe.Code, Message: pe.Message})
	if pe.Code != "rate_limited" {
		return
	}
	h.mu.Lock()
	over := cl.refusals >= h.lim.maxRefusals && !cl.dropping
	cl.dropping = cl.dropping || over
	h.mu.Unlock()
	if over {
		h.log.Warn("chat: client ignored the rate limits, closing", "client", cl.id, "addr", cl.addr)
		h.ps.CloseWhenSent(cl.conn, wss.StatusPolicyViolation)
	}
}

// OnOpen registers the client under its connection.
func (ch connHandler) OnOpen(c *wss.Conn) {
	ch.h.mu.Lock()
	ch.cl.conn = c
	ch.h.clients[c] = ch.cl
	ch.h.mu.Unlock()
}

func (ch connHandler) OnClose(c *wss.Conn, status int) {
	h, cl := ch.h, ch.cl
	h.announce.Lock()
	defer h.announce.Unlock()
	h.release(cl)
	h.mu.Lock()
	nick, room := cl.nick, cl.room
	cl.nick = ""
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
		if err := h.allow(cl, cl.joins, "joins", h.lim.joinRate, func(a *addrState) *bucket { return a.joins }, h.lim.addrJoinRate); err != nil {
			return err
		}
		// Reading the history may wait for the store: off the event loop,
		// one join at a time per client.
		h.wg.Go(func() {
			cl.joinMu.Lock()
			defer cl.joinMu.Unlock()
			if err := h.join(cl, in.Nick, in.Room, in.After); err != nil {
				h.refused(cl, err)
			}
			h.forgetIfClosed(cl)
		})
		return nil
	case "rooms":
		h.sendTo(cl.conn, &outbound{Type: "rooms", Rooms: h.roomList()})
		return nil
	case "say":
		if h.nick(cl) == "" {
			return refuse("not_joined", "Join a room first.")
		}
		text, err := checkText(in.Text)
		if err != nil {
			return err
		}
		if err := h.allow(cl, cl.msgs, "messages", h.lim.msgRate, func(a *addrState) *bucket { return a.msgs }, h.lim.addrMsgRate); err != nil {
			return err
		}
		nick, room := h.where(cl)
		return h.store(room, (&outbound{Type: "message", Room: room, From: nick, Text: text, Time: time.Now().UnixMilli()}).encode(), true)
	}
	return refuse("bad_type", fmt.Sprintf("Unknown message type %q.", in.Type))
}

func (h *Hub) onImage(cl *client, data []byte) error {
	if h.nick(cl) == "" {
		return refuse("not_joined", "Join a room first.")
	}
	if len(data) > h.maxImage {
		return refuse("too_big", fmt.Sprintf("An image has at most %s.", humanBytes(h.maxImage)))
	}
	mime := http.DetectContentType(data)
	if !imageTypes[mime] {
		return refuse("bad_image", "Only PNG, JPEG, GIF and WebP images can be shared.")
	}
	if err := h.allow(cl, cl.msgs, "messages", h.lim.msgRate, func(a *addrState) *bucket { return a.msgs }, h.lim.addrMsgRate); err != nil {
		return err
	}
	nick, room := h.where(cl)
	hdr := (&outbound{Type: "image", Room: room, From: nick, Time: time.Now().UnixMilli(), Mime: mime, Size: len(data)}).encode()
	return h.store(room, imageFrame(hdr, data), false)
}

// store appends a room message to the store, which delivers it to the
// room on every node.
func (h *Hub) store(room string, frame []byte, text bool) error {
	if err := h.ps.Append(roomTopic(room), frame, text); err != nil {
		h.log.Warn("chat: store", "room", room, "err", err)
		return refuse("busy", "The server cannot take messages right now; try again in a moment.")
	}
	return nil
}

// allow spends a token of the client's bucket and of its address's, or
// refuses the request.
func (h *Hub) allow(cl *client, own *bucket, what string, rate float64, shared func(*addrState) *bucket, addrRate float64) error {
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if !own.take(now) {
		cl.refusals++
		return rateLimited(what, rate)
	}
	if a := h.addrs[cl.addr]; a != nil && !shared(a).take(now) {
		cl.refusals++
		return rateLimited(what+" from your address", addrRate)
	}
	cl.refusals = 0
	return nil
}

func (h *Hub) nick(cl *client) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return cl.nick
}

func (h *Hub) where(cl *client) (nick, room string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return cl.nick, cl.room
}

// join puts cl in a room, leaving the one it was in: the welcome, the
// full presence list (to the joiner only: the others get a join notice),
// then the history from the store, after the message id after if the page
// is resuming, then every later message.
func (h *Hub) join(cl *client, nickIn, roomIn, after string) error {
	nick, key, err := checkNick(nickIn)
	if err != nil {
		return err
	}
	roomName, err := checkRoom(roomIn)
	if err != nil {
		return err
	}
	afterID, _ := strconv.ParseUint(after, 10, 64)
	entered, up, err := h.enter(cl, nick, key, roomName)
	if err != nil || !entered {
		return err
	}
	h.sendTo(cl.conn, &outbound{Type: "welcome", Nick: nick, Room: roomName, Node: h.node,
		MaxText: maxTextLen, MaxImage: h.maxImage, Backplane: upDown(up)})
	ctx, cancel := context.WithTimeout(context.Background(), historyTimeout)
	defer cancel()
	// The presence list is taken once cl is in the room's topic: a join or
	// leave it does not show reaches cl as a notice after it.
	var users []string
	err = h.ps.SubscribeFrom(ctx, cl.conn, roomTopic(roomName), afterID, &pubsub.Replay{
		Subscribed: func() {
			h.mu.Lock()
			users = h.rooms[roomName].nicks()
			h.mu.Unlock()
		},
		Intro: func(n int, gap bool) [][]byte {
			return [][]byte{
				(&outbound{Type: "presence", Room: roomName, Users: users}).encode(),
				(&outbound{Type: "history", Room: roomName, Count: &n, Resume: afterID > 0, Gap: gap}).encode(),
			}
		},
	})
	if err != nil && !errors.Is(err, pubsub.ErrGap) {
		h.log.Warn("chat: history not read", "room", roomName, "err", err)
	}
	h.log.Info("chat: joined", "client", cl.id, "nick", nick, "room", roomName, "after", afterID)
	return nil
}

// enter moves cl's membership to roomName and announces it; entered is
// false if there was nothing to do.
func (h *Hub) enter(cl *client, nick, key, roomName string) (entered, up bool, err error) {
	h.announce.Lock()
	defer h.announce.Unlock()
	h.mu.Lock()
	oldNick, oldRoom, closed := cl.nick, cl.room, cl.closed
	taken := h.takenLocked(roomName, key, cl.id)
	h.mu.Unlock()
	if closed || (oldNick == nick && oldRoom == roomName) {
		return false, false, nil
	}
	// Checked before leaving the old room: a refused switch keeps cl where
	// it was. (enter runs under announce, so no join comes in between.)
	if taken != "" {
		return false, false, refuse("nick_taken", fmt.Sprintf("%q (or a name that looks like it) is already in room %s.", taken, roomName))
	}
	if oldNick != "" {
		h.ps.Unsubscribe(cl.conn, roomTopic(oldRoom))
		h.mu.Lock()
		cl.nick = ""
		h.mu.Unlock()
		ev := &event{Kind: "leave", Client: cl.id, Room: oldRoom, Nick: oldNick, Status: wss.StatusNormalClosure}
		if oldRoom != roomName {
			ev.To = roomName
		} else {
			ev.Renamed = nick
		}
		h.publish(ev)
	}
	h.mu.Lock()
	cl.nick, cl.key, cl.room = nick, key, roomName
	up = h.backplaneUp
	h.mu.Unlock()
	h.publish(&event{Kind: "join", Client: cl.id, Room: roomName, Nick: nick, Key: key})
	return true, up, nil
}

// takenLocked returns the nickname of another member of roomName with the
// same key, or "".
func (h *Hub) takenLocked(roomName, key, self string) string {
	if r := h.rooms[roomName]; r != nil {
		for _, m := range r.members {
			if m.Key == key && m.Client != self {
				return m.Nick
			}
		}
	}
	return ""
}

// forgetIfClosed undoes what a join did for a connection that closed
// while it ran: its subscriptions and queue.
func (h *Hub) forgetIfClosed(cl *client) {
	h.mu.Lock()
	closed := cl.closed
	h.mu.Unlock()
	if closed {
		h.ps.UnsubscribeAll(cl.conn)
	}
}

// SetBackplane records whether the backplane is connected and tells every
// client; when it is back, the nodes exchange their members again.
func (h *Hub) SetBackplane(up bool) {
	h.mu.Lock()
	if h.backplaneUp == up {
		h.mu.Unlock()
		return
	}
	h.backplaneUp = up
	conns := make([]*wss.Conn, 0, len(h.clients))
	for c := range h.clients {
		conns = append(conns, c)
	}
	if up {
		now := time.Now()
		for _, p := range h.peers {
			p.seen = now // not heard while down: a new grace period
		}
	}
	h.mu.Unlock()
	h.log.Info("chat: backplane", "state", upDown(up))
	msg := (&outbound{Type: "status", Backplane: upDown(up)}).encode()
	for _, c := range conns {
		_ = h.ps.Send(c, msg, true)
	}
	if up {
		h.publish(&event{Kind: "hello"})
		h.announceRoster()
	}
}

func upDown(up bool) string {
	if up {
		return "up"
	}
	return "down"
}

// sendTo queues a reply for one connection, in order with its broadcasts.
func (h *Hub) sendTo(c *wss.Conn, o *outbound) {
	_ = h.ps.Send(c, o.encode(), true)
}

// Stop stops the presence announcements and waits for joins in progress.
// The connections are the Dispatcher's to close (Dispatcher.Shutdown),
// before Stop.
func (h *Hub) Stop() {
	close(h.stop)
	h.wg.Wait()
}

func roomTopic(name string) string { return "room/" + name }

func humanBytes(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
