// Command coder is an echo server on github.com/coder/websocket, written like
// the library's own echo loop: net/http, Accept, then Reader and Writer joined
// by io.CopyBuffer, one goroutine per connection. Compression is off (the
// default). The default read limit of 32 KiB is raised so that the 1 MiB
// scenario can run. coder/websocket does not validate UTF-8 in text messages.
package main

import (
	"flag"
	"io"
	"log"
	"net/http"
	"sync"

	"github.com/coder/websocket"
)

// maxMessage matches gws's default limit.
const maxMessage = 16 << 20

// copyBufs lends the 32 KiB copy buffer (coder's own echo loop allocates one
// per connection) only while a message is being copied, so that an idle
// connection does not hold one.
var copyBufs = sync.Pool{New: func() any { return new([32 << 10]byte) }}

func echo(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return // Accept has already answered with an HTTP error
	}
	defer c.CloseNow()
	c.SetReadLimit(maxMessage)
	ctx := r.Context()
	for {
		typ, rd, err := c.Reader(ctx)
		if err != nil {
			return
		}
		wr, err := c.Writer(ctx, typ)
		if err != nil {
			return
		}
		buf := copyBufs.Get().(*[32 << 10]byte)
		_, err = io.CopyBuffer(wr, rd, buf[:])
		copyBufs.Put(buf)
		if err != nil {
			return
		}
		if err := wr.Close(); err != nil {
			return
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(echo)))
}
