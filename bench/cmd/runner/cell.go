package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/wssgo/wss/bench/internal/proc"
	"github.com/wssgo/wss/bench/internal/result"
)

// scenario is one table of the report.
type scenario struct {
	key   string // its name in -scenarios
	title string
	idle  bool
	conns int
	size  int // message size; echo only
	// inflight: echo messages each connection keeps in flight (0: one).
	inflight int
	// slowPeers: an echo cell beside this many peers that send and never
	// read (slowPeers is set), run by a load generator of their own; the
	// window opens as soon as they are up. slowOf names the cell whose
	// figures are the baseline, the same clients without slow peers.
	slowPeers bool
	slow      int
	slowOf    string
	// fanout: conns subscribers and one publisher that keeps window
	// messages unacknowledged (fanout.go).
	fanout bool
	window int
}

var scenarios = []scenario{
	{key: "echo64", title: "Echo, 1,000 connections × 64 B", conns: 1000, size: 64},
	{key: "echo16k", title: "Echo, 100 connections × 16 KiB", conns: 100, size: 16 << 10},
	{key: "echo1m", title: "Echo, 10 connections × 1 MiB", conns: 10, size: 1 << 20},
	{key: "pipe64x4", title: "Pipelined echo, 1,000 connections × 64 B × 4 in flight", conns: 1000, size: 64, inflight: 4},
	{key: "pipe64x32", title: "Pipelined echo, 100 connections × 64 B × 32 in flight", conns: 100, size: 64, inflight: 32},
	{key: "pipe16kx8", title: "Pipelined echo, 100 connections × 16 KiB × 8 in flight", conns: 100, size: 16 << 10, inflight: 8},
	{key: "slow0", title: "Slow readers: 10 connections × 64 B, none beside them (baseline)", conns: 10, size: 64, slowPeers: true},
	{key: "slow50", title: "Slow readers: 10 connections × 64 B beside 50 that never read", conns: 10, size: 64, slowPeers: true,
		slow: 50, slowOf: "slow0"},
	fanoutScenario(1000, 64, 1),
	fanoutScenario(1000, 64, 16),
	fanoutScenario(1000, 1<<10, 1),
	fanoutScenario(1000, 1<<10, 16),
	fanoutScenario(10_000, 64, 1),
	fanoutScenario(10_000, 64, 16),
	fanoutScenario(10_000, 1<<10, 1),
	fanoutScenario(10_000, 1<<10, 16),
	{key: "idle10k", title: "Idle memory, 10,000 connections", idle: true, conns: 10_000},
	{key: "idle19k", title: "Idle memory, 19,000 connections", idle: true, conns: 19_000},
}

// sample is what one cell (one server, one scenario, one repetition) measured.
type sample struct {
	Server   string `json:"server"`
	Scenario string `json:"scenario"`
	Rep      int    `json:"rep"`
	Err      string `json:"error,omitempty"`

	MsgsPerSec float64 `json:"msgs_per_sec,omitempty"`
	P50Micros  float64 `json:"p50_us,omitempty"`
	P99Micros  float64 `json:"p99_us,omitempty"`
	MaxMicros  float64 `json:"max_us,omitempty"`
	CPUPerMsg  float64 `json:"server_cpu_us_per_msg,omitempty"`
	CPUSeconds float64 `json:"server_cpu_s,omitempty"`    // what CPUPerMsg was measured from
	ServerCPU  float64 `json:"server_cpu_pct,omitempty"`  // of one CPU, over the window
	LoadgenCPU float64 `json:"loadgen_cpu_pct,omitempty"` // of one CPU, over the window

	SlowDropped int `json:"slow_dropped,omitempty"` // slow readers the server closed

	ServerRSS float64 `json:"server_rss_bytes,omitempty"` // at the end of a fan-out window

	BaseRSS    float64 `json:"base_rss_bytes,omitempty"`
	RSSPerConn float64 `json:"rss_bytes_per_conn,omitempty"`
}

// setupTimeout bounds how long the load generator may take to open its
// connections; cells get this much on top of their measured time.
const setupTimeout = time.Minute

type runner struct {
	loadgen               string
	serverCPU, loadgenCPU string
	duration, warmup      time.Duration
	text                  bool
	port                  int // last port handed out
}

// run measures one cell; it ends all the processes it started.
func (r *runner) run(ctx context.Context, s server, sc scenario) (sample, error) {
	ctx, cancel := context.WithTimeout(ctx, setupTimeout+r.warmup+r.duration+30*time.Second)
	defer cancel()
	addr, err := r.freeAddr()
	if err != nil {
		return sample{}, err
	}
	srv, err := start(ctx, r.serverCPU, s.commandFor(sc, addr), nil, nil)
	if err != nil {
		return sample{}, err
	}
	defer srv.stop()
	if err := waitListening(ctx, addr, srv); err != nil {
		return sample{}, err
	}
	var smp sample
	switch {
	case sc.idle:
		smp, err = r.idle(ctx, sc, addr, srv)
	case sc.slowPeers:
		smp, err = r.slowReaders(ctx, sc, addr, srv)
	case sc.fanout:
		smp, err = r.fanout(ctx, sc, addr, srv)
	default:
		smp, err = r.echo(ctx, sc, addr, srv)
	}
	if err == nil && srv.exited() {
		err = fmt.Errorf("server exited during the run: %s", srv.out)
	}
	return smp, err
}

func (r *runner) echo(ctx context.Context, sc scenario, addr string, srv *process) (sample, error) {
	return r.echoFor(ctx, sc, addr, srv, r.warmup)
}

// echoFor runs the echo load generator for sc with the given warm-up.
func (r *runner) echoFor(ctx context.Context, sc scenario, addr string, srv *process, warmup time.Duration) (sample, error) {
	argv := []string{r.loadgen, "-addr", addr, "-conns", strconv.Itoa(sc.conns), "-size", strconv.Itoa(sc.size),
		"-duration", r.duration.String(), "-warmup", warmup.String(), "-pid", strconv.Itoa(srv.pid()),
		"-setup-timeout", setupTimeout.String()}
	if sc.inflight > 1 {
		argv = append(argv, "-inflight", strconv.Itoa(sc.inflight))
	}
	if r.text {
		argv = append(argv, "-text")
	}
	var out bytes.Buffer
	lg, err := start(ctx, r.loadgenCPU, argv, nil, &out)
	if err != nil {
		return sample{}, err
	}
	if err := lg.wait(); err != nil {
		return sample{}, loadgenFailure(err, lg, srv)
	}
	var res result.Echo
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return sample{}, fmt.Errorf("loadgen output %q: %w", out.Bytes(), err)
	}
	if res.Messages == 0 || res.ServerCPU == 0 {
		return sample{}, fmt.Errorf("nothing measured: %s", out.Bytes())
	}
	return sample{
		MsgsPerSec: res.MsgsPerSec,
		P50Micros:  res.P50Micros,
		P99Micros:  res.P99Micros,
		MaxMicros:  res.MaxMicros,
		CPUPerMsg:  res.ServerCPU / float64(res.Messages) * 1e6,
		CPUSeconds: res.ServerCPU,
		ServerCPU:  res.ServerCPU / res.Seconds * 100,
		LoadgenCPU: res.LoadgenCPU / res.Seconds * 100,
	}, nil
}

// idle reads the server's RSS once settled after start, and again once
// settled with sc.conns idle connections open.
func (r *runner) idle(ctx context.Context, sc scenario, addr string, srv *process) (sample, error) {
	base, err := settledRSS(ctx, srv.pid())
	if err != nil {
		return sample{}, err
	}
	argv := []string{r.loadgen, "-idle", "-addr", addr, "-conns", strconv.Itoa(sc.conns), "-setup-timeout", setupTimeout.String()}
	h, err := r.startHeld(ctx, argv, srv)
	if err != nil {
		return sample{}, err
	}
	defer h.stop()
	rss, err := settledRSS(ctx, srv.pid())
	if err != nil {
		return sample{}, err
	}
	done, err := h.finish(ctx, srv)
	if err != nil {
		return sample{}, err
	}
	if done.Dropped > 0 {
		return sample{}, fmt.Errorf("server closed %d of %d idle connections", done.Dropped, sc.conns)
	}
	return sample{BaseRSS: float64(base), RSSPerConn: float64(rss-base) / float64(sc.conns)}, nil
}

// heldLoad is a load generator that holds its connections until its
// standard input closes; its events arrive one JSON line each.
type heldLoad struct {
	lg      *process
	events  eventLines
	release *os.File // the writing end of its standard input
}

// startHeld starts a load generator with argv that holds its connections,
// and waits for its ready event.
func (r *runner) startHeld(ctx context.Context, argv []string, srv *process) (*heldLoad, error) {
	hold, release, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	h := &heldLoad{events: make(eventLines, 4), release: release}
	h.lg, err = start(ctx, r.loadgenCPU, argv, hold, h.events)
	hold.Close() // the child has its own copy
	if err != nil {
		release.Close()
		return nil, err
	}
	if _, err := h.events.next(ctx, h.lg); err != nil {
		err = loadgenFailure(err, h.lg, srv)
		h.stop()
		return nil, err
	}
	return h, nil
}

// finish closes the load generator's input, so that it lets its
// connections go, and returns the event it ends with.
func (h *heldLoad) finish(ctx context.Context, srv *process) (result.Idle, error) {
	h.release.Close()
	done, err := h.events.next(ctx, h.lg)
	if err != nil {
		return done, loadgenFailure(err, h.lg, srv)
	}
	return done, nil
}

// stop ends the load generator.
func (h *heldLoad) stop() {
	h.release.Close()
	h.lg.stop()
}

// loadgenFailure describes a failed cell with the output of both processes.
func loadgenFailure(err error, lg, srv *process) error {
	return fmt.Errorf("loadgen: %w\n  loadgen: %s\n  server: %s", err, lg.out, srv.out)
}

// freeAddr returns a loopback address with a free port below the ephemeral
// range (32768–60999), so that it never collides with the load generator's
// own ports.
func (r *runner) freeAddr() (string, error) {
	const lo, hi = 20000, 32000
	for range hi - lo {
		r.port++
		if r.port < lo || r.port >= hi {
			r.port = lo
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port))
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			return addr, nil
		}
	}
	return "", errors.New("no free port in 20000–32000")
}

// waitListening polls until the server accepts connections: a generic
// command line offers no other sign that it is ready.
func waitListening(ctx context.Context, addr string, srv *process) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			return c.Close()
		}
		select {
		case <-srv.done:
			return fmt.Errorf("server exited at start: %s", srv.out)
		case <-ctx.Done():
			return fmt.Errorf("server not listening on %s: %w", addr, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// settledRSS polls the resident memory of pid until two readings 100 ms
// apart differ by less than 1 %, for 3 s at most. This gives a burst of
// handshakes, and a Go runtime's background work after it, time to finish.
func settledRSS(ctx context.Context, pid int) (int64, error) {
	prev, err := proc.RSS(pid)
	for range 30 {
		if err != nil {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		var cur int64
		cur, err = proc.RSS(pid)
		if d := cur - prev; err == nil && d*100 <= prev && -d*100 <= prev {
			return cur, nil
		}
		prev = cur
	}
	return prev, err
}

// process is a child pinned to one CPU; it is killed when its context ends.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once it has exited and been reaped
	err  error         // from Wait, valid after done
	out  *tail         // the end of its standard error (and output, if not taken)
}

func start(ctx context.Context, cpu string, argv []string, stdin io.Reader, stdout io.Writer) (*process, error) {
	cmd := exec.CommandContext(ctx, "taskset", append([]string{"-c", cpu}, argv...)...)
	p := &process{cmd: cmd, done: make(chan struct{}), out: &tail{}}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, p.out
	if stdout == nil {
		cmd.Stdout = p.out
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// pid is the pinned program's: taskset replaces itself with it (exec).
func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) wait() error {
	<-p.done
	return p.err
}

func (p *process) stop() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// tail keeps the last 2 KiB written to it.
type tail struct {
	mu sync.Mutex
	b  []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - 2<<10; over > 0 {
		t.b = t.b[over:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.b))
}

// eventLines receives the load generator's standard output in idle mode and
// passes on each JSON line as an event. Each line arrives whole, as the
// generator writes it with one write shorter than a pipe's atomic size. It
// never blocks the writer: the generator prints two lines, the channel holds
// four.
type eventLines chan result.Idle

func (ch eventLines) Write(p []byte) (int, error) {
	for line := range bytes.Lines(p) {
		var ev result.Idle
		if json.Unmarshal(line, &ev) == nil {
			select {
			case ch <- ev:
			default:
			}
		}
	}
	return len(p), nil
}

// next returns the next event, or an error if the generator exits first.
func (ch eventLines) next(ctx context.Context, lg *process) (result.Idle, error) {
	select {
	case ev := <-ch:
		return ev, nil
	case <-lg.done:
		select { // an event written just before the exit
		case ev := <-ch:
			return ev, nil
		default:
			return result.Idle{}, fmt.Errorf("exited: %v", lg.err)
		}
	case <-ctx.Done():
		return result.Idle{}, ctx.Err()
	}
}
