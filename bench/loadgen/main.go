// Command loadgen drives a WebSocket echo server for the benchmark runner.
//
// It is one epoll loop on one thread over raw non-blocking sockets, so that
// its cost per message is one write, one read and a share of an epoll_wait:
// the frame is built once, masked with an all-zero key, and sent unchanged
// forever; echoes are parsed in place and not copied.
//
// Echo mode keeps one message in flight per connection (send, wait for the
// whole echo, send again; -inflight N: N, sent with one write) and prints
// one JSON line (result.Echo) for the window that follows the warm-up.
// Fan-out mode (-fanout, fanout.go) drives a publisher and -conns
// subscribers of one topic and prints one line (result.Fanout). Idle mode (-idle) opens the connections,
// prints a "ready" line, holds them until standard input closes or a signal
// arrives, answering the server's pings with pongs, then prints a "done"
// line (result.Idle) with how many connections the server closed and how
// many pings it sent. Silent mode (-silent) opens TCP connections that send
// nothing, waits until the server has closed them all or -duration has
// passed, and prints a line (result.Silent) with how long each lived: with
// -within, how many outlived it.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wssgo/wss/bench/internal/proc"
	"github.com/wssgo/wss/bench/internal/result"
	"github.com/wssgo/wss/bench/internal/wsproto"
)

// maxPending bounds the connections in connect or handshake at once, so that
// a burst of thousands never overflows the server's listen backlog.
const maxPending = 256

// The handshake key is the same for every connection: servers do not track
// keys, and one key means one expected Sec-WebSocket-Accept to compare.
const handshakeKey = "dGhlIHNhbXBsZSBub25jZQ=="

type config struct {
	addr, path   string
	conns, size  int
	inflight     int // echo messages each connection keeps in flight
	slow         int // extra connections that send and never read (slow.go)
	text, idle   bool
	silent       bool
	fanout       bool // fan-out mode (fanout.go)
	window       int  // fan-out messages unacknowledged at once
	within       time.Duration
	duration     time.Duration
	warmup       time.Duration
	setupTimeout time.Duration
	pid          int
	src          string
	perSrc       int
}

type gen struct {
	config
	ep     int
	events []unix.EpollEvent
	byFD   []*conn // indexed by file descriptor
	rbuf   []byte  // shared by every read

	dest       unix.SockaddrInet4
	src        uint32 // first source address
	request    []byte
	pubRequest []byte  // the fan-out publisher's
	fan        *fanout // fan-out mode's state, or nil
	accept     string
	opcode     byte
	payload    []byte
	frame      []byte // header + payload, sent as is
	burst      []byte // frame, -inflight times: what a connection sends at once
	inflight   int    // frames in burst

	started, up int             // connections dialled, handshakes completed (connects, with -silent)
	holding     bool            // idle mode holds: a failed connection counts as dropped
	lost        int             // connections the server closed while held
	pings       int             // pings answered
	lived       []time.Duration // silent mode: each closed connection's life
	setupTook   time.Duration   // to open all connections
	counting    bool
	hist        histogram
	msgs        uint64
	err         error // the first connection failure ends the run

	slowOut     []byte // frames a slow reader sends, back to back
	slowSent    uint64 // bytes the slow readers sent
	slowDropped int    // slow readers the server closed
}

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "server address (IPv4 host:port)")
	flag.StringVar(&cfg.path, "path", "/", "request path")
	flag.IntVar(&cfg.conns, "conns", 100, "connections")
	flag.IntVar(&cfg.size, "size", 64, "message payload size in bytes")
	flag.IntVar(&cfg.inflight, "inflight", 1, "echo messages each connection keeps in flight: it sends that many with one write,\n"+
		"and the next burst once all their echoes are back; latency counts from the burst's send")
	flag.IntVar(&cfg.slow, "slow", 0, "extra connections that send messages without ever reading (echo mode; with -conns 0, only those,\n"+
		"for a process of their own beside the one that measures: it prints a ready line once they are up\n"+
		"and sends until standard input closes or a signal arrives)")
	flag.BoolVar(&cfg.text, "text", false, "send text messages (ASCII) instead of binary (random bytes)")
	flag.BoolVar(&cfg.fanout, "fanout", false, "fan-out: -conns subscribers on "+fanoutSubPath+" and one publisher on "+fanoutPubPath+" (see fanout.go)")
	flag.IntVar(&cfg.window, "window", 1, "with -fanout: messages published with one write, the next burst once every subscriber has them")
	flag.BoolVar(&cfg.idle, "idle", false, "open the connections and hold them idle (see package doc)")
	flag.BoolVar(&cfg.silent, "silent", false, "open TCP connections that send nothing and time their closing (see package doc)")
	flag.DurationVar(&cfg.within, "within", 0, "with -silent: count the connections not closed within this of their connect")
	flag.DurationVar(&cfg.duration, "duration", 5*time.Second, "measured window")
	flag.DurationVar(&cfg.warmup, "warmup", time.Second, "echo time before the measured window")
	flag.DurationVar(&cfg.setupTimeout, "setup-timeout", time.Minute, "limit on opening all connections")
	flag.IntVar(&cfg.pid, "pid", 0, "server process whose CPU time to measure over the window (0: none)")
	flag.StringVar(&cfg.src, "src", "127.0.0.2", "first source address; later ones follow it")
	flag.IntVar(&cfg.perSrc, "per-src", 5000, "connections per source address")
	flag.Parse()

	// One loop on one thread: the runner pins this process to its own CPU.
	runtime.LockOSThread()
	g, err := newGen(cfg)
	if err == nil {
		err = g.setup()
	}
	if err == nil {
		switch {
		case cfg.silent:
			err = g.waitClosed()
		case cfg.idle:
			err = g.hold()
		case cfg.fanout:
			err = g.fanoutRun()
		case cfg.conns == 0:
			err = g.slowOnly()
		default:
			err = g.echo()
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func newGen(cfg config) (*gen, error) {
	dest, err := netip.ParseAddrPort(cfg.addr)
	if err != nil || !dest.Addr().Is4() {
		return nil, fmt.Errorf("-addr must be IPv4 host:port: %q", cfg.addr)
	}
	src, err := netip.ParseAddr(cfg.src)
	if err != nil || !src.Is4() {
		return nil, fmt.Errorf("-src must be an IPv4 address: %q", cfg.src)
	}
	if cfg.conns < 1 && cfg.slow < 1 || cfg.conns < 0 || cfg.size < 0 || cfg.perSrc < 1 || cfg.slow < 0 {
		return nil, errors.New("-conns (or -slow) and -per-src must be positive, -size, -conns and -slow not negative")
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	g := &gen{
		config:  cfg,
		ep:      ep,
		events:  make([]unix.EpollEvent, 512),
		rbuf:    make([]byte, 256<<10),
		dest:    unix.SockaddrInet4{Port: int(dest.Port()), Addr: dest.Addr().As4()},
		src:     uint32FromAddr(src.As4()),
		request: handshakeRequest(cfg.path, cfg.addr),
		accept:  wsproto.AcceptKey(handshakeKey),
		opcode:  wsproto.OpBinary,
		payload: make([]byte, cfg.size),
	}
	if cfg.text {
		g.opcode = wsproto.OpText
		for i := range g.payload {
			g.payload[i] = 'a' + byte(i%26)
		}
	} else {
		// Random bytes, from a fixed seed so every run sends the same ones.
		_, _ = rand.NewChaCha8([32]byte{}).Read(g.payload)
	}
	g.frame = append(wsproto.AppendHeader(nil, g.opcode, cfg.size, true), g.payload...)
	g.inflight = max(cfg.inflight, 1)
	g.burst = bytes.Repeat(g.frame, g.inflight)
	g.slowOut = slowFrames(g.frame)
	if cfg.fanout {
		g.request = handshakeRequest(fanoutSubPath, cfg.addr)
		g.pubRequest = handshakeRequest(fanoutPubPath, cfg.addr)
		if g.fan, err = newFanout(g); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func handshakeRequest(path, host string) []byte {
	return fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", path, host, handshakeKey)
}

// publishers is how many fan-out publishers connect beside -conns: one in
// fan-out mode.
func (g *gen) publishers() int {
	if g.fanout {
		return 1
	}
	return 0
}

func uint32FromAddr(a [4]byte) uint32 {
	return uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
}

// setup opens all connections and completes their handshakes. In echo mode
// each connection starts echoing as soon as its handshake completes.
func (g *gen) setup() error {
	start := time.Now()
	deadline := start.Add(g.setupTimeout)
	total := g.conns + g.slow + g.publishers()
	for g.up < total {
		for g.started < total && g.started-g.up < maxPending {
			if err := g.dial(); err != nil {
				return fmt.Errorf("connection %d: %w", g.started, err)
			}
		}
		if err := g.poll(10); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d connections up after %v", g.up, total, g.setupTimeout)
		}
	}
	g.setupTook = time.Since(start)
	return nil
}

// dial starts a non-blocking connect from the next source address.
func (g *gen) dial() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	g.started++
	// Bind the address only and let connect pick the port: ports are then
	// unique per destination, not per source address.
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	// Close with a reset: thousands of connections per run would otherwise
	// leave as many sockets in TIME_WAIT behind for the next run.
	_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	s := g.src + uint32((g.started-1)/g.perSrc)
	src := &unix.SockaddrInet4{Addr: [4]byte{byte(s >> 24), byte(s >> 16), byte(s >> 8), byte(s)}}
	if err := unix.Bind(fd, src); err != nil {
		return fmt.Errorf("bind %v: %w", src.Addr, err)
	}
	if err := unix.Connect(fd, &g.dest); err != nil && err != unix.EINPROGRESS {
		return fmt.Errorf("connect: %w", err)
	}
	for len(g.byFD) <= fd {
		g.byFD = append(g.byFD, nil)
	}
	// The slow readers, or the publisher, come last.
	g.byFD[fd] = &conn{fd: fd, slow: g.started > g.conns && !g.fanout, pub: g.fanout && g.started > g.conns}
	if c := g.byFD[fd]; c.pub {
		g.fan.pub = c
	}
	return unix.EpollCtl(g.ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT, Fd: int32(fd)})
}

// poll waits up to timeout milliseconds for events and handles them.
func (g *gen) poll(timeout int) error {
	n, err := unix.EpollWait(g.ep, g.events, timeout)
	if err != nil && err != unix.EINTR {
		return err
	}
	for _, ev := range g.events[:max(n, 0)] {
		c := g.byFD[ev.Fd]
		var err error
		switch {
		case c.slow && c.phase == open:
			g.blast(c)
			continue
		case c.phase == connecting:
			err = g.connected(c)
		case ev.Events&unix.EPOLLOUT != 0:
			err = g.write(c)
		}
		if err == nil && ev.Events&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			err = g.read(c)
		}
		if err != nil {
			g.fail(c, err)
		}
	}
	return g.err
}

func (g *gen) read(c *conn) error {
	n, err := unix.Read(c.fd, g.rbuf)
	switch {
	case err == unix.EAGAIN:
		return nil
	case err != nil:
		return fmt.Errorf("read: %w", err)
	case n == 0:
		return errors.New("server closed the connection")
	case c.phase == handshaking:
		return g.handshake(c, g.rbuf[:n])
	default:
		return g.frames(c, g.rbuf[:n])
	}
}

func (g *gen) fail(c *conn, err error) {
	if g.holding || g.silent && !c.at.IsZero() {
		g.forget(c)
		return
	}
	if g.err == nil {
		g.err = fmt.Errorf("connection on fd %d: %w", c.fd, err)
	}
}

func (g *gen) record(d time.Duration) {
	if g.counting {
		g.hist.add(d)
		g.msgs++
	}
}

// echo runs the warm-up and then the measured window.
func (g *gen) echo() error {
	if err := g.runFor(g.warmup); err != nil {
		return err
	}
	srv0, err := g.serverCPU()
	if err != nil {
		return err
	}
	own0 := ownCPU()
	start := time.Now()
	g.counting = true
	if err := g.runFor(g.duration); err != nil {
		return err
	}
	g.counting = false
	elapsed := time.Since(start)
	if g.slow > 0 {
		fmt.Fprintln(os.Stderr, g.slowReport())
	}
	srv1, err := g.serverCPU()
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(result.Echo{
		Conns:      g.conns,
		Size:       g.size,
		Messages:   g.msgs,
		Seconds:    elapsed.Seconds(),
		MsgsPerSec: float64(g.msgs) / elapsed.Seconds(),
		P50Micros:  micros(g.hist.percentile(50)),
		P99Micros:  micros(g.hist.percentile(99)),
		MaxMicros:  micros(g.hist.max),
		Slow:       g.slow,
		ServerCPU:  (srv1 - srv0).Seconds(),
		LoadgenCPU: (ownCPU() - own0).Seconds(),
	})
}

func (g *gen) runFor(d time.Duration) error {
	for end := time.Now().Add(d); time.Now().Before(end); {
		if err := g.poll(10); err != nil {
			return err
		}
	}
	return nil
}

func (g *gen) serverCPU() (time.Duration, error) {
	if g.pid == 0 {
		return 0, nil
	}
	return proc.CPUTime(g.pid)
}

func ownCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// hold keeps the connections open until standard input closes or a signal
// arrives, then reports how many the server closed in the meantime.
func (g *gen) hold() error {
	out := json.NewEncoder(os.Stdout)
	if err := out.Encode(result.Idle{Event: "ready", Conns: g.up, SetupSeconds: g.setupTook.Seconds()}); err != nil {
		return err
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	stdinClosed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()
	g.holding = true
	for held := true; held; {
		select {
		case <-stop:
			held = false
		case <-stdinClosed:
			held = false
		default:
			if err := g.poll(10); err != nil {
				return err
			}
		}
	}
	return out.Encode(result.Idle{Event: "done", Conns: g.up, Dropped: g.lost + g.dropped(), Pings: g.pings})
}

// forget closes a connection the server closed (or broke) while it was held.
func (g *gen) forget(c *conn) {
	if g.byFD[c.fd] != c {
		return // already forgotten, earlier in the same batch of events
	}
	g.lost++
	if g.silent {
		g.lived = append(g.lived, time.Since(c.at))
	}
	g.byFD[c.fd] = nil
	_ = unix.Close(c.fd)
}

// waitClosed waits until the server has closed every silent connection or
// -duration has passed, and reports how long they lived.
func (g *gen) waitClosed() error {
	for end := time.Now().Add(g.duration); g.lost < g.conns && time.Now().Before(end); {
		if err := g.poll(10); err != nil {
			return err
		}
	}
	res := result.Silent{Conns: g.conns, Closed: g.lost, Over: g.conns - g.lost}
	for i, d := range g.lived {
		if i == 0 || d.Seconds() < res.FirstSeconds {
			res.FirstSeconds = d.Seconds()
		}
		res.LastSeconds = max(res.LastSeconds, d.Seconds())
		if g.within > 0 && d > g.within {
			res.Over++
		}
	}
	if g.within == 0 {
		res.Over = 0
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// dropped counts the connections that the server has closed: a peek at each
// socket reads 0 bytes (end of stream) or fails with something else than
// "nothing to read yet".
func (g *gen) dropped() int {
	var n int
	for _, c := range g.byFD {
		if c != nil && peerClosed(c.fd) {
			n++
		}
	}
	return n
}

func peerClosed(fd int) bool {
	var b [1]byte
	k, _, err := unix.Recvfrom(fd, b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
	if err != nil {
		return err != unix.EAGAIN
	}
	return k == 0
}
