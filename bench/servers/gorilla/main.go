// Command gorilla is an echo server on github.com/gorilla/websocket, written
// like the library's echo example: net/http, one goroutine per connection,
// ReadMessage then WriteMessage. Upgrader defaults: 4 KiB buffers reused from
// net/http and held for the life of the connection, compression off, no
// message size limit. Gorilla does not validate UTF-8 in text messages.
//
// ReadMessage allocates each message, but WriteMessage sends it as one frame
// in one write. The allocation-free NextReader/NextWriter with io.Copy sends
// a frame per 4 KiB write buffer instead, and measured about twice the server
// CPU per 1 MiB message here, and no less at 64 B.
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/gorilla/websocket"
)

var upgrader = websocket.Upgrader{
	EnableCompression: false, // the default, stated because the benchmark relies on it
}

func echo(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has already answered with an HTTP error
	}
	defer c.Close()
	for {
		op, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		if err := c.WriteMessage(op, msg); err != nil {
			return
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	fan := flag.Bool("fanout", false, "serve the fan-out scenario (fanout.go) instead of echo")
	flag.Parse()
	serve := http.HandlerFunc(echo)
	if *fan {
		serve = (&hub{subs: make(map[*subscriber]struct{})}).serve
	}
	log.Fatal(http.ListenAndServe(*addr, serve))
}
