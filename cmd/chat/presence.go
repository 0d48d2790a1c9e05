package main

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wssgo/wss"
)

// Presence is shared as deltas on eventsTopic: a join or a leave is one
// event, which each node turns into one notice to its own people in the
// room; only a joiner gets the room's full list. Each node says it is
// alive every timing.alive; one not heard from for timing.expiry has
// crashed, and its people leave, with a notice, at the next check (every
// timing.check): so within expiry + check of the crash. A node restarted
// on the same -data keeps its id with a new boot id: the others drop the
// members of its previous run as soon as they hear from it, so its people
// rejoining do not appear twice. A starting node asks the others for their
// members (hello), and each answers with its roster, once.

// presenceTiming sets the presence intervals; tests shorten them.
type presenceTiming struct {
	alive, expiry, check time.Duration
}

func defaultTiming() presenceTiming {
	return presenceTiming{alive: 5 * time.Second, expiry: 15 * time.Second, check: time.Second}
}

// event is what nodes tell each other on eventsTopic.
type event struct {
	Kind    string         `json:"kind"` // join, leave, alive, hello, roster
	Node    string         `json:"node"`
	Boot    string         `json:"boot"`
	Client  string         `json:"client,omitempty"`
	Room    string         `json:"room,omitempty"`
	Nick    string         `json:"nick,omitempty"`
	Key     string         `json:"key,omitempty"`
	Time    int64          `json:"time,omitempty"`
	Status  wss.StatusCode `json:"status,omitempty"`
	To      string         `json:"to,omitempty"`      // a leave that is a move: the room entered
	Renamed string         `json:"renamed,omitempty"` // a leave that is a nickname change: the new one
	Members []member       `json:"members,omitempty"`
}

// member is one person in one room, on one node.
type member struct {
	Node   string `json:"node"`
	Client string `json:"client"`
	Room   string `json:"room"`
	Nick   string `json:"nick"`
	Key    string `json:"key"`
}

// room is who is in one room, on all nodes; it exists while it has members.
type room struct {
	members map[string]member // client id -> member
}

// peer is another node as last heard.
type peer struct {
	boot string
	seen time.Time
}

// Reasons of the leave notices for people of another node.
const (
	reasonRestarted = "server restarted"
	reasonLost      = "server lost"
)

// publish sends an event to every node, this one included: this node's
// listener applies it before publish returns.
func (h *Hub) publish(ev *event) {
	ev.Node, ev.Boot = h.node, h.boot
	if ev.Time == 0 {
		ev.Time = time.Now().UnixMilli()
	}
	b, _ := json.Marshal(ev)
	if err := h.ps.Publish(eventsTopic, b, wss.Text); err != nil {
		h.log.Warn("chat: publish", "kind", ev.Kind, "err", err)
	}
}

// onEvent applies a presence event from any node, this one included.
func (h *Hub) onEvent(data []byte, _ wss.MessageType) {
	var ev event
	if err := json.Unmarshal(data, &ev); err != nil {
		h.log.Warn("chat: bad event", "err", err)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	other := ev.Node != h.node
	if other {
		h.heardLocked(ev.Node, ev.Boot)
	}
	switch ev.Kind {
	case "join":
		h.addLocked(member{Node: ev.Node, Client: ev.Client, Room: ev.Room, Nick: ev.Nick, Key: ev.Key}, ev.Time)
	case "leave":
		h.removeWhyLocked(ev.Node, ev.Client, ev.Status, "", ev.To, ev.Renamed, ev.Time)
	case "hello":
		if other {
			h.wg.Go(h.announceRoster)
		}
	case "roster":
		if other {
			h.setRosterLocked(ev.Node, ev.Members)
		}
	}
}

// heardLocked notes that node spoke; a new boot id means it restarted, and
// the members of its previous run are gone.
func (h *Hub) heardLocked(node, boot string) {
	p := h.peers[node]
	if p == nil {
		p = &peer{boot: boot}
		h.peers[node] = p
	}
	if p.boot != boot {
		h.log.Info("chat: node restarted, its previous members left", "node", node)
		h.dropNodeLocked(node, reasonRestarted)
		p.boot = boot
	}
	p.seen = time.Now()
}

// addLocked adds a member and tells the room, once.
func (h *Hub) addLocked(m member, at int64) {
	r := h.rooms[m.Room]
	if r == nil {
		r = &room{members: make(map[string]member)}
		h.rooms[m.Room] = r
	}
	if _, ok := r.members[m.Client]; ok {
		return
	}
	r.members[m.Client] = m
	ms := h.byNode[m.Node]
	if ms == nil {
		ms = make(map[string]member)
		h.byNode[m.Node] = ms
	}
	ms[m.Client] = m
	h.postLocked(m.Room, &outbound{Type: "join", Room: m.Room, From: m.Nick, Time: at})
}

// removeLocked removes a member and tells the room; to, if set, is the
// room the member moved to.
func (h *Hub) removeLocked(node, clientID string, status wss.StatusCode, to string, at int64) {
	h.removeWhyLocked(node, clientID, status, "", to, "", at)
}

// removeWhyLocked is removeLocked with a reason, which if set replaces the
// one of the close status, and the new nickname of a member who changed it.
func (h *Hub) removeWhyLocked(node, clientID string, status wss.StatusCode, reason, to, renamed string, at int64) {
	m, ok := h.byNode[node][clientID]
	if !ok {
		return
	}
	delete(h.byNode[node], clientID)
	if len(h.byNode[node]) == 0 {
		delete(h.byNode, node)
	}
	if r := h.rooms[m.Room]; r != nil {
		delete(r.members, clientID)
		if len(r.members) == 0 {
			delete(h.rooms, m.Room)
		}
	}
	if reason == "" {
		reason = closeReason(status)
	}
	if at == 0 {
		at = time.Now().UnixMilli()
	}
	h.postLocked(m.Room, &outbound{Type: "leave", Room: m.Room, From: m.Nick, Time: at, Status: status, Reason: reason, To: to, Nick: renamed})
}

// dropNodeLocked removes all the members of node.
func (h *Hub) dropNodeLocked(node, reason string) {
	for id := range h.byNode[node] {
		h.removeWhyLocked(node, id, wss.StatusGoingAway, reason, "", "", 0)
	}
}

// setRosterLocked makes node's members those of its roster, with notices
// for the differences only.
func (h *Hub) setRosterLocked(node string, ms []member) {
	keep := make(map[string]bool, len(ms))
	for _, m := range ms {
		m.Node = node
		keep[m.Client] = true
		if old, ok := h.byNode[node][m.Client]; ok && old.Room != m.Room {
			h.removeLocked(node, m.Client, wss.StatusNormalClosure, m.Room, 0)
		}
		h.addLocked(m, 0)
	}
	for id := range h.byNode[node] {
		if !keep[id] {
			h.removeLocked(node, id, wss.StatusNormalClosure, "", 0)
		}
	}
}

// postLocked relays a notice to this node's people in the room.
func (h *Hub) postLocked(roomName string, o *outbound) {
	if err := h.ps.PublishLocal(roomTopic(roomName), o.encode(), wss.Text); err != nil {
		h.log.Warn("chat: relay", "room", roomName, "err", err)
	}
}

// announceRoster tells the other nodes who is on this node.
func (h *Hub) announceRoster() {
	h.announce.Lock()
	defer h.announce.Unlock()
	h.mu.Lock()
	ms := []member{}
	for _, m := range h.byNode[h.node] {
		ms = append(ms, m)
	}
	h.mu.Unlock()
	h.publish(&event{Kind: "roster", Members: ms})
}

// presenceLoop says this node is alive and forgets silent nodes.
func (h *Hub) presenceLoop() {
	alive := time.NewTicker(h.timing.alive)
	defer alive.Stop()
	check := time.NewTicker(h.timing.check)
	defer check.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-alive.C:
			h.publish(&event{Kind: "alive"})
		case <-check.C:
			h.expireNodes()
		}
	}
}

// expireNodes removes the members of nodes not heard from for
// timing.expiry. While this node's own backplane is down it hears nobody,
// so it waits.
func (h *Hub) expireNodes() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.backplaneUp {
		return
	}
	for node, p := range h.peers {
		if time.Since(p.seen) > h.timing.expiry {
			h.log.Warn("chat: node silent, its members left", "node", node)
			delete(h.peers, node)
			h.dropNodeLocked(node, reasonLost)
		}
	}
}

// nicks returns the sorted nicknames in the room.
func (r *room) nicks() []string {
	users := []string{}
	if r == nil {
		return users
	}
	for _, m := range r.members {
		users = append(users, m.Nick)
	}
	slices.SortFunc(users, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return slices.Compact(users)
}

// roomList returns the rooms with members on any node or recent
// messages, by name, with their member counts and, for those with
// messages, the last one's id and how many this node has seen.
func (h *Hub) roomList() []roomInfo {
	var act map[string]roomActivity
	if h.activity != nil {
		act = h.activity.snapshot()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	list := make([]roomInfo, 0, len(h.rooms)+len(act))
	for name, r := range h.rooms {
		a := act[name]
		list = append(list, roomInfo{Name: name, Users: len(r.members), Last: idString(a.Last), Count: a.Count})
	}
	for name, a := range act {
		if h.rooms[name] == nil {
			list = append(list, roomInfo{Name: name, Last: idString(a.Last), Count: a.Count})
		}
	}
	slices.SortFunc(list, func(a, b roomInfo) int { return strings.Compare(a.Name, b.Name) })
	return list
}

func idString(id uint64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatUint(id, 10)
}
