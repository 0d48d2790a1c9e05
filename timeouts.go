package wss

import (
	"sync/atomic"
	"time"
)

// Timeouts cost an idle connection a 24-byte entry and no timer or
// goroutine: one sweeper goroutine per Dispatcher ticks a coarse clock (in
// milliseconds) and scans a dense table of stamps, one entry per connection
// with timeouts, which the read path sets from that clock without a time
// syscall. An entry names its timeouts by an index into a small table of
// the distinct ones, so the scan touches a connection only when one of its
// deadlines has passed, and runs at memory speed. The sweeper runs only
// while some connection has timeouts.
//
// Whatever is due is acted on in the sweep that finds it, however many
// connections are due at once: nothing is skipped or capped. On an
// event-loop connection every action is done by the sweeper itself without
// waiting, as the loops write: a drop is a shutdown(2), and a ping or close
// frame the socket does not take at once waits in the connection's output
// queue (sendFD), under WriteTimeout. A goroutine-mode connection's write
// may wait for its peer (and closing TLS writes an alert), so its action
// runs on a goroutine of its own, at most one per connection at a time
// (sweeper.acting): peers that stop reading can hold one goroutine each, up
// to WriteTimeout, never more.
//
// The keepalive state of an entry:
//
//	pingAt  acting  state
//	0       no      no ping out: one is due PingInterval after lastRead
//	t       no      ping sent or queued at t: the peer has PongTimeout from t
//	t       yes     ping being written on its own goroutine: t moves to when
//	                the write returns, so a write that waited does not eat
//	                into PongTimeout
//	any     yes     an idle close or a drop under way: the sweep passes by
//
// Input from the peer (touch) sets pingAt back to 0. A ping found due while
// another write holds the connection is not sent (pingAt back to 0): the
// peer is taking our output, or WriteTimeout drops it; the next sweep asks
// again.

const (
	minSweepTick = 5 * time.Millisecond
	maxSweepTick = time.Second
	stampChunk   = 512
)

// stamps is a connection's entry in the sweeper's table. The stamps are
// milliseconds of the Dispatcher's clock, compared with wrapping
// arithmetic (timeouts are capped at 24 days); kind and owner are written
// under Dispatcher.mu. Every connection has an entry while keepalive is on,
// so each byte of it counts in the memory of an idle connection.
type stamps struct {
	lastRead atomic.Uint32 // when bytes last arrived
	lastMsg  atomic.Uint32 // when the peer last started a data frame
	pingAt   atomic.Uint32 // when a keepalive ping went out unanswered; 0 if none
	kind     uint32        // index of the connection's timeouts in sweeper.kinds
	owner    *Conn         // nil while the entry is free
}

// timeoutKind is a set of timeouts in milliseconds, 0 for none; the
// sweeper keeps one per distinct set.
type timeoutKind struct {
	idle, ping, pong int32
}

// maxTimeoutMillis caps timeouts so that wrapping differences of the
// millisecond clock stay positive.
const maxTimeoutMillis = 1<<31 - 1

func millis(d time.Duration) int32 {
	return int32(min((d+time.Millisecond-1)/time.Millisecond, maxTimeoutMillis))
}

func (cfg *Config) timeoutKind() timeoutKind {
	k := timeoutKind{idle: millis(cfg.idleTimeout()), ping: millis(cfg.pingInterval())}
	if k.ping != 0 {
		k.pong = millis(cfg.pongTimeout())
	}
	return k
}

// sweeper is a Dispatcher's timeout state, guarded by Dispatcher.mu unless
// noted.
type sweeper struct {
	start   time.Time
	clock   atomic.Uint32 // milliseconds since start, never 0, updated each tick; read freely
	tick    time.Duration
	running bool
	stop    chan struct{}
	done    chan struct{}
	retick  chan struct{} // wakes the running sweeper to take a shorter tick
	// acting holds the goroutine-mode connections whose action runs on a
	// goroutine of its own, so that none gets a second.
	acting map[*Conn]struct{}
	chunks []*[stampChunk]stamps
	free   []*stamps
	used   int
	kinds  []timeoutKind          // the distinct timeouts of the entries
	kindOf map[timeoutKind]uint32 // index in kinds
}

func (cfg *Config) idleTimeout() time.Duration { return max(cfg.IdleTimeout, 0) }

// pingInterval returns the keepalive interval, or 0 when keepalive is off.
func (cfg *Config) pingInterval() time.Duration {
	if cfg.PingInterval < 0 {
		return 0
	}
	return pick(cfg.PingInterval, defaultPingInterval)
}

func (cfg *Config) pongTimeout() time.Duration {
	return pick(cfg.PongTimeout, defaultPongTimeout)
}

// sweepTick is the clock resolution cfg's timeouts need: a quarter of the
// shortest, within [minSweepTick, maxSweepTick]; 0 if cfg has none.
func (cfg *Config) sweepTick() time.Duration {
	shortest := cfg.idleTimeout()
	if ping := cfg.pingInterval(); ping > 0 {
		if shortest == 0 || ping < shortest {
			shortest = ping
		}
		shortest = min(shortest, cfg.pongTimeout())
	}
	if shortest == 0 {
		return 0
	}
	return tickFor(shortest)
}

// tickFor returns the clock resolution a timeout of t needs.
func tickFor(t time.Duration) time.Duration {
	return min(max(t/4, minSweepTick), maxSweepTick)
}

// now returns the coarse clock: never 0, so 0 can mean "not stamped".
func (s *sweeper) now() uint32 { return s.clock.Load() }

func (s *sweeper) advance() uint32 {
	now := uint32(time.Since(s.start) / time.Millisecond) // wraps after 49 days
	if now == 0 {
		now = 1
	}
	s.clock.Store(now)
	return now
}

// since returns the milliseconds from then to now, across a wrap.
func since(now, then uint32) int32 { return int32(now - then) }

// touch records that bytes arrived from the peer at s's clock, which
// answers any keepalive ping. Called by the read path. e may be nil: a
// connection without timeouts has no entry.
func (e *stamps) touch(s *sweeper) {
	if e != nil {
		stamp(&e.lastRead, s.now())
		stamp(&e.pingAt, 0)
	}
}

// stamp stores v in a unless a holds it already: the read path's stamps
// change once a millisecond at most (the sweeper's clock), and a load
// costs less than a store, which is an atomic exchange.
func stamp(a *atomic.Uint32, v uint32) {
	if a.Load() != v {
		a.Store(v)
	}
}

// dataFrameStarted records that the peer started a data frame, for
// IdleTimeout (idle: the connection has one). e may be nil.
func (e *stamps) dataFrameStarted(s *sweeper, idle bool) {
	if e == nil || !idle {
		return
	}
	stamp(&e.lastMsg, s.now()) // the frames of a burst find it set

}

// watch gives c an entry in the sweeper's table if its Config has
// timeouts, and starts the sweeper if needed. It must be called before c
// is read from. d.mu must be held.
func (d *Dispatcher) watch(c *Conn) {
	kind, tick := c.cfg.timeoutKind(), c.cfg.sweepTick()
	if c.state.is(flagUpgrading) {
		// The whole request must arrive within HandshakeTimeout of the
		// accept: idle counts from lastMsg, which only data frames move.
		t := c.cfg.handshakeTimeout()
		kind, tick = timeoutKind{idle: millis(t)}, tickFor(t)
	}
	if tick == 0 {
		return
	}
	s := &d.sweep
	s.shortenTick(tick)
	if s.start.IsZero() {
		s.start = time.Now()
		s.acting = make(map[*Conn]struct{})
		s.retick = make(chan struct{}, 1)
	}
	if !s.running {
		s.advance()
		s.running = true
		prev := s.done
		s.stop = make(chan struct{})
		s.done = make(chan struct{})
		go d.sweepLoop(prev, s.stop, s.done, s.retick)
	}
	e := s.alloc()
	e.restart(s.now(), s.kindIndex(kind))
	e.owner = c
	c.live = e
}

// restart stamps e as active at now, with the timeouts s.kinds[kind].
// Dispatcher.mu must be held.
func (e *stamps) restart(now, kind uint32) {
	e.lastRead.Store(now)
	e.lastMsg.Store(now)
	e.pingAt.Store(0)
	e.kind = kind
}

// rewatch gives c, whose handshake on a loop has just completed, the
// timeouts of its Config instead of the handshake's. It runs on the
// goroutine that reads c, so nothing touches c's stamps meanwhile.
func (d *Dispatcher) rewatch(c *Conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := c.live
	if e == nil {
		d.watch(c)
		return
	}
	tick := c.cfg.sweepTick()
	if tick == 0 {
		d.unwatch(c)
		c.live = nil
		return
	}
	s := &d.sweep
	s.shortenTick(tick)
	e.restart(s.now(), s.kindIndex(c.cfg.timeoutKind()))
}

// shortenTick makes the sweeper tick at least every t, at once: a
// connection's timeouts are checked as often as they need from its start.
func (s *sweeper) shortenTick(t time.Duration) {
	if s.tick != 0 && t >= s.tick {
		return
	}
	s.tick = t
	select {
	case s.retick <- struct{}{}:
	default: // already pending, or no sweeper running to wake
	}
}

// kindIndex returns the index of k in s.kinds, adding it if it is new.
func (s *sweeper) kindIndex(k timeoutKind) uint32 {
	if i, ok := s.kindOf[k]; ok {
		return i
	}
	if s.kindOf == nil {
		s.kindOf = make(map[timeoutKind]uint32)
	}
	i := uint32(len(s.kinds))
	s.kinds = append(s.kinds, k)
	s.kindOf[k] = i
	return i
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
func (d *Dispatcher) sweepLoop(prev, stop, done, retick chan struct{}) {
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
		case <-retick:
			t.Reset(d.sweepTick())
			continue
		case <-t.C:
		}
		now := d.sweep.advance()
		for i := 0; ; i++ {
			var ok bool
			if due, ok = d.sweepChunk(i, now, due[:0]); !ok {
				break
			}
			for j, x := range due {
				d.act(x)
				due[j] = sweepDue{}
			}
			if len(due) > 0 {
				now = d.sweep.advance() // acting took time: stamp what follows truly
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
	e    *stamps // c's entry when found due; it may be reused once c ends
	what int
	now  uint32
}

// sweepChunk checks the entries of chunk i at time now and appends what is
// due to due; it reports false when there is no chunk i. It holds d.mu, so
// entries are not reassigned meanwhile, for one chunk at a time.
func (d *Dispatcher) sweepChunk(i int, now uint32, due []sweepDue) ([]sweepDue, bool) {
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
		what := e.due(now, &d.sweep.kinds[e.kind])
		if what == 0 {
			continue
		}
		c := e.owner
		if c.state.is(flagClosed) || c.state.is(flagCloseSent) {
			continue // closing: CloseTimeout bounds the rest
		}
		if what == duePong && c.state.is(flagPaused) {
			// The loop is not reading c until the peer takes our output,
			// so its pong may be waiting unread: it is taking our output,
			// and WriteTimeout drops it if it stops. Ask again later.
			e.pingAt.Store(0)
			continue
		}
		if c.wire().writeMayBlock() {
			if _, busy := d.sweep.acting[c]; busy {
				continue
			}
			d.sweep.acting[c] = struct{}{}
		}
		if what == duePing {
			e.pingAt.Store(now)
		}
		due = append(due, sweepDue{c, e, what, now})
	}
	return due, true
}

// due returns what is due at time now for an entry with timeouts k, or 0.
func (e *stamps) due(now uint32, k *timeoutKind) int {
	if k.idle != 0 && since(now, e.lastMsg.Load()) >= k.idle {
		return dueIdle
	}
	if k.ping == 0 {
		return 0
	}
	if sent := e.pingAt.Load(); sent != 0 {
		if since(now, sent) >= k.pong {
			return duePong
		}
		return 0
	}
	if since(now, e.lastRead.Load()) >= k.ping {
		return duePing
	}
	return 0
}

// act carries out x: at once on an event-loop connection, where nothing
// waits; on a goroutine of its own for a goroutine-mode one, whose write
// or close may wait for its peer.
func (d *Dispatcher) act(x sweepDue) {
	if !x.c.wire().writeMayBlock() {
		x.do(&d.sweep)
		return
	}
	d.sweepActions.Add(1)
	go func() {
		defer d.sweepActions.Done()
		x.do(&d.sweep)
		d.mu.Lock()
		delete(d.sweep.acting, x.c)
		d.mu.Unlock()
	}()
}

func (x sweepDue) do(s *sweeper) {
	switch x.what {
	case dueIdle:
		x.closeIdle()
	case duePing:
		x.keepalive(s)
	case duePong:
		x.c.drop(StatusPongTimeout)
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

// keepalive sends the ping found due at x.now (x.e is x.c's entry,
// stamped then), unless a write is in progress: then the peer is taking our
// output (or WriteTimeout will drop it), and the ping waits for a later
// sweep, with no pong deadline meanwhile. A connection that starts closing
// is no longer checked. The stamps are swapped only from their exact value,
// so an entry reused by another connection meanwhile is left alone.
func (x sweepDue) keepalive(s *sweeper) {
	c := x.c
	if !c.wmu.TryLock() {
		x.e.pingAt.CompareAndSwap(x.now, 0)
		return
	}
	c.wmu.Unlock()
	c.rd.pings.sending()
	if c.wire().writeFrameNoWait(opPing, nil) != nil {
		return // a failed write drops the connection
	}
	// PongTimeout counts from when the ping went out, or into the queue.
	x.e.pingAt.CompareAndSwap(x.now, s.now())
}

// closeIdle closes a connection whose peer sent no data frame for
// IdleTimeout, without waiting for the peer (see writeFrameNoWait).
func (x sweepDue) closeIdle() {
	if x.c.state.setStatus(StatusIdleTimeout) {
		_ = x.c.closeFrom(StatusGoingAway, "", true)
	}
}
