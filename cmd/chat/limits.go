package main

import (
	"fmt"
	"time"
)

// limits bound what one person costs; each is a flag (docs/chat.md).
type limits struct {
	msgRate      float64 // messages (texts and images) per second per connection
	addrMsgRate  float64 // the same, all connections of one address together
	joinRate     float64 // joins (room switches) per second per connection
	addrJoinRate float64 // the same, per address
	connsPerAddr int     // connections open at once from one address
	maxRefusals  int     // refusals in a row before the connection is closed (1008)
}

func defaultLimits() limits {
	return limits{msgRate: 5, addrMsgRate: 20, joinRate: 1, addrJoinRate: 4, connsPerAddr: 16, maxRefusals: 10}
}

// Bursts: a bucket holds this many seconds' worth of its rate, so a person
// may send a few messages at once, or switch rooms a few times quickly.
const (
	msgBurstSeconds  = 2
	joinBurstSeconds = 5
)

// bucket is a token bucket. Not safe for concurrent use: guarded by Hub.mu.
type bucket struct {
	rate, burst float64
	tokens      float64
	at          time.Time
}

func newBucket(rate, seconds float64, now time.Time) *bucket {
	burst := max(rate*seconds, 1)
	return &bucket{rate: rate, burst: burst, tokens: burst, at: now}
}

// take spends one token if there is one.
func (b *bucket) take(now time.Time) bool {
	b.tokens = min(b.burst, b.tokens+now.Sub(b.at).Seconds()*b.rate)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// addrState is what the connections of one client address share.
type addrState struct {
	conns       int
	msgs, joins *bucket
}

// rateLimited is the refusal of a request over a rate.
func rateLimited(what string, rate float64) *protocolError {
	return refuse("rate_limited", fmt.Sprintf("Slow down: at most %s %s per second. Keep going and the server disconnects you.", formatRate(rate), what))
}

func formatRate(r float64) string {
	if r == float64(int(r)) {
		return fmt.Sprint(int(r))
	}
	return fmt.Sprintf("%.1f", r)
}
