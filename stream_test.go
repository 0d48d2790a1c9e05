package wss

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// piece is one call of OnFragment.
type piece struct {
	data  []byte
	text  bool
	final bool
}

// pieceRecorder is a FragmentHandler that records its pieces; OnFrame
// must never be called.
type pieceRecorder struct {
	pieces chan piece
	opened chan *Conn
	closed chan int
	frames atomic.Int32
}

func newPieceRecorder() *pieceRecorder {
	return &pieceRecorder{pieces: make(chan piece, 64), opened: make(chan *Conn, 1), closed: make(chan int, 1)}
}

func (r *pieceRecorder) OnOpen(c *Conn)                          { r.opened <- c }
func (r *pieceRecorder) OnFrame(c *Conn, data []byte, text bool) { r.frames.Add(1) }
func (r *pieceRecorder) OnClose(c *Conn, status int)             { r.closed <- status }
func (r *pieceRecorder) OnFragment(c *Conn, data []byte, text, final bool) {
	r.pieces <- piece{bytes.Clone(data), text, final}
}

// message reads pieces until the final one and returns them.
func (r *pieceRecorder) message(t *testing.T) []piece {
	t.Helper()
	var got []piece
	for {
		select {
		case p := <-r.pieces:
			got = append(got, p)
			if p.final {
				return got
			}
		case <-time.After(testTimeout):
			t.Fatalf("no final piece within %v; got %d pieces", testTimeout, len(got))
		}
	}
}

func (r *pieceRecorder) wantClose(t *testing.T, want int) {
	t.Helper()
	select {
	case got := <-r.closed:
		if got != want {
			t.Fatalf("OnClose status %d, want %d", got, want)
		}
	case <-time.After(testTimeout):
		t.Fatalf("no OnClose within %v", testTimeout)
	}
	if n := r.frames.Load(); n != 0 {
		t.Fatalf("OnFrame called %d times on a FragmentHandler", n)
	}
}

// serveHandler serves every connection with h on d and cfg, through
// Dispatcher.Serve in the mode that uses it, else net/http's HTTPHandler;
// it stops when the test ends.
func serveHandler(t *testing.T, d *Dispatcher, cfg *Config, h Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	newHandler := func(*Request) (Handler, error) { return h, nil }
	srv := &http.Server{Handler: HTTPHandler(d, cfg, newHandler)}
	go func() {
		defer close(done)
		if viaServe(t) {
			_ = d.Serve(ln, cfg, newHandler)
			return
		}
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

// TestRFC6455_5_4_WriterFragments checks the frames a Writer sends: one
// per Write, FIN only on the empty frame of Close, the opcode only on the
// first; an empty message is one frame; io.Copy sends 64 KiB frames.
func TestRFC6455_5_4_WriterFragments(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		s := startServer(t, d, nil, nil)
		rc := dialRaw(t, s.addr).connect(sampleKey)
		c, _ := s.next(t)

		w, err := c.Writer(true)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"ab", "", "c\xc3", "\xbc"} { // ü split between two frames
			if _, err := w.Write([]byte(p)); err != nil {
				t.Fatalf("Write(%q): %v", p, err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		rc.expect([]byte("\x01\x02ab" + "\x00\x02c\xc3" + "\x00\x01\xbc" + "\x80\x00"))

		w, _ = c.Writer(false)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		rc.expect([]byte("\x82\x00"))

		big := bytes.Repeat([]byte("0123456789abcdef"), (2*streamBufSize+100)/16)
		w, _ = c.Writer(false)
		src := struct{ io.Reader }{bytes.NewReader(big)} // not a WriterTo: io.Copy calls ReadFrom
		if n, err := io.Copy(w, src); err != nil || n != int64(len(big)) {
			t.Fatalf("io.Copy: %d, %v", n, err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		for i, want := range []struct {
			op   opcode
			fin  bool
			size int
		}{{opBinary, false, streamBufSize}, {opContinuation, false, streamBufSize}, {opContinuation, false, len(big) - 2*streamBufSize}, {opContinuation, true, 0}} {
			f := rc.readFrame()
			if f.op != want.op || f.fin != want.fin || len(f.payload) != want.size {
				t.Fatalf("frame %d: opcode %#x fin %v %d bytes, want %#x %v %d", i, f.op, f.fin, len(f.payload), want.op, want.fin, want.size)
			}
		}
	})
}

// TestWriterControlFramesBetweenFragments checks RFC 6455 section 5.4: a
// ping that arrives while a message is sent in fragments is answered
// between them, and a Write of another message waits for the last
// fragment.
func TestWriterControlFramesBetweenFragments(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		s := startServer(t, d, nil, nil)
		rc := dialRaw(t, s.addr).connect(sampleKey)
		c, _ := s.next(t)

		w, err := c.Writer(false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("one")); err != nil {
			t.Fatal(err)
		}
		wrote := make(chan error, 1)
		go func() { wrote <- c.Write([]byte("next"), true) }()
		rc.expect([]byte("\x02\x03one"))
		rc.send(0x89, []byte("mid")) // ping
		rc.expect([]byte("\x8a\x03mid"))
		select {
		case err := <-wrote:
			t.Fatalf("Write returned (%v) while a fragmented message was open", err)
		default:
		}
		if _, err := w.Write([]byte("two")); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-wrote; err != nil {
			t.Fatal(err)
		}
		rc.expect([]byte("\x00\x03two" + "\x80\x00" + "\x81\x04next"))
	})
}

// TestWriterInvalidUTF8 checks that a Write breaking UTF-8 sends nothing
// and that Close still ends the message where it was valid.
func TestWriterInvalidUTF8(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		s := startServer(t, d, nil, nil)
		rc := dialRaw(t, s.addr).connect(sampleKey)
		c, _ := s.next(t)
		w, _ := c.Writer(true)
		if _, err := w.Write([]byte("ok")); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("\xff")); err != ErrInvalidUTF8 {
			t.Fatalf("Write of 0xff: %v, want ErrInvalidUTF8", err)
		}
		if err := w.Close(); err != ErrInvalidUTF8 {
			t.Fatalf("Close: %v, want ErrInvalidUTF8", err)
		}
		if err := c.Write([]byte("after"), true); err != nil {
			t.Fatal(err)
		}
		rc.expect([]byte("\x01\x02ok" + "\x80\x00" + "\x81\x05after"))
	})
}

// TestFragmentHandlerPieces checks OnFragment: pieces never span frames,
// a character split between frames is valid (RFC 6455 section 8.1 applies
// to the whole message), and OnFrame is never called.
func TestFragmentHandlerPieces(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		rec := newPieceRecorder()
		rc := dialRaw(t, serveHandler(t, d, nil, rec)).connect(sampleKey)
		<-rec.opened
		frames := []struct {
			b0   byte
			data string
		}{{0x01, "h\xc3"}, {0x00, ""}, {0x00, "\xbc"}, {0x80, "x"}}
		var wire []byte
		for _, f := range frames {
			wire = append(wire, clientFrame(f.b0, []byte(f.data))...)
		}
		rc.write(wire)
		got := rec.message(t)
		var all []byte
		ends := map[int]bool{}
		for i, p := range got {
			if !p.text || p.final != (i == len(got)-1) {
				t.Fatalf("piece %d: text %v final %v of %d", i, p.text, p.final, len(got))
			}
			all = append(all, p.data...)
			ends[len(all)] = true
		}
		if string(all) != "h\xc3\xbcx" || !ends[2] || !ends[3] {
			t.Fatalf("pieces %v: want h\\xc3\\xbcx ending at the frames' ends 2 and 3", got)
		}
		rc.send(0x82, nil) // an empty message is one final empty piece
		if got := rec.message(t); len(got) != 1 || got[0].text || len(got[0].data) != 0 {
			t.Fatalf("empty binary message: %v", got)
		}
		rc.send(0x88, closePayload(StatusNormalClosure, ""))
		rc.expect(serverClose(StatusNormalClosure))
		rec.wantClose(t, StatusNormalClosure)
	})
}

// TestFragmentHandlerRules checks that the rules of a whole message apply
// to one received in pieces: UTF-8 across pieces (RFC 6455 section 8.1),
// MaxMessageSize across frames (section 10.4), and that the final piece
// never comes for a message that breaks them.
func TestFragmentHandlerRules(t *testing.T) {
	cases := []struct {
		name   string
		frames [][2]string // first byte, payload
		code   int
		status int
	}{
		{"invalid across pieces", [][2]string{{"\x01", "h\xc3"}, {"\x80", "("}}, StatusInvalidData, StatusInvalidUTF8},
		{"ends inside a character", [][2]string{{"\x01", "h"}, {"\x80", "\xc3"}}, StatusInvalidData, StatusInvalidUTF8},
		{"too big across frames", [][2]string{{"\x02", "123456"}, {"\x80", "123456"}}, StatusMessageTooBig, StatusTooBig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachMode(t, func(t *testing.T, d *Dispatcher) {
				rec := newPieceRecorder()
				rc := dialRaw(t, serveHandler(t, d, &Config{MaxMessageSize: 10}, rec)).connect(sampleKey)
				<-rec.opened
				for _, f := range tc.frames {
					rc.send(f[0][0], []byte(f[1]))
				}
				rc.expectFail(tc.code)
				rec.wantClose(t, tc.status)
				for len(rec.pieces) > 0 {
					if p := <-rec.pieces; p.final {
						t.Fatalf("final piece %q of a message that failed", p.data)
					}
				}
			})
		})
	}
}

// TestFragmentHandlerCompressed checks that a compressed message (RFC
// 7692) comes inflated in pieces of at most 64 KiB, the last one final.
func TestFragmentHandlerCompressed(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		rec := newPieceRecorder()
		cfg := &Config{Compression: &CompressionConfig{}, MaxMessageSize: 1 << 20}
		rc := dialRaw(t, serveHandler(t, d, cfg, rec)).connectExt("permessage-deflate")
		<-rec.opened
		msg := bytes.Repeat([]byte("pieces of text "), 10_000) // 150,000 bytes
		rc.send(0xC1, compressForTest(t, msg))
		got := rec.message(t)
		var all []byte
		for i, p := range got {
			if len(p.data) > pieceSize || !p.text {
				t.Fatalf("piece %d: %d bytes, text %v", i, len(p.data), p.text)
			}
			all = append(all, p.data...)
		}
		if !bytes.Equal(all, msg) || len(got) != 3 {
			t.Fatalf("%d pieces, %d bytes; want 3 pieces of the %d-byte message", len(got), len(all), len(msg))
		}
		rc.send(0x88, closePayload(StatusNormalClosure, ""))
		rc.expect(serverClose(StatusNormalClosure))
		rec.wantClose(t, StatusNormalClosure)
	})
}
