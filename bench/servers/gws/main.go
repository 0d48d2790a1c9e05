// Command gws is an echo server on github.com/lxzan/gws, written like the
// library's README: gws.NewServer with an event handler whose OnMessage writes
// the message back. Under the events gws still runs one goroutine per
// connection. ParallelEnabled is off (messages of a connection are handled in
// order on its reading goroutine) and compression is off; both are the
// defaults. So is CheckUtf8Enabled = false: gws does not validate UTF-8 in
// text messages unless asked, and it is left as shipped. Limit: the default
// 16 MiB per message.
package main

import (
	"flag"
	"log"

	"github.com/lxzan/gws"
)

type handler struct {
	gws.BuiltinEventHandler
}

// OnPing answers with the ping's payload, as RFC 6455 section 5.5.3 asks;
// gws's built-in handler sends an empty pong.
func (handler) OnPing(c *gws.Conn, payload []byte) { _ = c.WritePong(payload) }

func (handler) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close() // returns the message buffer to gws's pool
	_ = c.WriteMessage(m.Opcode, m.Bytes())
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	fan := flag.Bool("fanout", false, "serve the fan-out scenario (fanout.go) instead of echo")
	flag.Parse()
	opts := &gws.ServerOption{
		ParallelEnabled:   false,
		PermessageDeflate: gws.PermessageDeflate{Enabled: false},
	}
	var h gws.Event = &handler{}
	if *fan {
		h, opts.Authorize = &fanout{subs: make(map[*gws.Conn]struct{})}, authorize
	}
	srv := gws.NewServer(h, opts)
	log.Fatal(srv.Run(*addr))
}
