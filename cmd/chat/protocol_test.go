package main

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wssgo/wss"

	"github.com/wssgo/wss/pubsub"
)

func TestCheckNickAndRoom(t *testing.T) {
	tests := []struct {
		in, nick string
		ok       bool
	}{
		{"ann", "ann", true},
		{"  Ann Lee ", "Ann Lee", true},
		{"zoë_3.x-y", "zoë_3.x-y", true},
		{"", "", false},
		{"   ", "", false},
		{"<script>", "", false},
		{"a\u202eb", "", false}, // bidi override: not a letter
		{"123456789012345678901234", "123456789012345678901234", true},
		{"1234567890123456789012345", "", false},
	}
	for _, tt := range tests {
		got, _, err := checkNick(tt.in)
		if (err == nil) != tt.ok || got != tt.nick {
			t.Errorf("checkNick(%q) = %q, %v; want %q, ok %v", tt.in, got, err, tt.nick, tt.ok)
		}
	}
	rooms := []struct {
		in, room string
		ok       bool
	}{
		{"", "lobby", true},
		{"Go-Team", "go-team", true},
		{"a b", "", false},
		{"a/b", "", false},
		{"x12345678901234567890123456789012", "", false},
	}
	for _, tt := range rooms {
		got, err := checkRoom(tt.in)
		if (err == nil) != tt.ok || got != tt.room {
			t.Errorf("checkRoom(%q) = %q, %v; want %q, ok %v", tt.in, got, err, tt.room, tt.ok)
		}
	}
}

func TestImageFrameRoundTrip(t *testing.T) {
	hdr := (&outbound{Type: "image", From: "ann", Mime: "image/png"}).encode()
	h, img, err := splitImageFrame(imageFrame(hdr, []byte{1, 2, 3}))
	if err != nil || string(h) != string(hdr) || string(img) != "\x01\x02\x03" {
		t.Fatalf("got %q %x %v", h, img, err)
	}
	for _, bad := range [][]byte{nil, {0, 0, 0}, {0, 0, 0, 9, '{'}, {0xff, 0xff, 0xff, 0xff}} {
		if _, _, err := splitImageFrame(bad); err == nil {
			t.Errorf("splitImageFrame(%x) accepted", bad)
		}
	}
}

// FuzzClientInput: whatever a client sends, the checks never panic and
// what they accept is within the limits.
func FuzzClientInput(f *testing.F) {
	f.Add([]byte(`{"type":"join","nick":"ann","room":"lobby"}`))
	f.Add([]byte(`{"type":"say","text":"hi"}`))
	f.Add([]byte{0, 0, 0, 2, '{', '}', 0x89, 'P', 'N', 'G'})
	f.Fuzz(func(t *testing.T, data []byte) {
		var in inbound
		if json.Unmarshal(data, &in) == nil {
			if nick, key, err := checkNick(in.Nick); err == nil && (nick == "" || key == "" || utf8.RuneCountInString(nick) > maxNickLen ||
				mixedScripts(nick) || strings.IndexFunc(nick, invisible) >= 0) {
				t.Fatalf("accepted nick %q (key %q)", nick, key)
			}
			if room, err := checkRoom(in.Room); err == nil && (room == "" || utf8.RuneCountInString(room) > maxRoomLen) {
				t.Fatalf("accepted room %q", room)
			}
			if text, err := checkText(in.Text); err == nil && utf8.RuneCountInString(text) > maxTextLen {
				t.Fatalf("accepted %d characters", utf8.RuneCountInString(text))
			}
		}
		if hdr, img, err := splitImageFrame(data); err == nil && 4+len(hdr)+len(img) != len(data) {
			t.Fatalf("split %d bytes into %d + %d", len(data), len(hdr), len(img))
		}
	})
}

// FuzzRenderStored: whatever another node stored, giving it its id never
// panics, and a JSON object stays one, with our id.
func FuzzRenderStored(f *testing.F) {
	f.Add([]byte(`{"type":"message","text":"hi"}`), true)
	f.Add([]byte(`{}`), true)
	f.Add([]byte(`{"id":"7"} `), true)
	f.Add(imageFrame([]byte(`{"type":"image"}`), []byte{1, 2}), false)
	f.Add([]byte{0, 0, 0, 9, '{'}, false)
	f.Fuzz(func(t *testing.T, data []byte, text bool) {
		out, _ := renderStored(pubsub.Message{ID: 42, Data: data, Type: fuzzType(text)})
		if text && json.Valid(data) && len(data) > 1 && data[0] == '{' {
			var m map[string]any
			if err := json.Unmarshal(out, &m); err != nil || m["id"] != "42" {
				t.Fatalf("%q rendered as %q", data, out)
			}
		}
	})
}

// fuzzType maps a fuzzed bool to a message type.
func fuzzType(text bool) wss.MessageType {
	if text {
		return wss.Text
	}
	return wss.Binary
}
