// Package result defines the JSON lines that the load generator prints and
// the runner reads, so that the two cannot drift apart.
package result

// Echo is the single line printed at the end of an echo run. Everything in it
// covers the measured window only, after the warm-up.
type Echo struct {
	Conns      int     `json:"conns"`
	Size       int     `json:"size"`
	Messages   uint64  `json:"messages"`
	Seconds    float64 `json:"seconds"`
	MsgsPerSec float64 `json:"msgs_per_sec"`
	P50Micros  float64 `json:"p50_us"`
	P99Micros  float64 `json:"p99_us"`
	MaxMicros  float64 `json:"max_us"`
	// Slow is the number of slow readers (loadgen -slow) beside Conns: they
	// only send, and are not in the figures above.
	Slow int `json:"slow,omitempty"`
	// ServerCPU is the server's user+system CPU time, in seconds, from
	// /proc/PID/stat (10 ms resolution); 0 when no -pid was given.
	ServerCPU float64 `json:"server_cpu_s"`
	// LoadgenCPU is the load generator's own CPU time in seconds: near
	// Seconds means the generator, not the server, set the pace.
	LoadgenCPU float64 `json:"loadgen_cpu_s"`
}

// Idle events: Ready when all connections have completed their handshake,
// Done after the hold ends, with how many the server had closed meanwhile
// and how many pings it sent (each answered with a pong).
type Idle struct {
	Event        string  `json:"event"` // "ready" or "done"
	Conns        int     `json:"conns"`
	SetupSeconds float64 `json:"setup_s,omitempty"`
	Dropped      int     `json:"dropped"`
	Pings        int     `json:"pings"`
}

// Silent is the line printed at the end of a silent run: connections that
// send nothing, and how long after its connect the server closed each.
type Silent struct {
	Conns        int     `json:"conns"`
	Closed       int     `json:"closed"` // by the server before the run ended
	FirstSeconds float64 `json:"first_s"`
	LastSeconds  float64 `json:"last_s"`
	// Over counts the connections closed later than -within after their
	// connect, or not at all.
	Over int `json:"over"`
}

// Fanout is the single line printed at the end of a fan-out run (loadgen
// -fanout), for the measured window only.
type Fanout struct {
	Subscribers      int     `json:"subscribers"`
	Size             int     `json:"size"`
	Window           int     `json:"window"`     // messages a burst holds unacknowledged
	Deliveries       uint64  `json:"deliveries"` // messages received by subscribers, each checked
	Bursts           uint64  `json:"bursts"`     // bursts delivered to every subscriber
	Seconds          float64 `json:"seconds"`
	DeliveriesPerSec float64 `json:"deliveries_per_sec"`
	// P50Micros and P99Micros: time from a burst's send to its last
	// delivery to the last subscriber.
	P50Micros  float64 `json:"p50_us"`
	P99Micros  float64 `json:"p99_us"`
	ServerCPU  float64 `json:"server_cpu_s"`
	LoadgenCPU float64 `json:"loadgen_cpu_s"`
	ServerRSS  int64   `json:"server_rss_bytes"` // VmRSS at the end of the window
}
