package wss

import (
	"net/http"
	"time"
)

// Defaults used for the zero fields of a Config; each field's doc states its
// own.
const (
	defaultStartSize        = 4 << 10
	defaultExpandSize       = 4 << 10
	defaultMaxMessageSize   = 16 << 20
	defaultWriteTimeout     = 10 * time.Second
	defaultCloseTimeout     = 5 * time.Second
	defaultHandshakeTimeout = 10 * time.Second
	defaultMaxHeaderBytes   = 8 << 10

	// Keepalive is on by default: a peer silent for 30 s is pinged, and
	// dropped if nothing arrives within 15 s.
	defaultPingInterval = 30 * time.Second
	defaultPongTimeout  = 15 * time.Second
	// defaultMaxFramesPerMessage (131072) admits a 4 MiB message in 64-byte
	// fragments.
	defaultMaxFramesPerMessage = 1 << 17
)

// Config holds the settings of connections. The zero value (or a nil
// *Config) uses the defaults each field states. A Config may be shared by many
// connections and must not be modified once in use.
type Config struct {
	// StartSize is the capacity a message buffer starts with when a message
	// arrives in more than one read or frame; 0 means 4 KiB.
	StartSize int
	// ExpandSize is the smallest step by which a message buffer grows. It
	// grows by more (doubling) for large messages, but never beyond the bytes
	// actually received, so a peer cannot make it allocate what it merely
	// announces. 0 means 4 KiB.
	ExpandSize int
	// MaxMessageSize bounds a message (all its fragments). A peer that
	// exceeds it is closed with 1009 before the excess is read. 0 means
	// 16 MiB.
	MaxMessageSize int64
	// MaxFramesPerMessage bounds the frames of one fragmented message, so a
	// flood of tiny fragments cannot hold a message open forever. A peer
	// that exceeds it is closed with 1009 (status StatusTooBig). Zero means
	// 131072 (1<<17: a 4 MiB message in 64-byte fragments), a negative value
	// no limit.
	MaxFramesPerMessage int

	// WriteTimeout bounds each Write and Close. A write that times out
	// leaves a partial frame behind, so the connection is dropped. 0 means
	// 10 seconds.
	WriteTimeout time.Duration
	// CloseTimeout bounds the wait for the peer's close frame after ours,
	// and for the peer to close TCP after a protocol error. 0 means
	// 5 seconds.
	CloseTimeout time.Duration
	// HandshakeTimeout bounds writing the handshake response, and reading
	// the request: through NewServer (http.Server.ReadHeaderTimeout), and
	// with Dispatcher.Serve from the accept. A client that sends part of a
	// request and stops is dropped after it.
	// For Dial, it bounds the whole opening handshake (TCP, TLS and HTTP).
	// 0 means 10 seconds.
	HandshakeTimeout time.Duration
	// IdleTimeout closes a connection (close code 1001, OnClose status
	// StatusIdleTimeout) whose peer has started no data frame for this
	// long; pings and pongs do not count. Zero (the default) means no limit.
	// IdleTimeout, PingInterval and PongTimeout count in milliseconds, up to
	// 24 days.
	IdleTimeout time.Duration
	// PingInterval is how long a peer may stay silent (nothing at all
	// received) before it is sent a keepalive ping; zero means
	// 30 seconds, a negative value turns keepalive off. A write in
	// progress postpones the ping: a peer taking our output is alive, and
	// one that is not is dropped by WriteTimeout.
	PingInterval time.Duration
	// PongTimeout is how long a pinged peer has to send anything (its pong)
	// before the connection is dropped with StatusPongTimeout; zero means
	// 15 seconds.
	PongTimeout time.Duration

	// Subprotocols lists the subprotocols the server speaks, most preferred
	// first. The handshake picks the first one the client also offers. Dial
	// offers them in this order.
	Subprotocols []string
	// OriginPatterns lists other origins' hosts that may connect, as
	// path.Match patterns matched against the Origin's host (with port if it
	// has one), case-insensitively: "example.com", "*.example.com",
	// "localhost:*". "*" allows every origin.
	OriginPatterns []string
	// CheckOrigin, if set, decides instead of the same-host rule and
	// OriginPatterns. It is called only for requests with an Origin header.
	CheckOrigin func(r *http.Request) bool
	// Compression enables permessage-deflate (RFC 7692) when set: a server
	// accepts it when the client offers it, a client offers it. Off by
	// default: see CompressionConfig for what it costs.
	Compression *CompressionConfig
	// MaxHeaderBytes bounds the request line and header fields of a
	// handshake; larger requests get 431. 0 means 8 KiB. Dial applies it
	// to the server's response head.
	MaxHeaderBytes int
}

var defaultConfig Config

func (c *Config) orDefault() *Config {
	if c == nil {
		return &defaultConfig
	}
	return c
}

func (c *Config) startSize() int {
	return pick(c.StartSize, defaultStartSize)
}

func (c *Config) expandSize() int {
	return pick(c.ExpandSize, defaultExpandSize)
}

func (c *Config) maxMessageSize() int64 {
	return pick(c.MaxMessageSize, defaultMaxMessageSize)
}

func (c *Config) maxFramesPerMessage() int {
	return pick(c.MaxFramesPerMessage, defaultMaxFramesPerMessage)
}

func (c *Config) writeTimeout() time.Duration {
	return pick(c.WriteTimeout, defaultWriteTimeout)
}

func (c *Config) closeTimeout() time.Duration {
	return pick(c.CloseTimeout, defaultCloseTimeout)
}

func (c *Config) handshakeTimeout() time.Duration {
	return pick(c.HandshakeTimeout, defaultHandshakeTimeout)
}

func (c *Config) maxHeaderBytes() int {
	return pick(c.MaxHeaderBytes, defaultMaxHeaderBytes)
}

// pick returns v, or def when v is not positive.
func pick[T int | int64 | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
