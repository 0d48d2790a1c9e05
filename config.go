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

	// WriteTimeout bounds each Write and Close. A write that times out
	// leaves a partial frame behind, so the connection is dropped.
	WriteTimeout time.Duration
	// CloseTimeout bounds the wait for the peer's close frame after ours,
	// and for the peer to close TCP after a protocol error.
	CloseTimeout time.Duration
	// HandshakeTimeout bounds writing the handshake response; for Dial, the
	// whole opening handshake (TCP, TLS and HTTP).
	HandshakeTimeout time.Duration

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
