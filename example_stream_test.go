package wss_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/wssgo/wss"
)

// upload is a FragmentHandler: it sees each message in pieces as they
// arrive and counts them, never holding a message.
type upload struct {
	n    int64
	done chan int64
}

func (u *upload) OnFragment(c *wss.Conn, data []byte, text, final bool) {
	u.n += int64(len(data)) // data is valid only during the call
	if final {
		u.done <- u.n
		u.n = 0
	}
}

func (u *upload) OnFrame(c *wss.Conn, data []byte, text bool) {} // never called
func (u *upload) OnClose(c *wss.Conn, status int)             {}

// dialUpload starts a server with an upload handler and dials it.
func dialUpload(u *upload) (*wss.Conn, func()) {
	cfg := &wss.Config{MaxMessageSize: 1 << 30} // bounds the whole message, not a piece
	srv := httptest.NewServer(wss.HTTPHandler(nil, cfg, func(*wss.Request) (wss.Handler, error) { return u, nil }))
	c, err := wss.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), wss.HandlerFuncs{Frame: func(*wss.Conn, []byte, bool) {}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	return c, func() { _ = c.Close(wss.StatusNormalClosure); srv.Close() }
}

// A message sent in fragments as it is read from a source: io.Copy sends
// a frame per 64 KiB, and Close the last one.
func ExampleConn_Writer() {
	u := &upload{done: make(chan int64)}
	c, stop := dialUpload(u)
	defer stop()

	w, err := c.Writer(false)
	if err != nil {
		log.Fatal(err)
	}
	src := io.LimitReader(zeros{}, 8<<20) // 8 MiB, never in memory
	if _, err := io.Copy(w, src); err != nil {
		log.Print(err)
	}
	if err := w.Close(); err != nil {
		log.Print(err)
	}
	fmt.Println("received", <-u.done>>20, "MiB")
	// Output: received 8 MiB
}

// A text message received in pieces: a character may be split between
// two of them, and the message is still checked as UTF-8 whole.
func ExampleFragmentHandler() {
	u := &upload{done: make(chan int64)}
	c, stop := dialUpload(u)
	defer stop()

	w, _ := c.Writer(true)
	for _, p := range []string{"gr", "\xc3", "\xbc", "ße"} { // "grüße", ü split in two
		if _, err := w.Write([]byte(p)); err != nil {
			log.Print(err)
		}
	}
	_ = w.Close()
	fmt.Println("received", <-u.done, "bytes")
	// Output: received 7 bytes
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
