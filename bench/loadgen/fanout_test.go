package main

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/wssgo/wss/bench/internal/wsproto"
)

// delivery returns an unmasked binary frame of size bytes numbered seq.
func delivery(seq uint64, size int) []byte {
	p := make([]byte, size)
	binary.BigEndian.PutUint64(p, seq)
	return append(wsproto.AppendHeader(nil, wsproto.OpBinary, size, false), p...)
}

// TestFanoutChecksEveryDelivery feeds one subscriber the server frames of
// a fan-out run, split at every byte boundary, and checks what is accepted
// as deliveries and what fails the run.
func TestFanoutChecksEveryDelivery(t *testing.T) {
	mark := []byte{0x80 | wsproto.OpText, 0}
	cat := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	cases := []struct {
		name    string
		in      []byte
		wantErr string // "" : accepted
		want    uint64 // deliveries counted
	}{
		{"mark, then 1 and 2", cat(mark, delivery(1, 64), delivery(2, 64)), "", 2},
		{"a gap", cat(mark, delivery(1, 64), delivery(3, 64)), "delivery of message 3, expected 2", 1},
		{"a repeat", cat(mark, delivery(1, 64), delivery(1, 64)), "delivery of message 1, expected 2", 1},
		{"a delivery before the mark", delivery(1, 64), "unexpected opcode 2", 0},
		{"a short delivery", cat(mark, delivery(1, 63)), "delivery of 63 bytes, published 64", 0},
		{"beyond the burst", cat(mark, delivery(1, 64), delivery(2, 64), delivery(3, 64)), "message 3, never published", 2},
	}
	for _, tc := range cases {
		for _, split := range []int{1, 7, len(tc.in)} {
			g := &gen{config: config{conns: 2, size: 64, window: 2}, counting: true}
			g.payload = make([]byte, g.size)
			f, err := newFanout(g)
			if err != nil {
				t.Fatal(err)
			}
			g.fan = f
			f.left = g.conns * f.window // a burst of 2 in flight, to 2 subscribers
			c := &conn{}
			for b := tc.in; len(b) > 0 && err == nil; b = b[min(split, len(b)):] {
				err = g.fanFrames(c, b[:min(split, len(b))])
			}
			switch {
			case tc.wantErr == "" && err != nil, tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("%s, in pieces of %d: error %v, want %q", tc.name, split, err, tc.wantErr)
			case f.delivered != tc.want:
				t.Errorf("%s, in pieces of %d: %d deliveries, want %d", tc.name, split, f.delivered, tc.want)
			}
		}
	}
}
