// Command echo is a WebSocket echo server: every message comes back with
// its opcode, on any path. It is the target of conformance runs and
// benchmarks.
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/wssgo/wss"
)

// echo writes every message back as it came.
type echo struct{}

func (echo) OnFrame(c *wss.Conn, data []byte, text bool) { _ = c.Write(data, text) }
func (echo) OnClose(*wss.Conn, int)                      {}

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "address to listen on")
	dispatcher := flag.String("dispatcher", "auto", "how connections are read: auto, epoll or goroutine")
	offLoop := flag.Bool("offloop", false, "run handlers off the event loops")
	loops := flag.Int("loops", 0, "event loops (0: GOMAXPROCS)")
	compress := flag.Bool("compress", false, "negotiate permessage-deflate (RFC 7692) with clients that offer it")
	noTakeover := flag.Bool("no-context-takeover", false, "with -compress: compress each message on its own, both ways, to save memory")
	flag.Parse()

	modes := map[string]wss.Mode{"auto": wss.ModeAuto, "epoll": wss.ModeEventLoop, "goroutine": wss.ModeGoroutine}
	mode, ok := modes[*dispatcher]
	if !ok {
		log.Fatalf("echo: -dispatcher must be auto, epoll or goroutine, not %q", *dispatcher)
	}
	d, err := wss.NewDispatcher(&wss.DispatcherConfig{Mode: mode, Loops: *loops, OffLoop: *offLoop})
	if err != nil {
		log.Fatal(err)
	}
	cfg := &wss.Config{OriginPatterns: []string{"*"}}
	if *compress {
		cfg.Compression = &wss.CompressionConfig{
			ServerNoContextTakeover: *noTakeover,
			ClientNoContextTakeover: *noTakeover,
		}
	}
	h := wss.HTTPHandler(d, cfg, func(*http.Request) wss.Handler { return echo{} })
	log.Printf("echo: listening on ws://%s (dispatcher %s)", *addr, *dispatcher)
	log.Fatal(http.ListenAndServe(*addr, h))
}
