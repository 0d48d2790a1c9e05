// Package natsbus is a pubsub.Backplane over a NATS server, so that several
// server processes share topics.
//
// Each topic is a NATS subject, Prefix + "." + the topic name in unpadded
// base64url (so any name is a valid subject); a message is its payload
// behind one byte, 't' for text or 'b' for binary. A node subscribes to a
// topic's subject only while it has local interest in the topic.
//
// Exactly once, in order: the connection is made with NoEcho, so NATS never
// returns a node's own messages to it (its local subscribers got them
// directly), and all subscriptions feed one channel read by one goroutine,
// so messages are delivered in the order NATS received them, which keeps
// each publisher's order.
//
// Outages: the connection retries forever (also when the server is down at
// start); while it is down, publishes are buffered by the client up to its
// reconnect buffer and then fail, local delivery goes on, and every
// disconnect, reconnect and error is logged. Subscriptions are restored on
// reconnect.
package natsbus

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/wssgo/wss"

	"github.com/nats-io/nats.go"
)

// Options holds the settings of a Bus; the zero value (or nil) uses the
// defaults.
type Options struct {
	// Prefix starts every subject; "wss" if empty. Nodes that share topics
	// use the same prefix.
	Prefix string
	// Name is the client name shown by the NATS server.
	Name string
	// Logger receives connection events and errors; nil means slog.Default().
	Logger *slog.Logger
	// QueueLen bounds the messages received and not yet delivered; beyond
	// it NATS drops messages and reports a slow consumer (logged). 65536
	// if zero.
	QueueLen int
	// ReconnectWait is the pause between reconnection attempts; 500ms if zero.
	ReconnectWait time.Duration
	// OnState, if set, is called with true when the connection is made or
	// made again and with false when it is lost, from the NATS client's
	// goroutine: to tell people that messages wait for the broker.
	OnState func(connected bool)
}

// Bus is a pubsub.Backplane over one NATS connection. Safe for concurrent use.
type Bus struct {
	nc     *nats.Conn
	prefix string
	log    *slog.Logger
	ch     chan *nats.Msg
	done   chan struct{}

	mu   sync.Mutex
	subs map[string]*nats.Subscription
}

// ErrClosed is returned by a closed Bus.
var ErrClosed = errors.New("natsbus: closed")

// Connect connects to the NATS server(s) at url (comma-separated URLs
// allowed) and returns a Bus. It returns at once when the server is
// unreachable, and keeps trying in the background.
func Connect(url string, opts *Options, extra ...nats.Option) (*Bus, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Prefix == "" {
		o.Prefix = "wss"
	}
	if o.QueueLen <= 0 {
		o.QueueLen = 65536
	}
	if o.ReconnectWait <= 0 {
		o.ReconnectWait = 500 * time.Millisecond
	}
	b := &Bus{
		prefix: o.Prefix,
		log:    o.Logger,
		ch:     make(chan *nats.Msg, o.QueueLen),
		done:   make(chan struct{}),
		subs:   make(map[string]*nats.Subscription),
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	state := func(up bool) {
		if o.OnState != nil {
			o.OnState(up)
		}
	}
	nopts := append([]nats.Option{
		nats.Name(o.Name),
		nats.NoEcho(),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(o.ReconnectWait),
		nats.RetryOnFailedConnect(true),
		nats.ConnectHandler(func(nc *nats.Conn) {
			b.log.Info("natsbus: connected", "url", nc.ConnectedUrlRedacted())
			state(true)
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			b.log.Warn("natsbus: disconnected, retrying", "err", err)
			state(false)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.log.Info("natsbus: reconnected", "url", nc.ConnectedUrlRedacted())
			state(true)
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			b.log.Error("natsbus: error", "subject", subj, "err", err)
		}),
	}, extra...)
	nc, err := nats.Connect(url, nopts...)
	if err != nil {
		return nil, fmt.Errorf("natsbus: connect %s: %w", url, err)
	}
	b.nc = nc
	if !nc.IsConnected() {
		b.log.Warn("natsbus: server unreachable, retrying in the background", "url", url)
	}
	return b, nil
}

// Conn returns the NATS connection, to inspect its state.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// Flush waits until the server has processed everything sent so far,
// subscriptions included, or timeout passes.
func (b *Bus) Flush(timeout time.Duration) error {
	return b.nc.FlushTimeout(timeout)
}

// Start implements pubsub.Backplane.
func (b *Bus) Start(deliver func(topic string, data []byte, typ wss.MessageType)) error {
	go b.run(deliver)
	return nil
}

// run delivers received messages, one at a time, in arrival order.
func (b *Bus) run(deliver func(topic string, data []byte, typ wss.MessageType)) {
	for {
		select {
		case <-b.done:
			return
		case m := <-b.ch:
			topic, ok := b.topic(m.Subject)
			if !ok || len(m.Data) == 0 {
				b.log.Warn("natsbus: malformed message ignored", "subject", m.Subject)
				continue
			}
			deliver(topic, m.Data[1:], messageType(m.Data[0]))
		}
	}
}

// Subscribe implements pubsub.Backplane.
func (b *Bus) Subscribe(topic string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs == nil {
		return ErrClosed
	}
	if b.subs[topic] != nil {
		return nil
	}
	sub, err := b.nc.ChanSubscribe(b.subject(topic), b.ch)
	if err != nil {
		return fmt.Errorf("natsbus: subscribe %q: %w", topic, err)
	}
	b.subs[topic] = sub
	return nil
}

// Unsubscribe implements pubsub.Backplane.
func (b *Bus) Unsubscribe(topic string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	sub := b.subs[topic]
	if sub == nil {
		return nil
	}
	delete(b.subs, topic)
	if err := sub.Unsubscribe(); err != nil {
		return fmt.Errorf("natsbus: unsubscribe %q: %w", topic, err)
	}
	return nil
}

// Publish implements pubsub.Backplane.
func (b *Bus) Publish(topic string, data []byte, typ wss.MessageType) error {
	msg := make([]byte, 1+len(data))
	msg[0] = 'b'
	if typ == wss.Text {
		msg[0] = 't'
	}
	copy(msg[1:], data)
	if err := b.nc.Publish(b.subject(topic), msg); err != nil {
		return fmt.Errorf("natsbus: publish %q: %w", topic, err)
	}
	return nil
}

// Close sends what is buffered (waiting at most a second), closes the
// connection and stops delivery.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.subs == nil {
		b.mu.Unlock()
		return nil
	}
	b.subs = nil
	b.mu.Unlock()
	if b.nc.IsConnected() {
		_ = b.nc.FlushTimeout(time.Second)
	}
	b.nc.Close()
	close(b.done)
	return nil
}

func (b *Bus) subject(topic string) string {
	return b.prefix + ".t" + base64.RawURLEncoding.EncodeToString([]byte(topic))
}

func (b *Bus) topic(subject string) (string, bool) {
	enc, ok := strings.CutPrefix(subject, b.prefix+".t")
	if !ok {
		return "", false
	}
	name, err := base64.RawURLEncoding.DecodeString(enc)
	return string(name), err == nil
}

// messageType decodes the byte a message travels behind: 't' for text.
func messageType(b byte) wss.MessageType {
	if b == 't' {
		return wss.Text
	}
	return wss.Binary
}
