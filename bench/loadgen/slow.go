package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/wssgo/wss/bench/internal/result"
)

// Slow readers (-slow N): N connections beside the echo ones that send
// messages as fast as the server takes them and never read a byte, so that
// the server's output to them piles up in its socket buffers and its own
// queues. The echo connections' latency then shows whether one peer that
// does not read can hold the server's other connections.

// slowBlock is how many bytes of frames a slow reader offers per write.
const slowBlock = 64 << 10

// slowFrames returns frame repeated to fill about slowBlock bytes.
func slowFrames(frame []byte) []byte {
	n := max(1, slowBlock/max(1, len(frame)))
	b := make([]byte, 0, n*len(frame))
	for range n {
		b = append(b, frame...)
	}
	return b
}

// startSlow turns c, whose handshake has completed, into a slow reader: it
// waits for room to write only (level-triggered), never for input.
func (g *gen) startSlow(c *conn) error {
	c.out = g.slowOut
	c.waitOut = true
	return unix.EpollCtl(g.ep, unix.EPOLL_CTL_MOD, c.fd, &unix.EpollEvent{Events: unix.EPOLLOUT, Fd: int32(c.fd)})
}

// blast writes frames to a slow reader while its socket takes them. A
// slow reader the server drops (for instance at its write timeout) is
// counted and closed, not a failure of the run.
func (g *gen) blast(c *conn) {
	for range 4 { // then give the other connections a turn
		n, err := unix.Write(c.fd, c.out)
		switch {
		case err == unix.EAGAIN:
			return
		case err == unix.EINTR:
			continue
		case err != nil:
			g.slowDropped++
			_ = unix.EpollCtl(g.ep, unix.EPOLL_CTL_DEL, c.fd, nil)
			c.phase = connecting // no longer polled; closed at exit
			return
		}
		g.slowSent += uint64(n)
		// Whole frames only go out as one block; a partial write resumes
		// where it stopped.
		if c.out = c.out[n:]; len(c.out) == 0 {
			c.out = g.slowOut
		}
	}
}

// slowReport says what the slow readers did, for standard error.
func (g *gen) slowReport() string {
	return fmt.Sprintf("loadgen: %d slow readers sent %d bytes; the server dropped %d", g.slow, g.slowSent, g.slowDropped)
}

// slowOnly runs the slow readers of a process that has no echo connections
// (-conns 0): it prints a "ready" line (result.Idle) once they are up, so
// that the measuring process starts beside readers that already send, then
// sends until standard input closes or a signal arrives, and prints a
// "done" line with how many of them the server dropped.
func (g *gen) slowOnly() error {
	out := json.NewEncoder(os.Stdout)
	if err := out.Encode(result.Idle{Event: "ready", Conns: g.up, SetupSeconds: g.setupTook.Seconds()}); err != nil {
		return err
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	var ended atomic.Bool
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		ended.Store(true)
	}()
	go func() {
		<-stop
		ended.Store(true)
	}()
	for !ended.Load() {
		if err := g.poll(10); err != nil {
			return err
		}
	}
	fmt.Fprintln(os.Stderr, g.slowReport())
	return out.Encode(result.Idle{Event: "done", Conns: g.up, Dropped: g.slowDropped})
}
