package wss

import (
	"bytes"
	stdflate "compress/flate"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/klauspost/compress/flate"

	"github.com/wssgo/wss/internal/frame"
)

// DefaultCompressionThreshold is the message size under which messages go
// out uncompressed when CompressionConfig.Threshold is 0: below it the
// deflate framing costs about what it saves, and the CPU is wasted.
const DefaultCompressionThreshold = 128

// CompressionConfig enables permessage-deflate (RFC 7692) in a Config. The
// same fields serve a server (what it accepts and asks for) and a client
// (what it offers). Window sizes are powers of two: 8 means 256 bytes, 15
// (or 0, the default) means 32 KiB.
type CompressionConfig struct {
	// Level is the flate level: 1 (fastest, the default when 0) to 9
	// (smallest output). A window below 15 bits always uses level 5, the
	// only encoder that honours a small window.
	Level int
	// Threshold is the size under which messages are sent uncompressed; 0
	// means DefaultCompressionThreshold, a negative value compresses every
	// message.
	Threshold int
	// ServerNoContextTakeover makes the server compress each message on
	// its own, so it keeps no compressor between messages: its memory goes
	// back to a pool after each message. A server answers with
	// server_no_context_takeover; a client asks for it.
	ServerNoContextTakeover bool
	// ClientNoContextTakeover does the same for the client's messages: the
	// client keeps no compressor and the server keeps no 32 KiB window of
	// past messages to decompress the next one.
	ClientNoContextTakeover bool
	// ServerMaxWindowBits (8-15) limits the window of the server's
	// compressor. A server applies it on its own and tells the client; a
	// client asks for it.
	ServerMaxWindowBits int
	// ClientMaxWindowBits (8-15) limits the window of the client's
	// compressor, which bounds the window the server keeps for it. A server
	// can ask for it only when the client offered client_max_window_bits;
	// a client offers it with this value (without a value when 0).
	ClientMaxWindowBits int
	// IdleRelease is how long a connection with context takeover keeps its
	// compressor (about 800 KiB) after its last compressed message; 0
	// means DefaultIdleRelease, a negative value keeps it for the life of
	// the connection. The next message then starts a fresh context: RFC
	// 7692 lets a sender decline to refer to earlier messages at any time,
	// so the peer sees nothing but a lower ratio for that one message.
	IdleRelease time.Duration
}

// DefaultIdleRelease is the default CompressionConfig.IdleRelease.
const DefaultIdleRelease = 5 * time.Second

func (cc *CompressionConfig) serverBits() int { return clampBits(cc.ServerMaxWindowBits) }
func (cc *CompressionConfig) clientBits() int { return clampBits(cc.ClientMaxWindowBits) }

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
		return DefaultCompressionThreshold
	}
	return cc.Threshold
}

// deflate is the permessage-deflate state of one connection; a Conn
// without compression holds a nil pointer. With context takeover off in a
// direction, that direction holds no flate state between messages.
type deflate struct {
	level     int
	threshold int

	sendBits     int  // window of our compressor
	sendTakeover bool // keep the compressor (and its history) between messages
	recvBits     int  // window the peer compresses with
	recvTakeover bool // keep the last 1<<recvBits inflated bytes for the next message

	fw          *flate.Writer // our compressor while in use; kept only with sendTakeover
	sent        bool          // a message was compressed since the idle timer last fired
	idle        *time.Timer   // releases fw once the connection stops sending
	idleRelease time.Duration // IdleRelease
	out         sliceWriter   // the compressor's output
	window      []byte        // with recvTakeover: the peer's sliding window

	inflating bool // the message being received has RSV1 set
}

// newDeflate builds the state negotiated by resp, for the client side when
// client is set. offeredClientBits is the client_max_window_bits value of
// the offer (0 if none), which also bounds the client's window.
func newDeflate(cc *CompressionConfig, resp deflateParams, client bool, offeredClientBits int) *deflate {
	d := &deflate{level: cc.Level, threshold: cc.threshold(), idleRelease: cc.IdleRelease}
	if d.idleRelease == 0 {
		d.idleRelease = DefaultIdleRelease
	}
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
	return d
}

// compresses reports whether a message of n bytes is sent compressed.
func (d *deflate) compresses(n int) bool { return n >= d.threshold }

// compressFrame replaces o's payload with its compressed form and encodes
// the header of its only frame into hdr: RSV1 set (RFC 7692 section 6).
// c.wmu must be held: with context takeover the order of compression is the
// order on the wire.
func (c *Conn) compressFrame(o *outgoing, hdr *[frame.MaxHeaderLen]byte) (int, error) {
	o.scratch = getBuf(len(o.payload)/2 + 64)
	payload, err := c.dfl().compress(&o.scratch, o.payload)
	if err != nil {
		return 0, err
	}
	c.watchIdleCompressor()
	if c.client {
		o.key = newMaskKey()
		frame.Mask(o.key, payload)
	}
	o.payload = payload
	return frame.PutHeader(hdr[:], true, frame.Rsv1, o.op, len(payload), c.client, o.key), nil
}

// watchIdleCompressor arms the timer that releases a kept compressor once
// the connection has compressed nothing for a whole IdleRelease period.
// The timer is re-armed at most once a period, not once a message, and
// is dropped with the compressor. c.wmu must be held.
func (c *Conn) watchIdleCompressor() {
	d := c.dfl()
	if d.fw == nil || d.idleRelease < 0 {
		return
	}
	d.sent = true
	if d.idle == nil {
		d.idle = time.AfterFunc(d.idleRelease, c.releaseIdleCompressor)
	}
}

func (c *Conn) releaseIdleCompressor() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	d := c.dfl()
	if d.sent && d.fw != nil && !c.state.is(flagClosed) {
		d.sent = false
		d.idle.Reset(d.idleRelease)
		return
	}
	d.idle = nil
	if d.fw != nil {
		putWriter(d.fw, d.level, d.sendBits)
		d.fw = nil
	}
}

// deflateTail ends every sync-flushed deflate stream; RFC 7692 section
// 7.2.1 removes it from the message and section 7.2.2 puts it back.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff}

// compress deflates p into *buf (which it may replace with a larger pooled
// buffer) and returns the message payload: the sync-flushed stream without
// its tail.
func (d *deflate) compress(buf **[]byte, p []byte) ([]byte, error) {
	d.out.b = *buf
	defer func() { *buf, d.out.b = d.out.b, nil }()
	if d.fw == nil {
		d.fw = getWriter(d.level, d.sendBits)
		d.fw.Reset(&d.out)
	}
	_, err := d.fw.Write(p)
	if err == nil {
		err = d.fw.Flush()
	}
	if err != nil || !d.sendTakeover {
		putWriter(d.fw, d.level, d.sendBits)
		d.fw = nil
	}
	if err != nil {
		return nil, err
	}
	out := *d.out.b
	if !bytes.HasSuffix(out, deflateTail) {
		return nil, errors.New("wss: deflate: flush did not end with a sync marker")
	}
	return out[:len(out)-len(deflateTail)], nil
}

// release drops the compressor of a connection that has ended.
func (d *deflate) release() {
	if d.idle != nil {
		d.idle.Stop()
		d.idle = nil
	}
	if d.fw != nil {
		putWriter(d.fw, d.level, d.sendBits)
		d.fw = nil
	}
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
// window size below that.
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
	w.Reset(nil)
	writerPool(level, bits).Put(w)
}

// inflater is a pooled decompressor and the reader it decompresses from.
// It is the standard library's: klauspost/compress keeps Huffman tables
// across Reset, so a corrupt stream could decode against tables left by
// another connection's messages instead of failing; the standard library
// clears them, which makes the outcome of a message depend on it alone.
type inflater struct {
	src bytes.Reader
	fr  io.ReadCloser
}

var inflaters = sync.Pool{New: func() any {
	f := new(inflater)
	f.fr = stdflate.NewReader(&f.src)
	return f
}}

// inflateMessage decompresses a complete compressed message. It never
// produces more than limit+1 bytes: past limit it stops and returns
// StatusMessageTooBig, so a compression bomb costs at most the limit. For
// a text message it validates UTF-8 as the bytes come out. It returns the
// inflated message in a pooled buffer, or the close code to fail with.
func (d *deflate) inflateMessage(compressed []byte, limit int64, text bool, startSize int) (*[]byte, int) {
	in := getBuf(len(compressed) + len(deflateTail))
	*in = append(append(*in, compressed...), deflateTail...)
	defer putBuf(in)
	f := inflaters.Get().(*inflater)
	defer inflaters.Put(f)
	f.src.Reset(*in)
	if err := f.fr.(stdflate.Resetter).Reset(&f.src, d.window); err != nil {
		return nil, StatusInternalError
	}
	out := getBuf(int(min(int64(max(startSize, 2*len(compressed))), limit+1)))
	var u frame.UTF8State
	for {
		if len(*out) == cap(*out) { // grow; never past limit+1, which fails below
			nb := getBuf(int(min(int64(2*cap(*out)), limit+1)))
			*nb = append(*nb, *out...)
			putBuf(out)
			out = nb
		}
		room := (*out)[len(*out):min(int64(cap(*out)), limit+1)]
		n, err := f.fr.Read(room)
		if text && n > 0 {
			var ok bool
			if u, ok = u.Next(room[:n]); !ok {
				putBuf(out)
				return nil, StatusInvalidData
			}
		}
		*out = (*out)[:len(*out)+n]
		if int64(len(*out)) > limit {
			putBuf(out)
			return nil, StatusMessageTooBig
		}
		if err == io.EOF || (errors.Is(err, io.ErrUnexpectedEOF) && f.src.Len() == 0) {
			break // the stream ended (BFINAL) or the input ran out after the tail
		}
		if err != nil {
			putBuf(out)
			return nil, StatusProtocolError // not a valid deflate stream
		}
	}
	if text && u != 0 {
		putBuf(out)
		return nil, StatusInvalidData
	}
	if d.recvTakeover {
		d.slide(*out)
	}
	return out, 0
}

// slide keeps the last 1<<recvBits bytes of the peer's output, the window
// its next message may refer to (RFC 7692 section 7.2.3).
func (d *deflate) slide(p []byte) {
	// At least 512 bytes: zlib cannot compress with a 256-byte raw window
	// and peers built on it use 512 when 8 bits were negotiated.
	size := 1 << max(d.recvBits, 9)
	if d.window == nil {
		d.window = make([]byte, 0, size)
	}
	if len(p) >= size {
		d.window = append(d.window[:0], p[len(p)-size:]...)
		return
	}
	if keep := size - len(p); len(d.window) > keep {
		d.window = d.window[:copy(d.window, d.window[len(d.window)-keep:])]
	}
	d.window = append(d.window, p...)
}

// rsvAllowed reports whether the RSV bits of the frame just started are
// allowed: only RSV1, only on the first frame of a text or binary message,
// and only when permessage-deflate is in effect (RFC 7692 section 6).
// Continuation and control frames never carry it.
func (c *Conn) rsvAllowed() bool {
	h := &c.rd.h
	return c.dfl() != nil && h.Rsv == frame.Rsv1 && (h.Op == opText || h.Op == opBinary)
}

// inflating reports whether the message being received is compressed.
func (c *Conn) inflating() bool {
	dfl := c.dfl()
	return dfl != nil && dfl.inflating
}

// deliverInflated decompresses a complete compressed message and passes
// it to the handler, or fails the connection: 1009 past MaxMessageSize,
// 1007 for invalid UTF-8 in a text message, 1002 for a corrupt stream.
func (c *Conn) deliverInflated(compressed []byte) bool {
	r := &c.rd
	text := r.msgOp == opText
	out, code := c.dfl().inflateMessage(compressed, c.cfg.maxMessageSize(), text, c.cfg.startSize())
	r.msg.release()
	c.dfl().inflating = false
	if code != 0 {
		c.fail(code)
		return !c.ended()
	}
	r.msgOp, r.utf8 = 0, 0
	c.h.OnFrame(c, *out, text)
	putBuf(out)
	return !c.ended()
}
