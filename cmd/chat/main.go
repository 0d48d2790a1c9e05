// Command chat is a chat server with its web page built in: people pick a
// nickname, join rooms, and exchange messages and images. Rooms keep their
// history in NATS JetStream: an embedded NATS server with its store in
// -data, or, with -nats, NATS servers shared by several chat servers.
//
//	go build -o chat ./cmd/chat
//	./chat                                       # http://127.0.0.1:8080
//	./chat -addr :8081 -nats nats://127.0.0.1:4222
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
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wssgo/wss"
	"github.com/wssgo/wss/pubsub"
)

//go:embed static
var static embed.FS

// config is what the flags set.
type config struct {
	addr         string
	natsURL      string
	dataDir      string
	maxMessage   int
	history      int           // messages kept per room
	historyBytes int64         // bytes kept in all rooms together
	historyAge   time.Duration // how long a message is kept; 0: no bound
	replicas     int           // replicas of the stream in a NATS cluster
	lim          limits

	// Not flags: tests shorten these.
	writeTimeout time.Duration
	closeTimeout time.Duration
	timing       presenceTiming
	onHub        func(*Hub) // called with the hub once it runs
}

// replayBytes bounds the history one join sends (older messages are kept
// in the store, and reported as not recovered).
const replayBytes = 16 << 20

func main() {
	cfg := config{lim: defaultLimits(), timing: defaultTiming()}
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "address to serve the chat on")
	flag.StringVar(&cfg.natsURL, "nats", "", "NATS server(s) with JetStream to share rooms with other chat servers (e.g. nats://127.0.0.1:4222); empty: an embedded NATS server")
	flag.StringVar(&cfg.dataDir, "data", "chat-data", "folder of the embedded NATS server's store and of this node's id")
	flag.IntVar(&cfg.maxMessage, "max-message", 1<<20, "largest image a client may share, in bytes")
	flag.IntVar(&cfg.history, "history", 100, "messages kept per room")
	flag.Int64Var(&cfg.historyBytes, "history-bytes", 256<<20, "bytes of messages and images kept in all rooms together")
	flag.DurationVar(&cfg.historyAge, "history-age", 0, "how long a message is kept (0: until the other limits drop it)")
	flag.IntVar(&cfg.replicas, "replicas", 1, "copies of the rooms' stream kept by a NATS cluster (-nats; 3 for a three-server cluster)")
	flag.Float64Var(&cfg.lim.msgRate, "rate-messages", cfg.lim.msgRate, "messages and images per second per connection")
	flag.Float64Var(&cfg.lim.addrMsgRate, "rate-messages-addr", cfg.lim.addrMsgRate, "messages and images per second per client address")
	flag.Float64Var(&cfg.lim.joinRate, "rate-joins", cfg.lim.joinRate, "joins (room switches) per second per connection")
	flag.Float64Var(&cfg.lim.addrJoinRate, "rate-joins-addr", cfg.lim.addrJoinRate, "joins per second per client address")
	flag.IntVar(&cfg.lim.connsPerAddr, "conns-per-addr", cfg.lim.connsPerAddr, "connections open at once per client address")
	flag.IntVar(&cfg.lim.maxRefusals, "max-refusals", cfg.lim.maxRefusals, "requests refused for a rate in a row before the connection is closed (1008)")
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
	if cfg.maxMessage <= 0 || cfg.history <= 0 || cfg.historyBytes <= 0 {
		return errors.New("-max-message, -history and -history-bytes must be positive")
	}
	node, err := nodeID(cfg.dataDir)
	if err != nil {
		return err
	}
	var hub atomic.Pointer[Hub]
	onState := func(up bool) {
		if h := hub.Load(); h != nil {
			h.SetBackplane(up)
		}
	}
	bus, store, closeNATS, err := connectNATS(cfg, log, node, onState)
	if err != nil {
		return err
	}
	defer closeNATS()
	act := newActivity()
	ps, err := pubsub.New(&pubsub.Options{
		Backplane: bus,
		Store:     store,
		Render:    act.render,
		Logger:    log,
		// A tab that cannot keep up gets 1008 and reconnects; the page
		// then resumes from the last message it has. The queue holds the
		// history replayed on joining: its frames are shared, not copied,
		// so the bound is larger than the memory a queue really adds.
		MaxQueueBytes:    replayBytes + 4*cfg.maxMessage + 1<<20,
		MaxReplayBytes:   replayBytes,
		MaxQueueMessages: 2048,
	})
	if err != nil {
		return err
	}
	defer ps.Close() // closes the store and the bus, after a flush
	// Make sure the events subscription reached the server before saying
	// hello, so the replies come back.
	_ = bus.Flush(2 * time.Second)
	memCtx, stopMem := context.WithCancel(context.Background())
	defer stopMem()
	go releaseMemory(memCtx)
	h := NewHub(ps, log, node, cfg.maxMessage, cfg.lim, cfg.timing)
	h.activity = act
	hub.Store(h)
	if cfg.onHub != nil {
		cfg.onHub(h)
	}
	h.SetBackplane(bus.Conn().IsConnected())

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
	mux.Handle("GET /ws", h.Serve(disp, wcfg))
	mux.Handle("GET /", pageHeaders(http.FileServerFS(sub)))

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		h.Stop()
		return err
	}
	srv := wss.NewServer("", mux, wcfg) // bounds the handshake (slowloris)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("chat: serving", "url", "http://"+ln.Addr().String(), "node", h.Node(), "nats", cfg.natsURL, "data", cfg.dataDir)
	if ready != nil {
		ready <- ln.Addr().String()
	}

	select {
	case err := <-served:
		h.Stop()
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
	h.Stop()
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
