package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wssgo/wss/internal/natstest"
	"github.com/wssgo/wss/internal/wstest"
)

// pngImage returns a w×h PNG.
func pngImage(t testing.TB, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(80 + x*150/w), uint8(70 + y*120/h), 229, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestBadRequestsGetErrorsNotClosedConnections: every invalid request is
// answered with an error message, and the connection goes on working.
func TestBadRequestsGetErrorsNotClosedConnections(t *testing.T) {
	s := startChat(t, config{maxMessage: 64 << 10})
	c := dialChat(t, s)
	tests := []struct {
		name  string
		send  func()
		code  string
		after bool // sent after joining
	}{
		{"not JSON", func() { c.cl.Write(wstest.OpText, []byte("{oops")) }, "bad_json", false},
		{"unknown type", func() { c.send(map[string]string{"type": "dance"}) }, "bad_type", false},
		{"say before join", func() { c.send(map[string]string{"type": "say", "text": "hi"}) }, "not_joined", false},
		{"image before join", func() { c.cl.Write(wstest.OpBinary, pngImage(t, 4, 4)) }, "not_joined", false},
		{"empty nick", func() { c.send(map[string]string{"type": "join", "nick": "  "}) }, "bad_nick", false},
		{"long nick", func() { c.send(map[string]string{"type": "join", "nick": strings.Repeat("n", 25)}) }, "bad_nick", false},
		{"nick with markup", func() { c.send(map[string]string{"type": "join", "nick": "<b>x</b>"}) }, "bad_nick", false},
		{"bad room", func() { c.send(map[string]string{"type": "join", "nick": "ann", "room": "a b"}) }, "bad_room", false},
		{"empty message", func() { c.send(map[string]string{"type": "say", "text": " \n"}) }, "empty", true},
		{"long message", func() { c.send(map[string]string{"type": "say", "text": strings.Repeat("é", 2001)}) }, "too_long", true},
		{"image too big", func() { c.cl.Write(wstest.OpBinary, make([]byte, 64<<10+1)) }, "too_big", true},
		{"not an image", func() { c.cl.Write(wstest.OpBinary, []byte("GIF89 no, just text")) }, "bad_image", true},
	}
	joined := false
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.after && !joined {
				c.join("ann", "lobby")
				joined = true
			}
			tt.send()
			m := c.nextOf("error")
			if m.Code != tt.code || m.Message == "" {
				t.Fatalf("got error %q %q, want code %q with a message", m.Code, m.Message, tt.code)
			}
		})
	}
	// Still connected and working.
	c.send(map[string]string{"type": "say", "text": "still here"})
	if m := c.nextOf("message"); m.Text != "still here" || m.From != "ann" {
		t.Fatalf("got %+v after the errors", m)
	}
}

// generous are limits no test that is not about them reaches.
func generous() limits {
	return limits{msgRate: 1e6, addrMsgRate: 1e6, joinRate: 1e6, addrJoinRate: 1e6, connsPerAddr: 1000, maxRefusals: 10}
}

// TestRoomHistoryPresenceAndNotices: history of the last 100 messages (an
// image included), the presence list, and a leave notice with its status.
func TestRoomHistoryPresenceAndNotices(t *testing.T) {
	s := startChat(t, config{lim: generous()})
	ann := dialChat(t, s)
	ann.join("ann", "")
	for i := range 105 {
		ann.send(map[string]string{"type": "say", "text": fmt.Sprintf("m%d", i)})
	}
	pic := pngImage(t, 8, 8)
	ann.cl.Write(wstest.OpBinary, pic)
	for {
		if _, img := ann.next(); img != nil {
			break
		}
	}

	bob := dialChat(t, s)
	hist := bob.join("bob", "lobby")
	if len(hist) != 100 {
		t.Fatalf("history holds %d messages, want 100", len(hist))
	}
	if hist[0].Text != "m6" || hist[98].Text != "m104" || hist[99].Type != "image" || hist[99].From != "ann" {
		t.Fatalf("history runs %q..%q, then %+v; want m6..m104 then ann's image", hist[0].Text, hist[98].Text, hist[99])
	}
	if !slices.Equal(bob.users, []string{"ann", "bob"}) {
		t.Fatalf("presence %v, want [ann bob]", bob.users)
	}
	if m := ann.nextOf("join"); m.From != "bob" {
		t.Fatalf("join notice for %q, want bob", m.From)
	}

	dup := dialChat(t, s)
	dup.send(map[string]string{"type": "join", "nick": "Bob", "room": "lobby"})
	if m := dup.nextOf("error"); m.Code != "nick_taken" {
		t.Fatalf("second Bob: %+v, want nick_taken", m)
	}

	bob.cl.SendClose(1001)
	m := ann.nextOf("leave")
	if m.From != "bob" || m.Status != 1001 || m.Reason != "went away" {
		t.Fatalf("leave notice %+v, want bob, 1001, went away", m)
	}
}

// TestImageReachesTheRoomAsBinary: an image is relayed as a binary frame
// with its sender, type and bytes unchanged; other rooms do not get it.
func TestImageReachesTheRoomAsBinary(t *testing.T) {
	s := startChat(t, config{})
	ann, bob, cat := dialChat(t, s), dialChat(t, s), dialChat(t, s)
	ann.join("ann", "art")
	bob.join("bob", "art")
	cat.join("cat", "other")
	pic := pngImage(t, 32, 16)
	ann.cl.Write(wstest.OpBinary, pic)
	for {
		m, img := bob.next()
		if m.Type != "image" {
			continue
		}
		if m.From != "ann" || m.Mime != "image/png" || m.Size != len(pic) || !bytes.Equal(img, pic) {
			t.Fatalf("image %+v with %d bytes, want ann's %d-byte PNG", m, len(img), len(pic))
		}
		break
	}
	cat.send(map[string]string{"type": "say", "text": "marker"})
	for {
		m, img := cat.next()
		if img != nil {
			t.Fatal("an image of room art reached room other")
		}
		if m.Type == "message" {
			break
		}
	}
}

// TestShutdownSays1001: Ctrl-C closes every client with 1001.
func TestShutdownSays1001(t *testing.T) {
	s := startChat(t, config{})
	c := dialChat(t, s)
	c.join("ann", "lobby")
	go s.stop()
	for {
		f, err := c.cl.ReadWithin(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if f.Op == wstest.OpClose {
			if f.CloseCode() != 1001 {
				t.Fatalf("close code %d, want 1001", f.CloseCode())
			}
			c.cl.SendClose(1001)
			return
		}
	}
}

// TestTwoNodesThroughNATS: two chat servers share rooms through a real
// NATS server; clients on different nodes exchange messages exactly once,
// see each other in the presence list, and a late joiner gets the history.
func TestTwoNodesThroughNATS(t *testing.T) {
	ns := natstest.StartJetStream(t, 0, t.TempDir())
	n1 := startChat(t, config{natsURL: ns.ClientURL(), lim: generous()})
	n2 := startChat(t, config{natsURL: ns.ClientURL(), lim: generous()})

	ann := dialChat(t, n1)
	ann.join("ann", "lobby")
	bob := dialChat(t, n2)
	bob.join("bob", "lobby")
	bob.waitUsers("ann", "bob")
	if m := ann.nextOf("join"); m.From != "bob" {
		t.Fatalf("ann got a join notice for %q, want bob", m.From)
	}

	const n = 40
	for i := range n {
		ann.send(map[string]string{"type": "say", "text": fmt.Sprintf("a%d", i)})
		bob.send(map[string]string{"type": "say", "text": fmt.Sprintf("b%d", i)})
	}
	ann.send(map[string]string{"type": "say", "text": "a-end"})
	bob.send(map[string]string{"type": "say", "text": "b-end"})
	for _, c := range []*chatClient{ann, bob} {
		next := map[string]int{"a": 0, "b": 0}
		for ends := 0; ends < 2; {
			m := c.nextOf("message")
			if strings.HasSuffix(m.Text, "-end") {
				if k := m.Text[:1]; next[k] != n {
					t.Fatalf("%s after %d messages of %s, want %d", m.Text, next[k], k, n)
				}
				ends++
				continue
			}
			k, i := m.Text[:1], 0
			fmt.Sscanf(m.Text[1:], "%d", &i)
			if i != next[k] {
				t.Fatalf("got %q, want %s%d: each message once, in order", m.Text, k, next[k])
			}
			next[k]++
		}
		if next["a"] != n || next["b"] != n {
			t.Fatalf("got %v messages before the end marker, want %d of each", next, n)
		}
	}

	cat := dialChat(t, n2)
	hist := cat.join("cat", "lobby")
	if len(hist) != 2*n+2 || !strings.HasSuffix(hist[len(hist)-1].Text, "-end") {
		t.Fatalf("late joiner's history holds %d messages, want %d ending with a marker", len(hist), 2*n+2)
	}
	cat.waitUsers("ann", "bob", "cat")
}

// TestSlowClientIsDisconnectedOthersKeepReceiving: a client that stops
// reading is closed by the slow-consumer policy (1008); the others get
// every message and see it leave.
func TestSlowClientIsDisconnectedOthersKeepReceiving(t *testing.T) {
	s := startChat(t, config{maxMessage: 1 << 20, writeTimeout: time.Second, closeTimeout: time.Second, lim: generous()})
	slow := dialChat(t, s)
	slow.join("slow", "lobby")
	ann, bob := dialChat(t, s), dialChat(t, s)
	ann.join("ann", "lobby")
	bob.join("bob", "lobby")
	pic := pngImage(t, 128, 128)
	pic = append(pic, make([]byte, 1000<<10-len(pic))...) // trailing bytes: still a PNG to the sniffer
	left := false
	for i := 0; !left; i++ {
		if i == 2000 {
			t.Fatal("2000 images sent and the slow client is still in the room")
		}
		ann.cl.Write(wstest.OpBinary, pic)
		for _, c := range []*chatClient{ann, bob} {
			for {
				m, img := c.next()
				if m.Type == "leave" && m.From == "slow" {
					left = true
					continue
				}
				if img != nil {
					if !bytes.Equal(img, pic) {
						t.Fatal("image changed on the way")
					}
					break
				}
			}
		}
	}
}
