package wss

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/flate"

	"github.com/wssgo/wss/internal/frame"
	"github.com/wssgo/wss/internal/inflate"
)

// defaultCompressionThreshold (128 bytes) is the message size under which
// messages go out uncompressed when CompressionConfig.Threshold is 0: below it the
// deflate framing costs about what it saves, and the CPU is wasted.
const defaultCompressionThreshold = 128

// CompressionConfig enables permessage-deflate (RFC 7692) in a Config. The
// same fields serve a server (what it accepts and asks for) and a client
// (what it offers). Window sizes are powers of two: 8 means 256 bytes, 15
// means 32 KiB.
//
// A connection keeps no compressor or decompressor between messages: both
// come from pools for the time of one message. With context takeover it
// keeps, as plain bytes, the peer's window (1<<client_max_window_bits
// bytes on a server) and the end of what it sent itself (SendContext).
type CompressionConfig struct {
	// Level is the flate level: 1 (fastest, the default when 0) to 9
	// (smallest output). At level 1 messages up to 4 KiB are written by
	// wss's own encoder (lazy matching, the shortest of a stored, fixed or
	// dynamic Huffman block), at any window. Otherwise a window below 15
	// bits uses level 5, the only klauspost encoder that honours a small
	// window.
	Level int
	// Threshold is the size under which messages are sent uncompressed; 0
	// means 128 bytes (below it the deflate framing costs about what it
	// saves), a negative value compresses every message.
	Threshold int
	// ServerNoContextTakeover makes the server compress each message on
	// its own. A server answers with server_no_context_takeover; a client
	// asks for it.
	ServerNoContextTakeover bool
	// ClientNoContextTakeover does the same for the client's messages: the
	// server then keeps no window of the client's past messages.
	ClientNoContextTakeover bool
	// ServerMaxWindowBits (8-15) limits the window of the server's
	// compressor. A server applies it on its own and tells the client; a
	// client asks for it. 0 means 15.
	ServerMaxWindowBits int
	// ClientMaxWindowBits (8-15) limits the window of the client's
	// compressor, which is what the server keeps per connection to inflate
	// the client's messages. A server asks for it only when the client
	// offered client_max_window_bits (browsers do, without a value); 0
	// means 12 (a 4 KiB window per connection), 15 keeps the client's choice. A
	// client offers it with this value (without a value when 0).
	ClientMaxWindowBits int
	// SendContext is how many bytes of its own last compressed messages a
	// connection with context takeover keeps, so that the next message
	// can refer back to them; 0 means 2,688 bytes, a negative value
	// keeps none. It is bounded by the negotiated window and by 8 KiB.
	// Referring back to less than the window is always allowed (RFC 7692
	// section 7.1.1.1): the peer sees only a different ratio.
	SendContext int
	// IdleRelease has no effect: no compressor is kept between messages.
	//
	// Deprecated: connections hold no compressor while idle.
	IdleRelease time.Duration
}

// defaultClientMaxWindowBits (12) is the client_max_window_bits a server asks
// for when the offer allows it: a 4 KiB window per connection. Measured on
// chat-like JSON (docs/compression.md), 12 bits compress within 3% of 14,
// and 11 lose 6%.
const defaultClientMaxWindowBits = 12

// defaultSendContext is the default CompressionConfig.SendContext: the
// most that keeps an idle connection with a 4 KiB peer window within
// 8 KiB, and a Go allocation size class, so that its slice wastes
// nothing. With it the server's ratio on chat-like JSON is above gws's
// (which keeps 4 KiB); 2 KiB is below (docs/compression.md).
const defaultSendContext = 2688

// maxSendContext bounds SendContext: a larger context gains little
// (docs/compression.md) and costs its indexing on every message.
const maxSendContext = 8 << 10

func (cc *CompressionConfig) serverBits() int { return clampBits(cc.ServerMaxWindowBits) }
func (cc *CompressionConfig) clientBits() int { return clampBits(cc.ClientMaxWindowBits) }

// askedClientBits is the client window a server asks for.
func (cc *CompressionConfig) askedClientBits() int {
	if cc.ClientMaxWindowBits == 0 {
		return defaultClientMaxWindowBits
	}
	return cc.clientBits()
}

func (cc *CompressionConfig) sendContext() int {
	switch {
	case cc.SendContext < 0:
		return 0
	case cc.SendContext == 0:
		return defaultSendContext
	}
	return min(cc.SendContext, maxSendContext)
}

func clampBits(b int) int {
	if b <= 0 || b > 15 {
		return 15
	}
	return max(b, 8)
}

func (cc *CompressionConfig) threshold() int {
	switch {
	case cc.Threshold < 0:
		return 0
	case cc.Threshold == 0:
		return defaultCompressionThreshold
	}
	return cc.Threshold
}

// deflate is the permessage-deflate state of one connection; a Conn
// without compression holds a nil pointer. Between messages it holds only
// plain bytes: with context takeover, what the next message of each
// direction may refer back to.
type deflate struct {
	level     int
	threshold int

	sendBits     int  // window of our compressor
	sendTakeover bool // refer back to our earlier messages
	recvBits     int  // window the peer compresses with
	recvTakeover bool // keep the last 1<<recvBits inflated bytes for the next message

	sendContext int         // bytes of our past output kept with sendTakeover
	sent        []byte      // with sendTakeover: the end of what we compressed, our dictionary
	id, gen     uint64      // this connection's number, and how many messages it compressed into sent
	out         sliceWriter // the compressor's output
	window      []byte      // with recvTakeover: the peer's sliding window

	inflating bool // the message being received has RSV1 set
}

// newDeflate builds the state negotiated by resp, for the client side when
// client is set. offeredClientBits is the client_max_window_bits value of
// the offer (0 if none), which also bounds the client's window.
func newDeflate(cc *CompressionConfig, resp deflateParams, client bool, offeredClientBits int) *deflate {
	d := &deflate{level: cc.Level, threshold: cc.threshold(), id: deflateIDs.Add(1)}
	if d.level < 1 || d.level > 9 {
		d.level = 1
	}
	clientBits := min(orMax(resp.clientBits), orMax(offeredClientBits))
	serverBits := orMax(resp.serverBits)
	if client {
		d.sendBits, d.sendTakeover = clientBits, !resp.clientNoTakeover
		d.recvBits, d.recvTakeover = serverBits, !resp.serverNoTakeover
	} else {
		d.sendBits, d.sendTakeover = serverBits, !resp.serverNoTakeover
		d.recvBits, d.recvTakeover = clientBits, !resp.clientNoTakeover
	}
	if d.sendTakeover {
		d.sendContext = min(cc.sendContext(), 1<<d.sendBits)
	}
	return d
}

// deflateIDs numbers the deflate states, so that a pooled smallScratch
// knows whose context it indexed.
var deflateIDs atomic.Uint64

// compresses reports whether a message of n bytes is sent compressed.
func (d *deflate) compresses(n int) bool { return n >= d.threshold }

// compressFrame replaces o's payload with its compressed form and encodes
// the header of its only frame into hdr: RSV1 set (RFC 7692 section 6),
// masked when client. The connection's write lock must be held: with
// context takeover the order of compression is the order on the wire.
func (d *deflate) compressFrame(o *outgoing, hdr *[frame.MaxHeaderLen]byte, client bool) (int, error) {
	o.scratch = getBuf(len(o.payload)/2 + 64)
	payload, err := d.compress(&o.scratch, o.payload)
	if err != nil {
		return 0, err
	}
	if client {
		o.key = newMaskKey()
		frame.Mask(o.key, payload)
	}
	o.payload = payload
	return frame.PutHeader(hdr[:], true, frame.Rsv1, o.op, len(payload), client, o.key), nil
}

// deflateTail ends every sync-flushed deflate stream; RFC 7692 section
// 7.2.1 removes it from the message and section 7.2.2 puts it back.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff}

// compress deflates p into *buf (which it may replace with a larger pooled
// buffer) and returns the message payload: the sync-flushed stream without
// its tail. The message may refer back to d.sent, the end of our earlier
// messages, which the peer's window holds with context takeover; then p's
// end becomes d.sent.
func (d *deflate) compress(buf **[]byte, p []byte) ([]byte, error) {
	d.out.b = *buf
	defer func() { *buf, d.out.b = d.out.b, nil }()
	if err := d.deflateInto(&d.out, p); err != nil {
		return nil, fmt.Errorf("wss: deflate: %w", err)
	}
	out := *d.out.b
	if !bytes.HasSuffix(out, deflateTail) {
		return nil, errors.New("wss: deflate: flush did not end with a sync marker")
	}
	if d.sendContext > 0 {
		d.sent = keepLast(d.sent, p, d.sendContext)
	}
	d.gen++
	return out[:len(out)-len(deflateTail)], nil
}

// deflateInto writes p to w as a sync-flushed deflate stream that refers
// back to d.sent, never further back than 1<<sendBits. At level 1 a
// message of up to smallDeflateMax is compressed by smallDeflate, which
// indexes the context at a fraction of the cost of klauspost's encoders
// and searches it more thoroughly; otherwise a pooled
// compressor primed with d.sent (NewWriterWindow below 15 bits, which
// bounds every distance). Neither allocates.
//
// A scratch that compressed this connection's previous message (the
// pool gives back, on the same P, the one put last: a connection's
// messages in a row) still holds the index of d.sent, which then is not
// built again. Either way the output is the same; nothing is kept per
// connection.
func (d *deflate) deflateInto(w io.Writer, p []byte) error {
	if d.level == 1 && len(p) <= smallDeflateMax {
		s := smallScratches.Get().(*smallScratch)
		defer smallScratches.Put(s)
		kept := s.owner == d.id && s.gen == d.gen
		out := smallDeflate(s, d.sent, p, 1<<d.sendBits, kept)
		s.owner, s.gen = d.id, d.gen+1 // what compress makes of d once p is out
		_, err := w.Write(out)
		return err
	}
	fw := getWriter(d.level, d.sendBits)
	defer putWriter(fw, d.level, d.sendBits)
	fw.ResetDict(w, d.sent)
	if _, err := fw.Write(p); err != nil {
		return err
	}
	return fw.Flush()
}

// keepLast returns the last n bytes of kept followed by p, reusing kept's
// storage. Its capacity grows with what it holds, never past n.
func keepLast(kept, p []byte, n int) []byte {
	if len(p) >= n {
		p = p[len(p)-n:]
		kept = kept[:0]
	} else if drop := len(kept) + len(p) - n; drop > 0 {
		kept = kept[:copy(kept, kept[drop:])]
	}
	if len(kept)+len(p) > cap(kept) {
		grown := make([]byte, len(kept), min(n, max(2*cap(kept), len(kept)+len(p))))
		copy(grown, kept)
		kept = grown
	}
	return append(kept, p...)
}

// release drops what a connection that has ended keeps.
func (d *deflate) release() {
	d.sent = nil
	d.window = nil
}

// sliceWriter appends to a pooled buffer, moving to a larger one as needed.
type sliceWriter struct{ b *[]byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	if n := len(*w.b) + len(p); n > cap(*w.b) {
		nb := getBuf(max(n, 2*cap(*w.b)))
		*nb = append(*nb, *w.b...)
		putBuf(w.b)
		w.b = nb
	}
	*w.b = append(*w.b, p...)
	return len(p), nil
}

// Compressors are pooled by level with the full window (15 bits), and by
// window size below that. One is taken for a message and put back after it.
var (
	levelPools  [flate.BestCompression + 1]sync.Pool
	windowPools [15]sync.Pool
)

func writerPool(level, bits int) *sync.Pool {
	if bits < 15 {
		return &windowPools[bits]
	}
	return &levelPools[level]
}

func getWriter(level, bits int) *flate.Writer {
	if w, ok := writerPool(level, bits).Get().(*flate.Writer); ok {
		return w
	}
	var w *flate.Writer
	if bits < 15 {
		w, _ = flate.NewWriterWindow(nil, 1<<bits)
	} else {
		w, _ = flate.NewWriter(nil, level)
	}
	return w
}

func putWriter(w *flate.Writer, level, bits int) {
	w.ResetDict(nil, nil)
	writerPool(level, bits).Put(w)
}

// inflater is the pooled working memory of one message's inflation: the
// decoder's tables and the pooled buffer its output grows in.
type inflater struct {
	dec  inflate.Decoder
	buf  *[]byte
	grow inflate.GrowFunc // buf's growth, bound once so that a message allocates nothing
}

func (f *inflater) growBuf(out []byte, n int) []byte {
	nb := getBuf(n)
	*nb = append(*nb, out...)
	putBuf(f.buf)
	f.buf = nb
	return *nb
}

var inflaters = sync.Pool{New: func() any {
	f := new(inflater)
	f.grow = f.growBuf
	return f
}}

// inflateMessage decompresses a complete compressed message. Back-
// references into earlier messages read d.window where it is: the only
// copy of the window is its slide once the message is out. It never
// produces more than limit bytes: past limit it stops and returns
// StatusMessageTooBig, so a compression bomb costs at most the limit. For
// a text message it validates UTF-8. It returns the inflated message in a
// pooled buffer, or the close code to fail with.
func (d *deflate) inflateMessage(compressed []byte, limit int64, text bool, startSize int) (*[]byte, StatusCode) {
	lim := int(min(limit, int64(math.MaxInt)))
	if len(compressed) == 0 {
		// Not a deflate stream even with the tail; accepted as an empty
		// message, as compress/flate (which inflated before) did.
		return getBuf(0), 0
	}
	f := inflaters.Get().(*inflater)
	defer inflaters.Put(f)
	f.buf = getBuf(min(max(startSize, 4*len(compressed)), lim))
	out, err := f.dec.Inflate((*f.buf)[:0], d.window, compressed, deflateTail, lim, f.grow)
	buf := f.buf
	f.buf = nil
	*buf = (*buf)[:len(out)]
	var code StatusCode
	if text {
		// What came out before a failure is checked first: a text message
		// that goes wrong as text fails as text, as it would frame by frame.
		if u, ok := (frame.UTF8State(0)).Next(out); !ok || (err == nil && u != 0) {
			code = StatusInvalidData
		}
	}
	switch {
	case code != 0:
	case errors.Is(err, inflate.ErrTooLarge):
		code = StatusMessageTooBig
	case err != nil:
		code = StatusProtocolError // not a valid deflate stream
	}
	if code != 0 {
		putBuf(buf)
		return nil, code
	}
	if d.recvTakeover {
		d.slide(out)
	}
	return buf, 0
}

// slide keeps the last 1<<recvBits bytes of the peer's output, the window
// its next message may refer to (RFC 7692 section 7.2.3), growing only as
// the peer sends.
func (d *deflate) slide(p []byte) {
	// At least 512 bytes: zlib cannot compress with a 256-byte raw window
	// and peers built on it use 512 when 8 bits were negotiated.
	d.window = keepLast(d.window, p, 1<<max(d.recvBits, 9))
}

// allowsRsv reports whether the RSV bits of h, a frame just started, are
// allowed: only RSV1, only on the first frame of a text or binary message,
// and only when permessage-deflate is in effect (d is not nil; RFC 7692
// section 6). Continuation and control frames never carry it.
func (d *deflate) allowsRsv(h *frame.Header) bool {
	return d != nil && h.Rsv == frame.Rsv1 && (h.Op == opText || h.Op == opBinary)
}

// compressedMessage reports whether the message being received is
// compressed; d may be nil (no compression).
func (d *deflate) compressedMessage() bool { return d != nil && d.inflating }

// deliverInflated decompresses a complete compressed message and passes
// it to the handler, or fails the connection: 1009 past MaxMessageSize,
// 1007 for invalid UTF-8 in a text message, 1002 for a corrupt stream.
func (c *Conn) deliverInflated(compressed []byte) bool {
	r := &c.rd
	typ := MessageType(r.msgOp)
	out, code := c.dfl().inflateMessage(compressed, c.cfg.maxMessageSize(), typ == Text, c.cfg.startSize())
	r.msg.release()
	c.dfl().inflating = false
	if code != 0 {
		c.fail(code)
		return !c.state.ended()
	}
	r.msgOp, r.utf8 = 0, 0
	c.d.obs.received(len(*out))
	c.h.OnFrame(c, *out, typ)
	putBuf(out)
	return !c.state.ended()
}
