package main

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"
)

func startFloor(t *testing.T) string {
	t.Helper()
	s, err := listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(s.lfd)
	if err != nil {
		t.Fatal(err)
	}
	go s.loop() // runs until the test binary exits
	return fmt.Sprintf("ws://127.0.0.1:%d/", sa.(*unix.SockaddrInet4).Port)
}

// TestEcho sends messages of every header length, back to back, with no
// wait for the echoes: frames then arrive split and several to a read, and
// large echoes meet a full socket buffer.
func TestEcho(t *testing.T) {
	c, _, err := websocket.DefaultDialer.Dial(startFloor(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sizes := []int{0, 1, 125, 126, 127, 4093, 65535, 65536, 1<<20 + 3, 5}
	msgs := make([][]byte, len(sizes))
	for i, n := range sizes {
		msgs[i] = bytes.Repeat([]byte{byte('a' + i)}, n)
	}
	sent := make(chan error, 1)
	go func() {
		for i, m := range msgs {
			op := websocket.BinaryMessage
			if i%2 == 1 {
				op = websocket.TextMessage
			}
			if err := c.WriteMessage(op, m); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	for i, want := range msgs {
		op, got, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if wantOp := websocket.BinaryMessage + i%2*(websocket.TextMessage-websocket.BinaryMessage); op != wantOp {
			t.Errorf("message %d: opcode %d, want %d", i, op, wantOp)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("message %d: echo of %d bytes differs from the %d sent", i, len(got), len(want))
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}

// TestFragments checks that a fragmented message comes back whole: the floor
// echoes each frame as it is, FIN bit and opcode included.
func TestFragments(t *testing.T) {
	d := websocket.Dialer{WriteBufferSize: 1024} // gorilla sends a frame per buffer
	c, _, err := d.Dial(startFloor(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := bytes.Repeat([]byte("fragment"), 1000)
	w, err := c.NextWriter(websocket.TextMessage)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(want); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, got, err := c.ReadMessage(); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("echo of %d bytes, err %v; sent %d", len(got), err, len(want))
	}
}

func TestUnmask(t *testing.T) {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	for n := range 80 {
		p := make([]byte, n)
		unmask(p, key)
		for i, b := range p {
			if b != key[i%4] {
				t.Fatalf("length %d: byte %d is %#x, want %#x", n, i, b, key[i%4])
			}
		}
	}
}
