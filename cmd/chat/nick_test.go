package main

import (
	"strings"
	"testing"
)

// TestNicknamesByPRECISWithoutLookalikes: RFC 8266 enforcement (width and
// compatibility forms folded by NFKC, spaces trimmed), blank, invisible and
// mixed-script nicknames refused, and look-alikes colliding on one key.
func TestNicknamesByPRECISWithoutLookalikes(t *testing.T) {
	tests := []struct {
		in, nick, key string
		refused       bool
	}{
		{in: "ann", nick: "ann", key: "ann"},
		{in: "  Ann  ", nick: "Ann", key: "ann"},
		{in: "𝓪𝓷𝓷", nick: "ann", key: "ann"},
		{in: "ａｎｎ", nick: "ann", key: "ann"},
		{in: "ann.", nick: "ann.", key: "ann"},
		{in: "a_n-n", nick: "a_n-n", key: "ann"},
		{in: "асе", nick: "асе", key: "ace"}, // Cyrillic only: allowed, collides with "ace"
		{in: "Zoë", nick: "Zoë", key: "zoë"},
		{in: "山田太郎", nick: "山田太郎", key: "山田太郎"},
		{in: "аnn", refused: true},          // Cyrillic а with Latin nn
		{in: "ㅤ", refused: true},            // Hangul filler
		{in: "\u115f\u1160", refused: true}, // Hangul choseong and jungseong fillers
		{in: "ann\u200b", refused: true},    // zero-width space
		{in: "a\u200dnn", refused: true},    // zero-width joiner
		{in: "  ", refused: true},
		{in: "...", refused: true},
		{in: "<b>x</b>", refused: true},
		{in: strings.Repeat("n", 25), refused: true},
	}
	for _, tt := range tests {
		nick, key, err := checkNick(tt.in)
		if tt.refused {
			if err == nil {
				t.Errorf("%q accepted as %q, want refused", tt.in, nick)
			} else if pe, ok := err.(*protocolError); !ok || pe.Code != "bad_nick" || pe.Message == "" {
				t.Errorf("%q: error %v, want bad_nick with a message", tt.in, err)
			}
			continue
		}
		if err != nil || nick != tt.nick || key != tt.key {
			t.Errorf("%q: got %q key %q err %v, want %q key %q", tt.in, nick, key, err, tt.nick, tt.key)
		}
	}
}
