// Command echo is a WebSocket echo server: every message comes back with
// its opcode, on any path. It is the target of conformance runs and
// benchmarks. With -tls-cert and -tls-key it serves wss://.
//
// On SIGINT or SIGTERM it shuts down gracefully: it stops accepting, sends
// every connection 1001 (going away) and waits up to -grace for the close
// handshakes.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wssgo/wss"
)

// echo writes every message back as it came.
type echo struct{}

func (echo) OnFrame(c *wss.Conn, data []byte, text bool) { _ = c.Write(data, text) }
func (echo) OnClose(*wss.Conn, int)                      {}

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "address to listen on")
	certFile := flag.String("tls-cert", "", "TLS certificate file (PEM); with -tls-key, serve wss://")
	keyFile := flag.String("tls-key", "", "TLS private key file (PEM)")
	maxConns := flag.Int("max-conns", 0, "connections served at once (0: no limit); the excess is answered 503")
	grace := flag.Duration("grace", 5*time.Second, "how long shutdown waits for close handshakes")
	dispatcher := flag.String("dispatcher", "auto", "how connections are read: auto, epoll or goroutine")
	offLoop := flag.Bool("offloop", false, "run handlers off the event loops")
	loops := flag.Int("loops", 0, "event loops (0: GOMAXPROCS)")
	compress := flag.Bool("compress", false, "negotiate permessage-deflate (RFC 7692) with clients that offer it")
	noTakeover := flag.Bool("no-context-takeover", false, "with -compress: compress each message on its own, both ways, to save memory")
	viaHTTP := flag.Bool("nethttp", false, "answer handshakes with net/http (HTTPHandler) rather than on the event loops (Dispatcher.Serve)")
	pingInterval := flag.Duration("ping-interval", 0, "keepalive ping after this much silence (0: the default, negative: off)")
	pongTimeout := flag.Duration("pong-timeout", 0, "how long a pinged client has to answer (0: the default)")
	handshakeTimeout := flag.Duration("handshake-timeout", 0, "how long a client has to send its request (0: the default)")
	flag.Parse()
	if (*certFile == "") != (*keyFile == "") {
		log.Fatal("echo: -tls-cert and -tls-key go together")
	}

	modes := map[string]wss.Mode{"auto": wss.ModeAuto, "epoll": wss.ModeEventLoop, "goroutine": wss.ModeGoroutine}
	mode, ok := modes[*dispatcher]
	if !ok {
		log.Fatalf("echo: -dispatcher must be auto, epoll or goroutine, not %q", *dispatcher)
	}
	d, err := wss.NewDispatcher(&wss.DispatcherConfig{Mode: mode, Loops: *loops, OffLoop: *offLoop, MaxConnections: *maxConns})
	if err != nil {
		log.Fatal(err)
	}
	cfg := &wss.Config{OriginPatterns: []string{"*"}, PingInterval: *pingInterval, PongTimeout: *pongTimeout,
		HandshakeTimeout: *handshakeTimeout}
	if *compress {
		cfg.Compression = &wss.CompressionConfig{
			ServerNoContextTakeover: *noTakeover,
			ClientNoContextTakeover: *noTakeover,
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	scheme := "ws"
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			log.Fatal(err)
		}
		ln, scheme = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}}), "wss"
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	var srv *http.Server
	if *viaHTTP {
		srv = wss.NewServer("", wss.HTTPHandler(d, cfg, func(*wss.Request) (wss.Handler, error) { return echo{}, nil }), cfg)
		go func() { served <- srv.Serve(ln) }()
	} else {
		// Serve answers plain TCP handshakes on the event loops, and hands
		// TLS (or a goroutine-mode Dispatcher) to net/http.
		go func() { served <- d.Serve(ln, cfg, func(*wss.Request) (wss.Handler, error) { return echo{}, nil }) }()
	}
	log.Printf("echo: listening on %s://%s (dispatcher %s)", scheme, ln.Addr(), *dispatcher)
	select {
	case err := <-served:
		log.Fatal(err)
	case <-ctx.Done():
	}
	log.Print("echo: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	if srv != nil {
		if err := srv.Shutdown(sctx); err != nil {
			log.Print(err)
		}
	} else {
		ln.Close()
	}
	if err := d.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Print(err)
	}
}
