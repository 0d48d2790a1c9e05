package wss

import (
	"errors"
	"io"
	"sync"

	"github.com/wssgo/wss/internal/frame"
)

// Sending a message in fragments (RFC 6455 section 5.4): Conn.Writer
// returns a fragmentWriter, which sends a frame per Write and the last one,
// with FIN, on Close. While it is open the connection's flagStreaming is
// set, and every other data frame waits for it in transmitFrom; control
// frames (pongs, keepalive pings, a close) go between the fragments.
//
// Fragments go out uncompressed on a connection with permessage-deflate:
// RFC 7692 lets each message choose, and compressing the fragments as one
// message would hold a compressor for as long as the message lasts.

// errStreamOpen tells transmitFrom that a data frame must wait for the end
// of the fragmented message in progress.
var errStreamOpen = errors.New("wss: a fragmented message is being sent")

// streamBufSize is the frame size ReadFrom fills before it sends.
const streamBufSize = 64 << 10

// Writer starts a message, text or binary, that is sent in fragments as it
// is written: each Write sends one frame, Close sends the last (with FIN)
// and ends the message. The writer implements io.ReaderFrom: io.Copy from
// a reader sends a frame per 64 KiB read (unless the reader is an
// io.WriterTo, which chooses its own writes), and the message is never
// held whole. Text must be valid UTF-8 across the writes: a Write that
// breaks it returns ErrInvalidUTF8 and sends nothing, and Close then ends
// the message where the last valid write left it (or, inside a character,
// closes the connection with StatusInternalError).
//
// Until Close, other messages of the connection (Write, WritePrepared,
// another Writer) wait, so messages never interleave; pongs, keepalive
// pings and Close go out between fragments. Close must be called, also
// after an error. A handler on an event loop that writes while a writer of
// its connection is open elsewhere waits with its loop: write from
// goroutines, or use DispatcherConfig.OffLoop. Fragments go out
// uncompressed on connections with permessage-deflate.
//
// The writer is not safe for concurrent use; each Write blocks as Conn.Write
// does and does not retain p.
func (c *Conn) Writer(typ MessageType) (io.WriteCloser, error) {
	op, err := typ.opcode()
	if err != nil {
		return nil, err
	}
	w := &fragmentWriter{c: c, op: op, text: op == opText, done: make(chan struct{})}
	for {
		open, err := streams.start(w)
		if err != nil {
			return nil, err
		}
		if open {
			return w, nil
		}
		streams.wait(c)
	}
}

// fragmentWriter is one message being sent in fragments; it is used by one
// goroutine, the writer's.
type fragmentWriter struct {
	c      *Conn
	op     opcode // of the next frame: the message's, then opContinuation
	text   bool
	utf8   frame.UTF8State // of a text message's bytes sent so far
	done   chan struct{}   // closed when the message has ended, for the writers waiting
	err    error           // the first error, returned by every later call
	size   int             // payload bytes sent, for Observer.Sent
	closed bool
}

// Write sends p as the next fragment of the message.
func (w *fragmentWriter) Write(p []byte) (int, error) {
	switch {
	case w.closed:
		return 0, ErrClosed
	case w.err != nil:
		return 0, w.err
	case len(p) == 0:
		return 0, nil // an empty fragment says nothing
	}
	u := w.utf8
	if w.text {
		var ok bool
		if u, ok = u.Next(p); !ok {
			w.err = ErrInvalidUTF8
			return 0, w.err
		}
	}
	if err := w.send(p, true); err != nil {
		return 0, err
	}
	w.utf8 = u
	w.size += len(p)
	return len(p), nil
}

// ReadFrom sends what r yields until io.EOF, a frame per 64 KiB read (the
// last one shorter); Close still ends the message.
func (w *fragmentWriter) ReadFrom(r io.Reader) (int64, error) {
	b := getBuf(streamBufSize)
	defer putBuf(b)
	buf := (*b)[:streamBufSize]
	var total int64
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return total, nil
		case err != nil:
			return total, err
		}
	}
}

// Close sends the message's last frame and lets the connection's other
// writers go on. It returns the writer's first error, if any.
func (w *fragmentWriter) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	defer streams.end(w)
	switch {
	case w.utf8 != 0:
		// Only a character's start went out: no frame can end the
		// message as valid text, so the connection cannot go on.
		_ = w.c.Close(StatusInternalError, "")
		if w.err == nil {
			w.err = ErrInvalidUTF8
		}
	case w.err == nil || errors.Is(w.err, ErrInvalidUTF8):
		_ = w.c.d.obs.sent(w.size, w.send(nil, false)) // its error, if any, is w.err now
	}
	return w.err
}

// send sends one frame of the message; more is false for the last.
func (w *fragmentWriter) send(p []byte, more bool) error {
	err := w.c.wire().transmitFrom(outgoing{op: w.op, how: plainFrame, payload: p, more: more, stream: true})
	if err != nil {
		if w.err == nil {
			w.err = err
		}
		return err
	}
	w.op = opContinuation
	return nil
}

// streams holds the fragmented messages being sent, by connection, so
// that a waiting writer finds what to wait on; a Conn has no field for
// it, as an idle one stays 128 bytes.
var streams streamTable

type streamTable struct{ m sync.Map } // *Conn → *fragmentWriter

// start makes w the connection's message in progress unless another is
// (open false: wait, then try again) or the connection is not open.
func (s *streamTable) start(w *fragmentWriter) (open bool, err error) {
	c := w.c
	c.wmu.Lock()
	defer c.wmu.Unlock()
	switch {
	case !c.IsValid():
		return false, ErrClosed
	case c.state.is(flagStreaming):
		return false, nil
	}
	s.m.Store(c, w)
	c.state.set(flagStreaming)
	return true, nil
}

// end ends w's message, or does nothing if it has ended already.
func (s *streamTable) end(w *fragmentWriter) {
	c := w.c
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if s.m.CompareAndDelete(c, w) {
		c.state.clear(flagStreaming)
		close(w.done)
	}
}

// wait returns when the message c is sending in fragments has ended, or at
// once if none is.
func (s *streamTable) wait(c *Conn) {
	if w, ok := s.m.Load(c); ok {
		<-w.(*fragmentWriter).done
	}
}

// release ends the message in progress of a connection that has ended, so
// that its waiting writers go on (to find it closed).
func (s *streamTable) release(c *Conn) {
	if w, ok := s.m.Load(c); ok {
		s.end(w.(*fragmentWriter))
	}
}
