package wss

import (
	"net/http"
	"time"
)

// Defaults used for the zero fields of a Config.
const (
	DefaultStartSize        = 4 << 10
	DefaultExpandSize       = 4 << 10
	DefaultMaxMessageSize   = 16 << 20
	DefaultWriteTimeout     = 10 * time.Second
	DefaultCloseTimeout     = 5 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultMaxHeaderBytes   = 8 << 10

	// Keepalive is on by default: a peer silent for DefaultPingInterval is
	// pinged, and dropped if nothing arrives within DefaultPongTimeout.
	DefaultPingInterval = 30 * time.Second
	DefaultPongTimeout  = 15 * time.Second
	// DefaultMaxFramesPerMessage admits a 4 MiB message in 64-byte fragments.
	DefaultMaxFramesPerMessage = 1 << 17
)

// Config holds the settings of connections. The zero value (or a nil
// *Config) uses the defaults above. A Config may be shared by many
// connections and must not be modified once in use.
type Config struct {
	// StartSize is the capacity a message buffer starts with when a message
	// arrives in more than one read or frame.
	StartSize int
	// ExpandSize is the smallest step by which a message buffer grows. It
	// grows by more (doubling) for large messages, but never beyond the bytes
	// actually received, so a peer cannot make it allocate what it merely
	// announces.
	ExpandSize int
	// MaxMessageSize bounds a message (all its fragments). A peer that
	// exceeds it is closed with 1009 before the excess is read.
	MaxMessageSize int64
	// MaxFramesPerMessage bounds the frames of one fragmented message, so a
	// flood of tiny fragments cannot hold a message open forever. A peer
	// that exceeds it is closed with 1009 (status StatusTooBig). Zero means
	// DefaultMaxFramesPerMessage, a negative value no limit.
	MaxFramesPerMessage int

	// WriteTimeout bounds each Write and Close. A write that times out
	// leaves a partial frame behind, so the connection is dropped.
	WriteTimeout time.Duration
	// CloseTimeout bounds the wait for the peer's close frame after ours,
	// and for the peer to close TCP after a protocol error.
	CloseTimeout time.Duration
	// HandshakeTimeout bounds writing the handshake response, and reading
	// the request: through NewServer (http.Server.ReadHeaderTimeout), and
	// with Dispatcher.Serve from the accept. A client that sends part of a
	// request and stops is dropped after it.
	// For Dial, it bounds the whole opening handshake (TCP, TLS and HTTP).
	HandshakeTimeout time.Duration
	// IdleTimeout closes a connection (close code 1001, OnClose status
	// StatusIdleTimeout) whose peer has started no data frame for this
	// long; pings and pongs do not count. Zero (the default) means no limit.
	// IdleTimeout, PingInterval and PongTimeout count in milliseconds, up to
	// 24 days.
	IdleTimeout time.Duration
	// PingInterval is how long a peer may stay silent (nothing at all
	// received) before it is sent a keepalive ping; zero means
	// DefaultPingInterval, a negative value turns keepalive off. A write in
	// progress postpones the ping: a peer taking our output is alive, and
	// one that is not is dropped by WriteTimeout.
	PingInterval time.Duration
	// PongTimeout is how long a pinged peer has to send anything (its pong)
	// before the connection is dropped with StatusPongTimeout; zero means
	// DefaultPongTimeout.
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
	// handshake; larger requests get 431.
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
	return pick(c.StartSize, DefaultStartSize)
}

func (c *Config) expandSize() int {
	return pick(c.ExpandSize, DefaultExpandSize)
}

func (c *Config) maxMessageSize() int64 {
	return pick(c.MaxMessageSize, DefaultMaxMessageSize)
}

func (c *Config) maxFramesPerMessage() int {
	return pick(c.MaxFramesPerMessage, DefaultMaxFramesPerMessage)
}

func (c *Config) writeTimeout() time.Duration {
	return pick(c.WriteTimeout, DefaultWriteTimeout)
}

func (c *Config) closeTimeout() time.Duration {
	return pick(c.CloseTimeout, DefaultCloseTimeout)
}

func (c *Config) handshakeTimeout() time.Duration {
	return pick(c.HandshakeTimeout, DefaultHandshakeTimeout)
}

func (c *Config) maxHeaderBytes() int {
	return pick(c.MaxHeaderBytes, DefaultMaxHeaderBytes)
}

// pick returns v, or def when v is not positive.
func pick[T int | int64 | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
