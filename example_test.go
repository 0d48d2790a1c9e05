package wss_test

import (
	"log"
	"net/http"

	"github.com/wssgo/wss"
)

// chat is a Handler: one call per complete message, one OnClose per
// connection.
type chat struct{}

func (chat) OnFrame(c *wss.Conn, data []byte, text bool) {
	// data is valid only during the call; Write does not keep it.
	if err := c.Write(data, text); err != nil {
		log.Print(err)
	}
}

func (chat) OnClose(c *wss.Conn, status int) {
	// status > 0: the peer's close code (1005 if it sent none);
	// status < 0: the connection dropped (wss.StatusConnLost, ...).
	log.Printf("%v closed: %d", c.RemoteAddr(), status)
}

func ExampleHTTPHandler() {
	d, err := wss.NewDispatcher(nil)
	if err != nil {
		log.Fatal(err)
	}
	h := wss.HTTPHandler(d, nil, func(r *http.Request) wss.Handler { return chat{} })
	http.Handle("/ws", h)
	// log.Fatal(http.ListenAndServe("127.0.0.1:9001", nil))
}

func ExampleHandlerFuncs() {
	h := wss.HandlerFuncs{
		Frame: func(c *wss.Conn, data []byte, text bool) { _ = c.Write(data, text) },
		Close: func(c *wss.Conn, status int) { log.Print("closed: ", status) },
	}
	_ = wss.HTTPHandler(nil, &wss.Config{MaxMessageSize: 1 << 20}, func(*http.Request) wss.Handler { return h })
}
