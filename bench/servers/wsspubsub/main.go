// Command wsspubsub is the fan-out server of the benchmark on wss and its
// pubsub package: a connection on /pub publishes each of its messages to
// one topic; every other connection subscribes to that topic on open and
// is then sent one empty text message (framed once for all), through the
// same queue as what is published, to tell it so. Handshakes are answered
// on the event loops (Dispatcher.Serve), as in cmd/echo. The pubsub
// options are the defaults (a queue of 1,024 messages or 4 MiB per
// subscriber, closed on overflow).
package main

import (
	"flag"
	"log"
	"net"

	"github.com/wssgo/wss"
	"github.com/wssgo/wss/pubsub"
)

const topic = "fanout"

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "address to listen on")
	dispatcher := flag.String("dispatcher", "eventloop", "how connections are read: eventloop or goroutine")
	flag.Parse()
	modes := map[string]wss.Mode{"eventloop": wss.ModeEventLoop, "goroutine": wss.ModeGoroutine}
	mode, ok := modes[*dispatcher]
	if !ok {
		log.Fatalf("wsspubsub: -dispatcher must be eventloop or goroutine, not %q", *dispatcher)
	}
	d, err := wss.NewDispatcher(&wss.DispatcherConfig{Mode: mode})
	if err != nil {
		log.Fatal(err)
	}
	ps, err := pubsub.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	publisher := ps.Handler(wss.HandlerFuncs{
		Frame: func(_ *wss.Conn, data []byte, typ wss.MessageType) { _ = ps.Publish(topic, data, typ) },
		Close: func(*wss.Conn, wss.StatusCode) {},
	})
	subscribed, err := wss.NewPreparedMessage(nil, wss.Text) // framed once, sent to each
	if err != nil {
		log.Fatal(err)
	}
	subscriber := ps.Handler(wss.HandlerFuncs{
		Open: func(c *wss.Conn) {
			if err := ps.Subscribe(c, topic); err == nil {
				_ = ps.SendPrepared(c, subscribed)
			}
		},
		Frame: func(*wss.Conn, []byte, wss.MessageType) {},
		Close: func(*wss.Conn, wss.StatusCode) {},
	})
	log.Fatal(d.Serve(ln, &wss.Config{OriginPatterns: []string{"*"}}, func(r *wss.Request) (wss.Handler, error) {
		if r.Target() == "/pub" {
			return publisher, nil
		}
		return subscriber, nil
	}))
}
