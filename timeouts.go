package wss

import (
	"errors"
	"sync/atomic"
	"time"
)

// Timeouts cost an idle connection three words and no timer: one sweeper
// goroutine per Dispatcher ticks a coarse clock and checks every
// connection's stamps, which the read path sets from that clock without a
// time syscall. The sweeper runs only while the Dispatcher serves
// connections whose Config asks for a timeout.

const (
	minSweepTick = 5 * time.Millisecond
	maxSweepTick = time.Second
	// maxSweepActions bounds the pings and idle closes in flight at once, so
	// that peers which stopped reading cannot make the sweeper pile up
	// goroutines; what does not fit waits for the next tick.
	maxSweepActions = 64
)

// liveness holds a connection's timeout stamps, in the Dispatcher's clock.
type liveness struct {
	lastRead atomic.Int64 // when bytes last arrived
	lastMsg  atomic.Int64 // when the peer last started a data frame
	pingAt   atomic.Int64 // when a keepalive ping went out unanswered; 0 if none
}

// sweeper is a Dispatcher's timeout state.
type sweeper struct {
	start   time.Time
	clock   atomic.Int64 // nanoseconds since start, updated each tick
	tick    time.Duration
	running bool // guarded by Dispatcher.mu
	stop    chan struct{}
	done    chan struct{}
	actions chan struct{} // semaphore of maxSweepActions
	scratch []*Conn
}

func (cfg *Config) idleTimeout() time.Duration { return max(cfg.IdleTimeout, 0) }

// pingInterval returns the keepalive interval, or 0 when keepalive is off.
func (cfg *Config) pingInterval() time.Duration {
	if cfg.PingInterval < 0 {
		return 0
	}
	return pick(cfg.PingInterval, DefaultPingInterval)
}

func (cfg *Config) pongTimeout() time.Duration {
	return pick(cfg.PongTimeout, DefaultPongTimeout)
}

// sweepTick is the clock resolution cfg's timeouts need: a quarter of the
// shortest, within [minSweepTick, maxSweepTick]; 0 if cfg has none.
func (cfg *Config) sweepTick() time.Duration {
	shortest := time.Duration(0)
	for _, t := range []time.Duration{cfg.idleTimeout(), cfg.pingInterval()} {
		if t > 0 && (shortest == 0 || t < shortest) {
			shortest = t
		}
	}
	if shortest == 0 {
		return 0
	}
	if cfg.pingInterval() > 0 {
		shortest = min(shortest, cfg.pongTimeout())
	}
	return min(max(shortest/4, minSweepTick), maxSweepTick)
}

// now returns the coarse clock: never 0, so 0 can mean "not stamped".
func (s *sweeper) now() int64 { return s.clock.Load() }

func (s *sweeper) advance() int64 {
	now := int64(time.Since(s.start)) + 1
	s.clock.Store(now)
	return now
}

// touch records that bytes arrived from the peer: it answers any keepalive
// ping. Called by the read path, so it costs two atomic loads and a store.
func (c *Conn) touch() {
	c.live.lastRead.Store(c.d.sweep.now())
	if c.live.pingAt.Load() != 0 {
		c.live.pingAt.Store(0)
	}
}

// dataFrameStarted records that the peer started a data frame.
func (c *Conn) dataFrameStarted() { c.live.lastMsg.Store(c.d.sweep.now()) }

// watch puts c under the sweeper if its Config has timeouts, starting the
// sweeper if needed. d.mu must be held.
func (d *Dispatcher) watch(c *Conn) {
	tick := c.cfg.sweepTick()
	if tick == 0 {
		return
	}
	s := &d.sweep
	if s.tick == 0 || tick < s.tick {
		s.tick = tick
	}
	if !s.running {
		if s.start.IsZero() {
			s.start = time.Now()
			s.actions = make(chan struct{}, maxSweepActions)
		}
		s.advance()
		s.running = true
		prev := s.done
		s.stop = make(chan struct{})
		s.done = make(chan struct{})
		go d.sweepLoop(prev, s.stop, s.done)
	}
	now := s.now()
	c.live.lastRead.Store(now)
	c.live.lastMsg.Store(now)
}

// sweepLoop ticks until stop is closed or no connection is left. It
// starts once the sweeper before it (prev, if any) has ended, so that
// waiting for the last one waits for all.
func (d *Dispatcher) sweepLoop(prev, stop, done chan struct{}) {
	defer close(done)
	if prev != nil {
		<-prev
	}
	t := time.NewTimer(d.sweepTick())
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		conns, ok := d.sweepSnapshot()
		if !ok {
			return
		}
		now := d.sweep.advance()
		for i, c := range conns {
			c.sweepCheck(now)
			conns[i] = nil
		}
		t.Reset(d.sweepTick())
	}
}

func (d *Dispatcher) sweepTick() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sweep.tick
}

// sweepSnapshot copies the connections to check; it reports false, and
// marks the sweeper stopped, when there are none.
func (d *Dispatcher) sweepSnapshot() ([]*Conn, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.conns) == 0 {
		d.sweep.running = false
		return nil, false
	}
	s := d.sweep.scratch[:0]
	for c := range d.conns {
		s = append(s, c)
	}
	d.sweep.scratch = s
	return s, true
}

// idleSweeper stops the sweeper when the last connection has left, so that
// an unused Dispatcher holds no goroutine. d.mu must be held.
func (d *Dispatcher) idleSweeper() {
	if s := &d.sweep; s.running && len(d.conns) == 0 {
		close(s.stop)
		s.running = false
	}
}

// stopSweeper stops the sweeper and waits for it and its actions.
func (d *Dispatcher) stopSweeper() {
	d.mu.Lock()
	s := &d.sweep
	if s.running {
		close(s.stop)
		s.running = false
	}
	done := s.done
	d.mu.Unlock()
	if done != nil {
		<-done
	}
	d.sweepActions.Wait()
}

// sweepCheck applies c's timeouts at time now. It never blocks: a ping or
// close that has to write runs in a goroutine of its own, if a slot is free.
func (c *Conn) sweepCheck(now int64) {
	if c.closed.Load() || !c.connected.Load() || c.closeSent.Load() {
		return // closing: CloseTimeout bounds the rest
	}
	cfg := c.cfg
	if idle := cfg.idleTimeout(); idle > 0 && now-c.live.lastMsg.Load() >= int64(idle) {
		c.d.sweepAction(c.closeIdle)
		return
	}
	interval := cfg.pingInterval()
	if interval == 0 {
		return
	}
	if sent := c.live.pingAt.Load(); sent != 0 {
		if now-sent >= int64(cfg.pongTimeout()) {
			// Closing a TLS connection writes an alert, which may wait.
			c.d.sweepAction(func() { c.drop(StatusPongTimeout) })
		}
		return
	}
	if now-c.live.lastRead.Load() >= int64(interval) {
		c.d.sweepAction(func() { c.keepalive(now) })
	}
}

// sweepAction runs f in a goroutine if fewer than maxSweepActions run.
func (d *Dispatcher) sweepAction(f func()) {
	select {
	case d.sweep.actions <- struct{}{}:
	default:
		return
	}
	d.sweepActions.Add(1)
	go func() {
		defer d.sweepActions.Done()
		defer func() { <-d.sweep.actions }()
		f()
	}()
}

// keepalive sends a ping unless a write is in progress (which shows the
// connection is busy, and is bounded by WriteTimeout anyway).
func (c *Conn) keepalive(now int64) {
	if !c.wmu.TryLock() {
		return
	}
	c.wmu.Unlock()
	c.live.pingAt.Store(now)
	if errors.Is(c.writeFrame(opPing, nil), ErrClosed) {
		c.live.pingAt.CompareAndSwap(now, 0) // closing: no pong is due
	}
}

// closeIdle closes a connection whose peer sent no message for IdleTimeout.
func (c *Conn) closeIdle() {
	if c.endStatus.CompareAndSwap(0, StatusIdleTimeout) {
		_ = c.Close(StatusGoingAway)
	}
}
