package wss

import (
	"sync/atomic"
	"time"
)

// Timeouts cost an idle connection no timer and no goroutine: one sweeper
// goroutine per Dispatcher ticks a coarse clock and scans a dense table of
// stamps, one entry per connection with timeouts, which the read path sets
// from that clock without a time syscall. The scan touches a connection
// only when one of its deadlines has passed, so it runs at memory speed.
// The sweeper runs only while some connection has timeouts.

const (
	minSweepTick = 5 * time.Millisecond
	maxSweepTick = time.Second
	// maxSweepActions bounds the pings, idle closes and drops in flight at
	// once, so that peers which stopped reading cannot make the sweeper
	// pile up goroutines; what does not fit waits for the next tick.
	maxSweepActions = 64
	stampChunk      = 512
)

// stamps is a connection's entry in the sweeper's table. The stamps are in
// the Dispatcher's clock; owner is written under Dispatcher.mu. The
// timeouts themselves are read from the owner's Config, not copied here:
// every connection has an entry while keepalive is on, so each byte of it
// counts in the memory of an idle connection.
type stamps struct {
	lastRead atomic.Int64 // when bytes last arrived
	lastMsg  atomic.Int64 // when the peer last started a data frame
	pingAt   atomic.Int64 // when a keepalive ping went out unanswered; 0 if none
	owner    *Conn        // nil while the entry is free
}

// sweeper is a Dispatcher's timeout state, guarded by Dispatcher.mu unless
// noted.
type sweeper struct {
	start   time.Time
	clock   atomic.Int64 // nanoseconds since start, updated each tick; read freely
	tick    time.Duration
	running bool
	stop    chan struct{}
	done    chan struct{}
	actions chan struct{} // semaphore of maxSweepActions
	chunks  []*[stampChunk]stamps
	free    []*stamps
	used    int
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

// touch records that bytes arrived from the peer, which answers any
// keepalive ping. Called by the read path: an atomic load and a store or two.
func (c *Conn) touch() {
	if e := c.live; e != nil {
		e.lastRead.Store(c.d.sweep.now())
		if e.pingAt.Load() != 0 {
			e.pingAt.Store(0)
		}
	}
}

// dataFrameStarted records that the peer started a data frame.
func (c *Conn) dataFrameStarted() {
	if e := c.live; e != nil && c.cfg.IdleTimeout > 0 {
		e.lastMsg.Store(c.d.sweep.now())
	}
}

// watch gives c an entry in the sweeper's table if its Config has
// timeouts, and starts the sweeper if needed. It must be called before c
// is read from. d.mu must be held.
func (d *Dispatcher) watch(c *Conn) {
	tick := c.cfg.sweepTick()
	if tick == 0 {
		return
	}
	s := &d.sweep
	if s.tick == 0 || tick < s.tick {
		s.tick = tick
	}
	if s.start.IsZero() {
		s.start = time.Now()
		s.actions = make(chan struct{}, maxSweepActions)
	}
	if !s.running {
		s.advance()
		s.running = true
		prev := s.done
		s.stop = make(chan struct{})
		s.done = make(chan struct{})
		go d.sweepLoop(prev, s.stop, s.done)
	}
	e := s.alloc()
	now := s.now()
	e.lastRead.Store(now)
	e.lastMsg.Store(now)
	e.pingAt.Store(0)
	e.owner = c
	c.live = e
}

func (s *sweeper) alloc() *stamps {
	if len(s.free) == 0 {
		chunk := new([stampChunk]stamps)
		s.chunks = append(s.chunks, chunk)
		for i := len(chunk) - 1; i >= 0; i-- {
			s.free = append(s.free, &chunk[i])
		}
	}
	e := s.free[len(s.free)-1]
	s.free = s.free[:len(s.free)-1]
	s.used++
	return e
}

// unwatch frees c's entry, and stops the sweeper when no connection needs
// it any more, so that an unused Dispatcher holds no goroutine. c is not
// read from again. d.mu must be held.
func (d *Dispatcher) unwatch(c *Conn) {
	s := &d.sweep
	if e := c.live; e != nil && e.owner == c {
		e.owner = nil
		s.free = append(s.free, e)
		s.used--
	}
	if s.running && s.used == 0 {
		close(s.stop)
		s.running = false
	}
}

// sweepLoop ticks until stop is closed. It starts once the sweeper before
// it (prev, if any) has ended, so that waiting for the last one waits for
// all.
func (d *Dispatcher) sweepLoop(prev, stop, done chan struct{}) {
	defer close(done)
	if prev != nil {
		<-prev
	}
	t := time.NewTimer(d.sweepTick())
	defer t.Stop()
	var due []sweepDue
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		now := d.sweep.advance()
		for i := 0; ; i++ {
			var ok bool
			if due, ok = d.sweepChunk(i, now, due[:0]); !ok {
				break
			}
			for j, x := range due {
				d.sweepAction(x)
				due[j] = sweepDue{}
			}
		}
		t.Reset(d.sweepTick())
	}
}

func (d *Dispatcher) sweepTick() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sweep.tick
}

// What the sweeper found due for a connection.
const (
	dueIdle = iota + 1
	duePing
	duePong
)

type sweepDue struct {
	c    *Conn
	what int
	now  int64
}

// sweepChunk checks the entries of chunk i at time now and appends what is
// due to due; it reports false when there is no chunk i. It holds d.mu, so
// entries are not reassigned meanwhile, for one chunk at a time.
func (d *Dispatcher) sweepChunk(i int, now int64, due []sweepDue) ([]sweepDue, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if i >= len(d.sweep.chunks) {
		return due, false
	}
	chunk := d.sweep.chunks[i]
	for k := range chunk {
		e := &chunk[k]
		if e.owner == nil {
			continue
		}
		what := e.due(now)
		if what == 0 {
			continue
		}
		c := e.owner
		if c.is(flagClosed) || c.is(flagCloseSent) {
			continue // closing: CloseTimeout bounds the rest
		}
		if what == duePing {
			e.pingAt.Store(now)
		}
		due = append(due, sweepDue{c, what, now})
	}
	return due, true
}

// due returns what is due for an entry at time now, or 0.
func (e *stamps) due(now int64) int {
	cfg := e.owner.cfg
	if idle := int64(cfg.idleTimeout()); idle != 0 && now-e.lastMsg.Load() >= idle {
		return dueIdle
	}
	ping := int64(cfg.pingInterval())
	if ping == 0 {
		return 0
	}
	if sent := e.pingAt.Load(); sent != 0 {
		if now-sent >= int64(cfg.pongTimeout()) {
			return duePong
		}
		return 0
	}
	if now-e.lastRead.Load() >= ping {
		return duePing
	}
	return 0
}

// sweepAction carries out x in a goroutine if fewer than maxSweepActions
// run: each may write or close a socket, which may wait (a TLS close
// writes an alert), and the sweep must not.
func (d *Dispatcher) sweepAction(x sweepDue) {
	select {
	case d.sweep.actions <- struct{}{}:
	default:
		return
	}
	d.sweepActions.Add(1)
	go func() {
		defer d.sweepActions.Done()
		defer func() { <-d.sweep.actions }()
		switch x.what {
		case dueIdle:
			x.c.closeIdle()
		case duePing:
			x.c.keepalive(x.now)
		case duePong:
			x.c.drop(StatusPongTimeout)
		}
	}()
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

// keepalive sends a ping unless a write is in progress: then the peer is
// taking our output (or WriteTimeout will drop it), and the ping waits for
// a later tick, with no pong deadline meanwhile. The sweeper set the
// deadline at now; a connection that starts closing is no longer checked.
func (c *Conn) keepalive(now int64) {
	if !c.wmu.TryLock() {
		c.live.pingAt.CompareAndSwap(now, 0)
		return
	}
	c.wmu.Unlock()
	_ = c.writeFrame(opPing, nil) // a failed write drops the connection
}

// closeIdle closes a connection whose peer sent no data frame for
// IdleTimeout.
func (c *Conn) closeIdle() {
	if c.setStatus(StatusIdleTimeout) {
		_ = c.Close(StatusGoingAway)
	}
}
