package wss

import (
	stdflate "compress/flate"
	"errors"
	"io"
	"sync"

	"github.com/wssgo/wss/internal/frame"
)

// Receiving a message in pieces: when a connection's Handler is a
// FragmentHandler, the receiver (reader.pieces) hands each chunk of an
// uncompressed message's payload to OnFragment as it is read, and keeps
// nothing of it. The frame rules, UTF-8 validation across chunks and
// MaxMessageSize are the receiver's as for any message; only the assembly
// is left out. A compressed message is gathered compressed (bounded by
// MaxMessageSize) and inflated into pieces of at most pieceSize bytes, so
// that its inflated form is never held either.

// pieceSize bounds the inflated pieces of a compressed message.
const pieceSize = 64 << 10

// takePiece takes a chunk of a message received in pieces: it validates
// text across chunks and reports whether the chunk ends the message
// (final), or the close code to fail with.
func (r *reader) takePiece(chunk []byte) (text, final bool, code StatusCode) {
	text = r.msgOp == opText
	if text {
		var ok bool
		if r.utf8, ok = r.utf8.Next(chunk); !ok {
			return text, false, StatusInvalidData
		}
	}
	if r.h.Length > 0 {
		return text, false, 0
	}
	r.inFrame = false
	if !r.h.Fin {
		return text, false, 0
	}
	if _, ok := r.endMessage(); !ok {
		return text, false, StatusInvalidData // the message ended inside a character
	}
	pieceCounts.drop(r)
	r.pieces = false
	return text, true, 0
}

// pieceCounts holds, for each message being received in pieces, the
// payload bytes its frames announced so far, which MaxMessageSize bounds.
// A reader has no field for it: a Conn stays 128 bytes.
var pieceCounts pieceTable

type pieceTable struct{ m sync.Map } // *reader → *uint64

func (t *pieceTable) get(r *reader) uint64 {
	if n, ok := t.m.Load(r); ok {
		return *n.(*uint64)
	}
	return 0
}

func (t *pieceTable) add(r *reader, n uint64) {
	if p, ok := t.m.Load(r); ok {
		*p.(*uint64) += n
		return
	}
	t.m.Store(r, &n)
}

func (t *pieceTable) drop(r *reader) { t.m.Delete(r) }

// inflatePieces inflates a complete compressed message into pieces for
// fh, or fails the connection as deliverInflated does.
func inflatePieces(c *Conn, fh FragmentHandler, compressed []byte) bool {
	r := &c.rd
	d := c.dfl()
	text := r.msgOp == opText
	typ := MessageType(r.msgOp)
	size := 0 // the inflated bytes, for Observer.Received
	code := d.inflateInPieces(compressed, c.cfg.maxMessageSize(), text, func(p []byte, final bool) {
		size += len(p)
		c.d.obs.receivedPieces(size, final)
		fh.OnFragment(c, p, typ, final)
	})
	r.msg.release()
	d.inflating = false
	if code != 0 {
		c.fail(code)
		return !c.state.ended()
	}
	r.msgOp, r.utf8 = 0, 0
	return !c.state.ended()
}

// inflateInPieces is inflateMessage giving the inflated bytes to emit in
// pieces of at most pieceSize, the last one final, instead of returning
// them whole. It returns the close code to fail with, or 0; a message that
// fails has had its earlier pieces emitted, never its final one.
func (d *deflate) inflateInPieces(compressed []byte, limit int64, text bool, emit func(p []byte, final bool)) StatusCode {
	f := pieceInflaters.Get().(*pieceInflater)
	defer pieceInflaters.Put(f)
	f.src.reset(compressed)
	if err := f.fr.(stdflate.Resetter).Reset(&f.src, d.window); err != nil {
		return StatusInternalError
	}
	b := getBuf(pieceSize)
	defer putBuf(b)
	buf := (*b)[:pieceSize]
	var u frame.UTF8State
	var total int64
	for {
		n, err := fill(f.fr, buf)
		total += int64(n)
		// The stream ends at BFINAL, or where the input runs out after the tail.
		ended := err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) && f.src.len() == 0
		switch {
		case total > limit:
			return StatusMessageTooBig
		case err != nil && !ended:
			return StatusProtocolError // not a valid deflate stream
		}
		p := buf[:n]
		if text {
			var ok bool
			if u, ok = u.Next(p); !ok || ended && u != 0 {
				return StatusInvalidData
			}
		}
		if d.recvTakeover {
			d.slide(p)
		}
		emit(p, ended)
		if ended {
			return 0
		}
	}
}

// fill reads from r until buf is full or r fails; it returns what it read
// and the error, if any.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		k, err := r.Read(buf[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// pieceInflater is a decompressor that gives its output as it is read, for
// messages taken in pieces; whole messages inflate in place instead
// (internal/inflate).
type pieceInflater struct {
	src tailedReader
	fr  io.ReadCloser
}

var pieceInflaters = sync.Pool{New: func() any {
	f := new(pieceInflater)
	f.fr = stdflate.NewReader(&f.src)
	return f
}}

// tailedReader reads a message's compressed bytes and then deflateTail
// without copying them together. It is an io.ByteReader, so the
// decompressor reads from it directly rather than through a bufio.Reader.
type tailedReader struct {
	p    []byte
	tail int // bytes of deflateTail read
}

func (r *tailedReader) reset(p []byte) { r.p, r.tail = p, 0 }

func (r *tailedReader) len() int { return len(r.p) + len(deflateTail) - r.tail }

func (r *tailedReader) Read(b []byte) (int, error) {
	if len(r.p) > 0 {
		n := copy(b, r.p)
		r.p = r.p[n:]
		return n, nil
	}
	if r.tail == len(deflateTail) {
		return 0, io.EOF
	}
	n := copy(b, deflateTail[r.tail:])
	r.tail += n
	return n, nil
}

func (r *tailedReader) ReadByte() (byte, error) {
	if len(r.p) > 0 {
		c := r.p[0]
		r.p = r.p[1:]
		return c, nil
	}
	if r.tail == len(deflateTail) {
		return 0, io.EOF
	}
	r.tail++
	return deflateTail[r.tail-1], nil
}
