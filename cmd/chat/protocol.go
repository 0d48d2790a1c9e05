package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wssgo/wss"
)

// The protocol between the page and the server: one WebSocket per tab, at
// /ws. Text frames carry one JSON object each, with a "type"; binary frames
// carry images. docs/chat.md describes it for people.

// Limits on what clients send.
const (
	maxNickLen  = 24   // characters
	maxRoomLen  = 32   // characters
	maxTextLen  = 2000 // characters of a chat message
	defaultRoom = "lobby"
)

// inbound is a text frame from the page.
//
//	{"type":"join","nick":"ann","room":"lobby"}  join (or switch to) a room
//	{"type":"join","nick":"ann","room":"lobby","after":"41"}
//	                                              rejoin after a reconnect: the
//	                                              history is what came after 41
//	{"type":"say","text":"hello"}                 send a message to the room
//	{"type":"rooms"}                              ask for the rooms list
//
// An image is a binary frame holding the image file (PNG, JPEG, GIF or
// WebP), sent after joining.
type inbound struct {
	Type string `json:"type"`
	Nick string `json:"nick"`
	Room string `json:"room"`
	Text string `json:"text"`
	// After is the id of the last message the page shows, "" for none.
	After string `json:"after"`
}

// outbound is a text frame to the page. Its types:
//
//	welcome   {nick, room, node, maxText, maxImage, backplane}  the join
//	                                        succeeded; backplane is "up" or
//	                                        "down" (messages wait for it)
//	presence  {room, users}                 who is in the room, to the joiner
//	history   {room, count, resume, gap}    the next count frames are the
//	                                        room's history, oldest first:
//	                                        with resume, what came after the
//	                                        "after" id; gap: some of it is lost
//	status    {backplane}                   the backplane went down or up
//	message   {room, id, from, text, time}  a chat message
//	join      {room, from, time}            someone joined the room
//	leave     {room, from, time, status, reason, to, nick}  someone left;
//	                                        status is the WebSocket close
//	                                        status; to, if set, the room they
//	                                        moved to; nick, if set, their new
//	                                        nickname (a join follows)
//	rooms     {rooms: [{name, users, last, count}]}  the rooms with people
//	                                        in them or recent messages, on
//	                                        request
//	error     {code, message}               a request was refused
//
// time is milliseconds since the Unix epoch. An image goes to the page as a
// binary frame: a 4-byte big-endian length n, then n bytes of JSON
// {type:"image", room, id, from, time, mime, size}, then the image bytes.
type outbound struct {
	Type      string         `json:"type"`
	Room      string         `json:"room,omitempty"`
	ID        string         `json:"id,omitempty"`
	From      string         `json:"from,omitempty"`
	Nick      string         `json:"nick,omitempty"`
	Text      string         `json:"text,omitempty"`
	Time      int64          `json:"time,omitempty"`
	Status    wss.StatusCode `json:"status,omitempty"`
	Reason    string         `json:"reason,omitempty"`
	Users     []string       `json:"users,omitempty"`
	Count     *int           `json:"count,omitempty"`
	Node      string         `json:"node,omitempty"`
	MaxText   int            `json:"maxText,omitempty"`
	MaxImage  int            `json:"maxImage,omitempty"`
	Code      string         `json:"code,omitempty"`
	Message   string         `json:"message,omitempty"`
	Mime      string         `json:"mime,omitempty"`
	Size      int            `json:"size,omitempty"`
	Resume    bool           `json:"resume,omitempty"`
	Gap       bool           `json:"gap,omitempty"`
	Backplane string         `json:"backplane,omitempty"`
	To        string         `json:"to,omitempty"`
	Rooms     []roomInfo     `json:"rooms,omitempty"`
}

// roomInfo is one room of a rooms list.
type roomInfo struct {
	Name  string `json:"name"`
	Users int    `json:"users"`
	Last  string `json:"last,omitempty"`  // id of the room's last message
	Count uint64 `json:"count,omitempty"` // its messages seen by this node since it started
}

func (o *outbound) encode() []byte {
	b, _ := json.Marshal(o) // cannot fail: strings, numbers and slices only
	return b
}

// imageFrame builds the binary frame of an image: header length, JSON
// header, image bytes.
func imageFrame(h []byte, img []byte) []byte {
	b := make([]byte, 0, 4+len(h)+len(img))
	b = binary.BigEndian.AppendUint32(b, uint32(len(h)))
	return append(append(b, h...), img...)
}

// withID returns a JSON object with an "id" member last (so it is the one
// a reader keeps): stored messages get their id, the store's sequence, as
// they are delivered. Anything but an object is returned as it is.
func withID(obj []byte, id string) []byte {
	obj = bytes.TrimRight(obj, " \t\r\n")
	if len(obj) < 2 || obj[0] != '{' || obj[len(obj)-1] != '}' {
		return obj
	}
	body := bytes.TrimSpace(obj[1 : len(obj)-1])
	b := make([]byte, 0, len(obj)+len(id)+9)
	b = append(b, '{')
	if len(body) > 0 {
		b = append(append(b, body...), ',')
	}
	b = append(b, `"id":"`...)
	b = append(b, id...)
	return append(b, '"', '}')
}

// splitImageFrame parses an image frame into its header and image bytes.
func splitImageFrame(b []byte) (hdr []byte, img []byte, err error) {
	if len(b) < 4 {
		return nil, nil, errors.New("short image frame")
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, nil, errors.New("image header longer than frame")
	}
	return b[4 : 4+n], b[4+n:], nil
}

// A protocolError is a refused request: its code and text go to the page.
type protocolError struct {
	Code, Message string
}

func (e *protocolError) Error() string { return e.Code + ": " + e.Message }

func refuse(code, msg string) *protocolError { return &protocolError{code, msg} }

// checkRoom normalises a room name and checks it: 1 to 32 lower-case
// letters, digits, - and _; empty means the default room.
func checkRoom(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return defaultRoom, nil
	}
	if utf8.RuneCountInString(s) > maxRoomLen {
		return "", refuse("bad_room", "A room name has at most 32 characters.")
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '_' {
			return "", refuse("bad_room", "A room name may hold letters, digits, - and _ only.")
		}
	}
	return s, nil
}

// checkText checks a chat message: 1 to maxTextLen characters, not blank.
func checkText(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", refuse("empty", "The message is empty.")
	}
	if utf8.RuneCountInString(s) > maxTextLen {
		return "", refuse("too_long", "A message has at most 2000 characters.")
	}
	return s, nil
}

// imageTypes are the image types the page may share.
var imageTypes = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true,
}

// statusPageHidden is the close status the page sends when it is closed
// or navigated away from (a page's script may not send 1001).
const statusPageHidden wss.StatusCode = 4001

// closeReason names a close status for people.
func closeReason(status wss.StatusCode) string {
	switch status {
	case wss.StatusNormalClosure:
		return "left"
	case wss.StatusGoingAway, statusPageHidden:
		return "went away"
	case wss.StatusNoStatus:
		return "closed without status"
	case wss.StatusPolicyViolation, wss.StatusTryAgainLater:
		return "too slow, disconnected"
	case wss.StatusMessageTooBig, wss.StatusTooBig:
		return "message too big"
	case wss.StatusProtocolViolation, wss.StatusInvalidUTF8, wss.StatusProtocolError, wss.StatusInvalidData:
		return "protocol error"
	case wss.StatusWriteTimeout, wss.StatusCloseTimeout, wss.StatusIdleTimeout, wss.StatusPongTimeout:
		return "timed out"
	case wss.StatusShutdown:
		return "server shut down"
	}
	if status < 0 {
		return "connection lost"
	}
	return "closed"
}
