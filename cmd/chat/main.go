// Command chat is a chat server with its web page built in: people pick a
// nickname, join rooms, and exchange messages and images. Several chat
// servers share their rooms through a NATS server with -nats.
//
//	go run ./cmd/chat                                   # http://127.0.0.1:8080
//	go run ./cmd/chat -addr :8081 -nats nats://127.0.0.1:4222
//
// The page talks to the server over one WebSocket at /ws, with the JSON
// protocol described in protocol.go and docs/chat.md.
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wssgo/wss"
	"github.com/wssgo/wss/pubsub"
	"github.com/wssgo/wss/pubsub/natsbus"
)

//go:embed static
var static embed.FS

// config is what the flags set.
type config struct {
	addr       string
	natsURL    string
	maxMessage int

	// Not flags: tests shorten these.
	writeTimeout time.Duration
	closeTimeout time.Duration
}

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "address to serve the chat on")
	flag.StringVar(&cfg.natsURL, "nats", "", "NATS server URL to share rooms with other chat servers (e.g. nats://127.0.0.1:4222)")
	flag.IntVar(&cfg.maxMessage, "max-message", 1<<20, "largest image a client may share, in bytes")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log, nil); err != nil {
		log.Error("chat: stopped", "err", err)
		os.Exit(1)
	}
}

// run serves the chat until ctx is done, then shuts down gracefully. If
// ready is not nil, it gets the listening address once the server is up.
func run(ctx context.Context, cfg config, log *slog.Logger, ready chan<- string) error {
	if cfg.maxMessage <= 0 {
		return errors.New("-max-message must be positive")
	}
	var bp pubsub.Backplane
	if cfg.natsURL != "" {
		bus, err := natsbus.Connect(cfg.natsURL, &natsbus.Options{Name: "wss-chat", Logger: log})
		if err != nil {
			return err
		}
		bp = bus // closed, after a flush, by ps.Close
	}
	ps, err := pubsub.New(&pubsub.Options{
		Backplane: bp,
		Logger:    log,
		// A tab that cannot keep up gets 1008 and reconnects; the page
		// then gets the history again. The queue holds the room's history
		// on joining: its frames are shared, not copied, so the bound is
		// larger than the memory a queue really adds.
		MaxQueueBytes:    historyBytes + 4*cfg.maxMessage + 1<<20,
		MaxQueueMessages: 2048,
	})
	if err != nil {
		return err
	}
	defer ps.Close()
	if bus, ok := bp.(*natsbus.Bus); ok {
		// Make sure the events subscription reached the server before
		// saying hello, so the replies come back.
		_ = bus.Flush(2 * time.Second)
	}
	hub := NewHub(ps, log, cfg.maxMessage)

	disp, err := wss.NewDispatcher(nil)
	if err != nil {
		return err
	}
	wcfg := &wss.Config{
		// Messages up to this size reach the hub, which answers those over
		// the chat's limits with an error; only beyond it is a client
		// closed with 1009.
		MaxMessageSize: int64(4*cfg.maxMessage + 64<<10),
		WriteTimeout:   cfg.writeTimeout,
		CloseTimeout:   cfg.closeTimeout,
	}
	sub, _ := fs.Sub(static, "static")
	mux := http.NewServeMux()
	mux.Handle("GET /ws", hub.Serve(disp, wcfg))
	mux.Handle("GET /", pageHeaders(http.FileServerFS(sub)))

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := wss.NewServer("", mux, wcfg) // bounds the handshake (slowloris)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("chat: serving", "url", "http://"+ln.Addr().String(), "node", hub.Node(), "nats", cfg.natsURL)
	if ready != nil {
		ready <- ln.Addr().String()
	}

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("chat: shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutCtx) // stops accepting; WebSockets are hijacked, not waited for
	// Closes every client with 1001 and drops those whose close handshake
	// does not finish in time.
	if err := disp.Shutdown(shutCtx); err != nil {
		log.Warn("chat: connections still open at shutdown", "err", err)
	}
	hub.Stop()
	log.Info("chat: stopped")
	return nil
}

// pageHeaders adds headers that keep the page to its own resources: with
// this policy, even a message that slipped into the page as HTML could not
// run a script.
func pageHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy",
			"default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}
