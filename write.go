package wss

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/wssgo/wss/internal/frame"
)

// The write path. Every frame, and the HTTP response of Serve's handshake,
// reaches the socket through transmit, in three steps:
//  1. under c.wmu, which orders frames on the wire: check that the frame
//     may go (writable), compress it (permessage-deflate keeps its context
//     in wire order) and encode its header;
//  2. hand header and payload to the socket (sendBytes, socket.go): while
//     the connection's reader feeds it input (flagTurn), the frame joins
//     what that turn gathers, to go out with one write when it ends
//     (gather.go, cork_linux.go), unless it is a NetConn's (o.alone: it goes
//     after the batch, sendPastTurn); otherwise a net.Conn's Write in
//     goroutine mode, the loop's descriptor and its output queue in
//     event-loop mode (output_linux.go);
//  3. with c.wmu released, wait until the queue has sent what this writer
//     left in it, if anything, and call OnDrain if the output drained
//     (buffered.go).
// A client masks a plain frame's payload into a copy before step 1, so
// that concurrent writers mask in parallel.

// wire is a connection seen from its socket: the write path (write.go,
// gather.go, output_linux.go, cork_linux.go, buffered.go) and the socket's
// lifetime (socket.go). It is the same memory as Conn (c.wire converts),
// so that Conn's own methods are its API and its protocol, and the
// mechanism below them is named apart.
type wire Conn

// wire returns c's socket side.
func (c *Conn) wire() *wire { return (*wire)(c) }

// conn returns the connection w belongs to.
func (w *wire) conn() *Conn { return (*Conn)(w) }

// framing says how transmit frames a payload.
type framing uint8

const (
	plainFrame        framing = iota // a frame's payload: transmit writes the header
	compressedFrame                  // the same, deflated first (RFC 7692)
	encodedFrame                     // a whole frame encoded before (PreparedMessage)
	handshakeResponse                // Serve's HTTP response: the connection is not open yet
)

// outgoing is one frame on its way through transmit.
type outgoing struct {
	op      opcode
	how     framing
	payload []byte
	key     uint32  // a client's mask key
	scratch *[]byte // pooled buffer payload lives in (masked or compressed), or nil
	noWait  bool    // the writer must never wait for the peer (the sweeper)
	alone   bool    // never joins a turn's batch: a writer that is no handler of the connection (NetConn)
	more    bool    // a fragment that is not its message's last (no FIN)
	stream  bool    // a frame of the fragmented message in progress (stream.go)
}

// writeFrame sends one unfragmented frame.
func (w *wire) writeFrame(op opcode, payload []byte) error {
	return w.transmit(op, payload, plainFrame)
}

// transmit sends payload as how says. Frames of concurrent calls never
// interleave; once it returns, payload has been sent or copied.
func (w *wire) transmit(op opcode, payload []byte, how framing) error {
	return w.transmitFrom(outgoing{op: op, how: how, payload: payload})
}

// writeFrameNoWait sends one unfragmented frame for a writer that must
// never wait for a peer, as a loop's handlers do not: what the socket does
// not take is copied into the queue, and a failure to send it later drops
// the connection.
func (w *wire) writeFrameNoWait(op opcode, payload []byte) error {
	return w.transmitFrom(outgoing{op: op, how: plainFrame, payload: payload, noWait: true})
}

// transmitFrom runs the write path for o.
func (w *wire) transmitFrom(o outgoing) error {
	w.mask(&o)
	done, err := w.transmitLocked(&o, nil)
	for err != nil && errors.Is(err, errStreamOpen) { // a data frame waits for the end of a fragmented message
		streams.wait(w.conn())
		done, err = w.transmitLocked(&o, nil)
	}
	err = w.await(done, err)
	o.release()
	if !w.onLoop {
		w.drained() // on an event loop, the loop calls OnDrain
	}
	return err
}

// respond sends the HTTP response of Serve's handshake, before the
// connection is open. resp goes as a header does: copied if the socket
// does not take it at once, never retained.
func (w *wire) respond(resp []byte) error {
	o := outgoing{how: handshakeResponse}
	return w.await(w.transmitLocked(&o, resp))
}

// await waits, after c.wmu is released, for the bytes a writer left in
// the loop's queue (done, if not nil) to be sent.
func (w *wire) await(done <-chan error, err error) error {
	if done == nil {
		return err
	}
	return awaitSent(done)
}

// awaitSent is await's wait, apart so that await is inlined.
func awaitSent(done <-chan error) error {
	if err := <-done; err != nil { // answered by a flush, the deadline or the end of c
		return fmt.Errorf("wss: write: %w", err)
	}
	return nil
}

// mask masks o into a copy if c is a client and o a plain frame; the
// caller releases the copy once o is sent (release).
func (w *wire) mask(o *outgoing) {
	if w.client && o.how == plainFrame {
		o.maskCopy()
	}
}

// release gives back the pooled buffer o's payload lives in, if any.
func (o *outgoing) release() {
	if o.scratch != nil {
		putBuf(o.scratch)
	}
}

// maskCopy replaces a client frame's payload with a copy masked with a
// fresh key (RFC 6455 section 5.3).
func (o *outgoing) maskCopy() {
	o.key = newMaskKey()
	if len(o.payload) == 0 { // an empty message, ping, pong or close: nothing to mask
		return
	}
	o.scratch = getBuf(len(o.payload))
	*o.scratch = append(*o.scratch, o.payload...)
	frame.Mask(o.key, *o.scratch)
	o.payload = *o.scratch
}

// transmitLocked runs steps 1 and 2 of the write path under c.wmu; head is
// the handshake response, else nil. It returns the channel to wait on when
// the bytes wait in the loop's queue for a writer that may block.
func (w *wire) transmitLocked(o *outgoing, head []byte) (<-chan error, error) {
	w.wmu.Lock()
	done, err := w.transmitHeld(o, head) // nothing in it panics: no defer on the path of every write
	w.wmu.Unlock()
	return done, err
}

// transmitHeld is transmitLocked with c.wmu held by the caller.
func (w *wire) transmitHeld(o *outgoing, head []byte) (<-chan error, error) {
	if o.how != handshakeResponse {
		if err := w.writable(o.op); err != nil {
			return nil, err
		}
		if w.state.is(flagStreaming) && !o.stream && !o.op.IsControl() {
			return nil, errStreamOpen
		}
	}
	if o.how == plainFrame && w.state.is(flagTurn) && !o.alone && w.joinPlain(o) {
		return nil, nil
	}
	var hdr [frame.MaxHeaderLen]byte
	h := head
	switch o.how {
	case plainFrame:
		h = hdr[:frame.PutHeader(hdr[:], !o.more, 0, o.op, len(o.payload), w.client, o.key)]
	case compressedFrame:
		n, err := w.conn().dfl().compressFrame(o, &hdr, w.client)
		if err != nil {
			return nil, err
		}
		h = hdr[:n]
	}
	if o.alone && w.state.is(flagTurn) {
		return w.sendPastTurn(h, o.payload)
	}
	return w.sendBytes(h, o.payload, o.noWait)
}

// appendTo appends o, a plain frame, header and payload, to b, which has
// room for frame.MaxHeaderLen more bytes than the payload's; client tells
// whether it is masked (its payload is, already: maskCopy).
func (o *outgoing) appendTo(b []byte, client bool) []byte {
	if client || o.more || len(o.payload) >= 126 {
		n := len(b)
		k := frame.PutHeader(b[n:n+frame.MaxHeaderLen], !o.more, 0, o.op, len(o.payload), client, o.key)
		return append(b[:n+k], o.payload...)
	}
	// The commonest header of all, a server's final frame with a 7-bit
	// length: two bytes (RFC 6455 section 5.2).
	return append(append(b, frame.Fin|byte(o.op), byte(len(o.payload))), o.payload...)
}

// writable reports whether a frame with opcode op may be sent now, and
// records a close frame as sent. A pong the reader owes goes out first
// (owedPongFirst), before a close frame ends what may be sent. c.wmu must
// be held.
func (w *wire) writable(op opcode) error {
	if !w.state.open() {
		return ErrClosed
	}
	w.owedPongFirst()
	if op == opClose {
		w.state.set(flagCloseSent)
	}
	return nil
}

// sendOrDrop sends a frame's header and payload, after the bytes head
// that a turn gathered (or nil), on a goroutine-mode connection, and drops
// the connection if that fails: a partial frame cannot be taken back.
// c.wmu must be held.
func (w *wire) sendOrDrop(head, hdr, payload []byte) error {
	err := w.send(head, hdr, payload)
	if err == nil {
		return nil
	}
	w.conn().drop(writeFailure(err))
	return fmt.Errorf("wss: write: %w", err)
}

// writeFailure returns the status OnClose reports for a connection whose
// write failed with err.
func writeFailure(err error) StatusCode {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return StatusWriteTimeout
	}
	return StatusConnLost
}

// goesAtOnce reports whether a frame with this payload, written in a turn
// (the loop's cork, goroutine mode's gather), goes out at once with what
// the turn gathered instead of joining it: a payload above copyMax, or
// above smallWrite when no more input follows in the turn (flagMoreInput),
// goes from the caller's memory, not copied; so does the close frame (the
// socket may be shut down right after it). c.wmu must be held.
func (w *wire) goesAtOnce(payload []byte, copyMax int) bool {
	return len(payload) > copyMax || len(payload) > smallWrite && !w.state.is(flagMoreInput) || w.state.is(flagCloseSent)
}

// smallWrite is the frame size up to which header and payload are copied
// into one buffer; larger frames go out with writev, without a copy. A
// net.Conn without writev (TLS) gets one buffer up to oneBufferMax, a
// record or two, rather than a Write of each part.
const (
	smallWrite   = 8 << 10
	oneBufferMax = 32 << 10
)

// vectored reports whether nc writes several buffers with one system call
// (net.Buffers): a TCP connection does, a TLS one writes a record each.
func vectored(nc net.Conn) bool {
	_, ok := nc.(*net.TCPConn)
	return ok
}

type iovec struct {
	hdr  [frame.MaxHeaderLen]byte // a copy, so that the caller's header stays on its stack
	arr  [3][]byte
	bufs net.Buffers
}

var iovecs = sync.Pool{New: func() any { return new(iovec) }}

// send writes head, hdr and payload (any may be empty) to the net.Conn
// with one syscall, under WriteTimeout. Its bytes count as Buffered until
// the kernel has them.
func (w *wire) send(head, hdr, payload []byte) error {
	nc := w.conn().netConn()
	if err := nc.SetWriteDeadline(time.Now().Add(w.cfg.writeTimeout())); err != nil {
		return err
	}
	total := len(head) + len(hdr) + len(payload)
	w.aside.unsent.Add(int64(len(hdr) + len(payload))) // head counts since it was gathered
	defer w.sent(total)
	if total <= smallWrite || total <= oneBufferMax && !vectored(nc) {
		b := getBuf(total)
		*b = append(append(append(*b, head...), hdr...), payload...)
		_, err := nc.Write(*b)
		putBuf(b)
		return err
	}
	v := iovecs.Get().(*iovec)
	parts := [3][]byte{head, v.hdr[:copy(v.hdr[:], hdr)], payload}
	v.bufs = v.arr[:0]
	for _, p := range parts {
		if len(p) > 0 { // a net.Conn without writev is written once a part
			v.bufs = append(v.bufs, p)
		}
	}
	_, err := v.bufs.WriteTo(nc)
	v.arr = [3][]byte{}
	iovecs.Put(v)
	return err
}
