package wss

// Test helpers shared by the test files: dispatcher modes, a server on
// 127.0.0.1:0 that records what each connection receives, a raw TCP client
// that writes exact bytes and reads the server's frames, masking and frame
// building, and a goroutine leak check.

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wssgo/wss/internal/frame"
)

// testTimeout bounds every wait in the tests, so that a bug shows up as a
// failure rather than a hung test.
const testTimeout = 10 * time.Second

// testModes are the dispatcher modes every conformance test runs under:
// a goroutine per connection, event loops calling handlers, event loops
// handing input to goroutines (OffLoop), and event loops that also answer
// the handshakes (Dispatcher.Serve) instead of net/http.
var testModes = []testMode{
	{"goroutine", DispatcherConfig{Mode: ModeGoroutine}},
	{"eventloop", DispatcherConfig{Mode: ModeEventLoop, Loops: 2}},
	{"eventloop-offloop", DispatcherConfig{Mode: ModeEventLoop, Loops: 2, OffLoop: true}},
	{serveModeName, DispatcherConfig{Mode: ModeEventLoop, Loops: 2}},
}

type testMode struct {
	name string
	cfg  DispatcherConfig
}

// serveModeName names the mode whose test servers use Dispatcher.Serve.
const serveModeName = "eventloop-serve"

// viaServe reports whether t runs in the mode whose test servers use
// Dispatcher.Serve: the mode is a subtest named after it.
func viaServe(t testing.TB) bool {
	return strings.Contains(t.Name()+"/", "/"+serveModeName+"/")
}

// dispatcherModes are the modes this system has.
func dispatcherModes() []testMode {
	if eventLoopSupported {
		return testModes
	}
	return testModes[:1]
}

// forEachMode runs f once per dispatcher mode, each as a subtest with a
// dispatcher of its own, skipping a mode NewDispatcher refuses on this
// machine. Each subtest checks that no goroutine outlives it.
func forEachMode(t *testing.T, f func(t *testing.T, d *Dispatcher)) {
	t.Helper()
	for _, m := range testModes {
		t.Run(m.name, func(t *testing.T) {
			checkGoroutines(t)
			d, err := NewDispatcher(&m.cfg)
			if err != nil {
				t.Skipf("dispatcher mode %s not available here: %v", m.name, err)
			}
			closeDispatcher(t, d)
			f(t, d)
		})
	}
}

// closeDispatcher registers the dispatcher's shutdown, if it has one, to run
// after the test's servers and clients are gone.
func closeDispatcher(t *testing.T, d any) {
	switch d := d.(type) {
	case interface{ Close() error }:
		t.Cleanup(func() {
			// ErrShutdown: the test shut the dispatcher down itself.
			if err := d.Close(); err != nil && !errors.Is(err, ErrShutdown) {
				t.Errorf("dispatcher close: %v", err)
			}
		})
	case interface{ Close() }:
		t.Cleanup(d.Close)
	}
}

// checkGoroutines fails the test if goroutines started during it are still
// running when it ends (after its other cleanups), waiting a bounded time
// for them to return. Tests using it must not run in parallel.
func checkGoroutines(t *testing.T) {
	t.Helper()
	base := goroutines()
	t.Cleanup(func() {
		deadline := time.Now().Add(testTimeout)
		for {
			var left []string
			for id, stack := range goroutines() {
				if _, ok := base[id]; !ok {
					left = append(left, stack)
				}
			}
			if len(left) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%d goroutine(s) still running after the test:\n%s", len(left), strings.Join(left, "\n\n"))
				return
			}
			time.Sleep(5 * time.Millisecond) // polling a bounded wait, not synchronisation
		}
	})
}

var goroutineHeader = regexp.MustCompile(`^goroutine (\d+) `)

// goroutines returns the stacks of all goroutines by id.
func goroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	m := make(map[string]string)
	for _, g := range strings.Split(string(buf), "\n\n") {
		if id := goroutineHeader.FindStringSubmatch(g); id != nil {
			m[id[1]] = g
		}
	}
	return m
}

// recorder is the Handler of a test connection: it records messages,
// pings and the close status, and by default echoes every message.
type recorder struct {
	onFrame func(c *Conn, data []byte, text bool) // nil: echo

	msgs   chan message
	pings  chan []byte
	closed chan struct{} // closed at the first OnClose
	status atomic.Int32
	ncalls atomic.Int32 // OnClose calls
}

type message struct {
	data []byte
	text bool
}

func newRecorder(onFrame func(c *Conn, data []byte, text bool)) *recorder {
	return &recorder{
		onFrame: onFrame,
		msgs:    make(chan message, 4096),
		pings:   make(chan []byte, 64),
		closed:  make(chan struct{}),
	}
}

func (r *recorder) OnFrame(c *Conn, data []byte, text bool) {
	select {
	case r.msgs <- message{bytes.Clone(data), text}:
	default:
	}
	if r.onFrame != nil {
		r.onFrame(c, data, text)
		return
	}
	_ = c.Write(data, text)
}

func (r *recorder) OnPing(c *Conn, data []byte) {
	r.pings <- bytes.Clone(data)
}

func (r *recorder) OnClose(c *Conn, status int) {
	if r.ncalls.Add(1) == 1 {
		r.status.Store(int32(status))
		close(r.closed)
	}
}

// waitClose waits for OnClose and returns its status.
func (r *recorder) waitClose(t *testing.T) int {
	t.Helper()
	select {
	case <-r.closed:
		return int(r.status.Load())
	case <-time.After(testTimeout):
		t.Fatalf("OnClose not called within %v", testTimeout)
		return 0
	}
}

// wantClose waits for OnClose and checks its status.
func (r *recorder) wantClose(t *testing.T, want int) {
	t.Helper()
	if got := r.waitClose(t); got != want {
		t.Errorf("OnClose status = %d, want %d", got, want)
	}
}

// nextMessage returns the next message the handler received.
func (r *recorder) nextMessage(t *testing.T) message {
	t.Helper()
	select {
	case m := <-r.msgs:
		return m
	case <-time.After(testTimeout):
		t.Fatalf("no message received within %v", testTimeout)
		return message{}
	}
}

// testServer serves WebSocket upgrades on 127.0.0.1 with a recorder per
// connection.
type testServer struct {
	addr     string
	d        *Dispatcher
	cfg      *Config
	onFrame  func(c *Conn, data []byte, text bool)
	accepted chan accepted
	rejected chan error // Upgrade errors
	viaServe bool       // served by Dispatcher.Serve, not net/http

	mu   sync.Mutex
	recs []*recorder
}

type accepted struct {
	conn *Conn
	rec  *recorder
}

// startServer starts a server whose connections run on d with cfg and
// call onFrame (nil: echo). When the test ends it checks that every
// connection's OnClose was called exactly once, then stops the server.
func startServer(t *testing.T, d *Dispatcher, cfg *Config, onFrame func(c *Conn, data []byte, text bool)) *testServer {
	t.Helper()
	s := &testServer{
		d: d, cfg: cfg, onFrame: onFrame,
		accepted: make(chan accepted, 64),
		rejected: make(chan error, 64),
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	srv := &http.Server{Handler: s, ErrorLog: nil}
	serve := func() { _ = srv.Serve(l) }
	stop := func() { _ = srv.Close() }
	if s.viaServe = viaServe(t); s.viaServe {
		serve = func() { _ = d.Serve(l, cfg, s.newHandler) }
		stop = func() { _ = l.Close() }
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		serve()
	}()
	t.Cleanup(func() {
		s.mu.Lock()
		recs := s.recs
		s.mu.Unlock()
		for _, r := range recs {
			select {
			case <-r.closed:
			case <-time.After(testTimeout):
				t.Errorf("a connection's OnClose was not called within %v", testTimeout)
			}
			if n := r.ncalls.Load(); n > 1 {
				t.Errorf("OnClose called %d times, want once", n)
			}
		}
		stop()
		<-served
	})
	return s
}

// newHandler is the server's newHandler under Dispatcher.Serve.
func (s *testServer) newHandler(*Request) Handler {
	return &openRecorder{newRecorder(s.onFrame), s}
}

// openRecorder reports its connection as accepted once connected.
type openRecorder struct {
	*recorder
	s *testServer
}

func (r *openRecorder) OnOpen(c *Conn) {
	r.s.mu.Lock()
	r.s.recs = append(r.s.recs, r.recorder)
	r.s.mu.Unlock()
	r.s.accepted <- accepted{c, r.recorder}
}

func (s *testServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := newRecorder(s.onFrame)
	c := New(rec, s.d, s.cfg)
	if err := c.Upgrade(w, r); err != nil {
		s.rejected <- err
		return
	}
	s.mu.Lock()
	s.recs = append(s.recs, rec)
	s.mu.Unlock()
	s.accepted <- accepted{c, rec}
}

// next returns the next connection the server accepted.
func (s *testServer) next(t *testing.T) (*Conn, *recorder) {
	t.Helper()
	select {
	case a := <-s.accepted:
		return a.conn, a.rec
	case <-time.After(testTimeout):
		t.Fatalf("no connection accepted within %v", testTimeout)
		return nil, nil
	}
}

// RFC 6455 section 1.3's sample key and the accept value it yields.
const (
	sampleKey    = "dGhlIHNhbXBsZSBub25jZQ=="
	sampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

// acceptResponse is the exact 101 response to a request with sampleKey and
// no subprotocol.
const acceptResponse = "HTTP/1.1 101 Switching Protocols\r\n" +
	"Upgrade: websocket\r\n" +
	"Connection: Upgrade\r\n" +
	"Sec-WebSocket-Accept: " + sampleAccept + "\r\n" +
	"\r\n"

// request is an opening handshake request, built line by line so that
// tests can change any part of it.
type request struct {
	line    string
	headers [][2]string
}

// validRequest returns a valid opening handshake for host.
func validRequest(host string) *request {
	return &request{
		line: "GET /chat HTTP/1.1",
		headers: [][2]string{
			{"Host", host},
			{"Upgrade", "websocket"},
			{"Connection", "Upgrade"},
			{"Sec-WebSocket-Key", sampleKey},
			{"Sec-WebSocket-Version", "13"},
		},
	}
}

// set replaces the header field name (all its lines), or adds it.
func (q *request) set(name, value string) *request {
	q.del(name)
	q.headers = append(q.headers, [2]string{name, value})
	return q
}

// add adds a header line.
func (q *request) add(name, value string) *request {
	q.headers = append(q.headers, [2]string{name, value})
	return q
}

// del removes every line of the header field name.
func (q *request) del(name string) *request {
	kept := q.headers[:0]
	for _, h := range q.headers {
		if !strings.EqualFold(h[0], name) {
			kept = append(kept, h)
		}
	}
	q.headers = kept
	return q
}

func (q *request) bytes() []byte {
	var b strings.Builder
	b.WriteString(q.line + "\r\n")
	for _, h := range q.headers {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// rawClient is a client over a real socket (TCP, or TLS over it) that
// writes exact bytes and reads the server's frames, checking that they
// follow the RFC (unmasked, minimal lengths, no RSV bits but those a
// negotiated extension allows). Every wait is bounded by testTimeout. Its
// methods fail the test, except handshake, nextFrame and answerClose, which
// return errors so that goroutines other than the test's may use them.
type rawClient struct {
	t   testing.TB
	nc  net.Conn
	br  *bufio.Reader
	ext string // the Sec-WebSocket-Extensions the server answered
}

// newRawClient wraps nc, which is closed when the test ends.
func newRawClient(t testing.TB, nc net.Conn) *rawClient {
	t.Cleanup(func() { nc.Close() })
	return &rawClient{t: t, nc: nc, br: bufio.NewReader(nc)}
}

// dialRaw opens a TCP connection to addr, closed when the test ends.
func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return newRawClient(t, nc)
}

// connectRaw dials addr and completes a valid opening handshake with the
// sample key, checking the 101 response byte for byte.
func connectRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	return dialRaw(t, addr).connect(addr, sampleKey)
}

// connectPeer is connectRaw with a random key, as distinct peers send.
func connectPeer(t testing.TB, addr string) *rawClient {
	t.Helper()
	return dialRaw(t, addr).connect(addr, randomKey())
}

// connectExt dials addr and completes a handshake with the sample key
// offering the extensions offer (none if empty), and records the server's
// answer in ext.
func connectExt(t *testing.T, addr, offer string) *rawClient {
	t.Helper()
	c := dialRaw(t, addr)
	q := validRequest(addr)
	if offer != "" {
		q.add("Sec-WebSocket-Extensions", offer)
	}
	c.write(q.bytes())
	resp := readResponse(t, c)
	if accept := resp.Header.Get("Sec-WebSocket-Accept"); resp.StatusCode != http.StatusSwitchingProtocols || accept != sampleAccept {
		t.Fatalf("handshake answered %s with Sec-WebSocket-Accept %q", resp.Status, accept)
	}
	c.ext = resp.Header.Get("Sec-WebSocket-Extensions")
	return c
}

// connect is handshake, failing the test on an error.
func (c *rawClient) connect(host, key string) *rawClient {
	c.t.Helper()
	if err := c.handshake(host, key); err != nil {
		c.t.Fatal(err)
	}
	return c
}

func randomKey() string {
	var key [16]byte
	rand.Read(key[:])
	return base64.StdEncoding.EncodeToString(key[:])
}

// handshake sends validRequest(host) with key in place of the sample key,
// and checks the response is acceptResponse with key's accept value
// (RFC 6455 section 4.2.2), byte for byte.
func (c *rawClient) handshake(host, key string) error {
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	want := strings.Replace(acceptResponse, sampleAccept, base64.StdEncoding.EncodeToString(sum[:]), 1)
	if err := c.nc.SetDeadline(time.Now().Add(testTimeout)); err != nil {
		return err
	}
	if _, err := io.WriteString(c.nc, strings.Replace(string(validRequest(host).bytes()), sampleKey, key, 1)); err != nil {
		return fmt.Errorf("sending the handshake: %w", err)
	}
	got := make([]byte, len(want))
	if n, err := io.ReadFull(c.br, got); err != nil {
		return fmt.Errorf("reading the 101 response: got %q: %w", got[:n], err)
	}
	if string(got) != want {
		return fmt.Errorf("handshake answered\n%q\nwant\n%q", got, want)
	}
	return nil
}

func (c *rawClient) deadline() {
	if err := c.nc.SetDeadline(time.Now().Add(testTimeout)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawClient) write(b []byte) {
	c.t.Helper()
	c.deadline()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("client write: %v", err)
	}
}

// send writes a masked frame with first byte b0 (FIN, RSV and opcode bits).
func (c *rawClient) send(b0 byte, payload []byte) {
	c.t.Helper()
	c.write(clientFrame(b0, payload))
}

// expect reads len(want) bytes and checks they are want.
func (c *rawClient) expect(want []byte) {
	c.t.Helper()
	c.deadline()
	got := make([]byte, len(want))
	n, err := io.ReadFull(c.br, got)
	if err != nil {
		c.t.Fatalf("reading %d bytes: got %d (%q): %v; want %q", len(want), n, trim(got[:n]), err, trim(want))
	}
	if !bytes.Equal(got, want) {
		i := 0 // where a long frame starts to differ
		if len(want) > 256 {
			for got[i] == want[i] {
				i++
			}
		}
		c.t.Fatalf("got bytes (from byte %d)\n%q\nwant\n%q", i, trim(got[i:]), trim(want[i:]))
	}
}

// trim shortens b to what a failure message shows.
func trim(b []byte) []byte { return b[:min(len(b), 256)] }

// expectEOF checks that the server closed (or half-closed) the connection,
// with nothing more sent.
func (c *rawClient) expectEOF() {
	c.t.Helper()
	c.deadline()
	b, err := c.br.ReadByte()
	switch {
	case err == nil:
		rest, _ := c.br.Peek(c.br.Buffered())
		c.t.Fatalf("got byte %#x (then %q), want the server to close", b, rest)
	case !errors.Is(err, io.EOF) && !isReset(err):
		c.t.Fatalf("want EOF, got %v", err)
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "connection reset")
}

// expectFail checks the server failed the connection with code: a close
// frame with exactly that code, then EOF. Then it closes its side, which
// lets the server finish.
func (c *rawClient) expectFail(code int) {
	c.t.Helper()
	c.expect(serverClose(code))
	c.expectEOF()
	c.nc.Close()
}

// wireFrame is a frame read from the server.
type wireFrame struct {
	fin     bool
	op      opcode
	payload []byte
	rsv1    bool // compressed (RFC 7692)
}

// nextFrame reads one frame from the server and checks the rules a server
// frame must follow: no mask, minimal length encoding, no RSV bits but
// RSV1 on the first frame of a data message once permessage-deflate is
// negotiated (RFC 7692 section 6). The connection's end before a frame is
// io.EOF.
func (c *rawClient) nextFrame() (wireFrame, error) {
	if err := c.nc.SetDeadline(time.Now().Add(testTimeout)); err != nil {
		return wireFrame{}, err
	}
	var h [frame.MaxHeaderLen]byte
	if _, err := io.ReadFull(c.br, h[:2]); err != nil {
		return wireFrame{}, err
	}
	n := frame.HeaderLen(h[1])
	if _, err := io.ReadFull(c.br, h[2:n]); err != nil {
		return wireFrame{}, fmt.Errorf("reading a frame header: %w", err)
	}
	hd, ok := frame.ParseHeader(h[:n])
	switch {
	case !ok:
		return wireFrame{}, fmt.Errorf("server sent a malformed header % x", h[:n])
	case hd.Masked:
		return wireFrame{}, errors.New("server sent a masked frame (RFC 6455 section 5.1)")
	case hd.Rsv != 0 && (hd.Rsv != frame.Rsv1 || hd.Op != opText && hd.Op != opBinary || !strings.HasPrefix(c.ext, "permessage-deflate")):
		return wireFrame{}, fmt.Errorf("server set RSV bits %#x on opcode %#x (extensions %q)", hd.Rsv, hd.Op, c.ext)
	}
	p := make([]byte, hd.Length)
	if _, err := io.ReadFull(c.br, p); err != nil {
		return wireFrame{}, fmt.Errorf("reading a %d-byte payload: %w", hd.Length, err)
	}
	return wireFrame{hd.Fin, hd.Op, p, hd.Rsv != 0}, nil
}

// readFrame is nextFrame, failing the test on an error.
func (c *rawClient) readFrame() wireFrame {
	c.t.Helper()
	f, err := c.nextFrame()
	if err != nil {
		c.t.Fatalf("reading a frame: %v", err)
	}
	return f
}

// readMessage reads frames until a whole data message has arrived,
// skipping nothing: a control frame in between fails the test.
func (c *rawClient) readMessage() ([]byte, opcode) {
	c.t.Helper()
	f := c.readFrame()
	op, data := f.op, f.payload
	for !f.fin {
		f = c.readFrame()
		if f.op != opContinuation {
			c.t.Fatalf("got opcode %#x inside a message", f.op)
		}
		data = append(data, f.payload...)
	}
	return data, op
}

// expectClose reads frames until a close frame and returns its code.
func (c *rawClient) expectClose() int {
	c.t.Helper()
	for {
		if f := c.readFrame(); f.op == opClose {
			if len(f.payload) < 2 {
				return StatusNoStatus
			}
			return int(binary.BigEndian.Uint16(f.payload))
		}
	}
}

// answerClose plays a well-behaved peer: it reads until the server's close
// frame, answers it with the same code, waits for the server to close TCP
// and reports the code.
func (c *rawClient) answerClose() (int, error) {
	for {
		f, err := c.nextFrame()
		if err != nil {
			return 0, err
		}
		if f.op == opClose {
			c.nc.Write(clientFrame(closeFin, f.payload))
			var b [1]byte
			if _, err := c.br.Read(b[:]); err == nil {
				return 0, errors.New("data after the close frame")
			}
			if len(f.payload) < 2 {
				return StatusNoStatus, nil
			}
			return int(binary.BigEndian.Uint16(f.payload)), nil
		}
	}
}

// testKey is the mask key of the raw client's frames; its bytes differ so
// that a wrong key rotation shows.
var testKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// clientFrame returns a masked frame with first byte b0 and payload, with
// the minimal length encoding.
func clientFrame(b0 byte, payload []byte) []byte {
	return frameWithLength(b0, payload, uint64(len(payload)), minimalLenCode(len(payload)), true)
}

// unmaskedFrame returns a frame like clientFrame, without a mask.
func unmaskedFrame(b0 byte, payload []byte) []byte {
	return frameWithLength(b0, payload, uint64(len(payload)), minimalLenCode(len(payload)), false)
}

func minimalLenCode(n int) byte {
	switch {
	case n < 126:
		return byte(n)
	case n <= 0xFFFF:
		return 126
	}
	return 127
}

// frameWithLength builds a frame whose header announces length with the
// 7-bit code lenCode (0-125 itself, 126 or 127), whatever the payload's
// real size: it can express non-minimal or lying lengths.
func frameWithLength(b0 byte, payload []byte, length uint64, lenCode byte, masked bool) []byte {
	b := []byte{b0, lenCode}
	switch lenCode {
	case 126:
		b = binary.BigEndian.AppendUint16(b, uint16(length))
	case 127:
		b = binary.BigEndian.AppendUint64(b, length)
	}
	if !masked {
		return append(b, payload...)
	}
	b[1] |= 0x80
	b = append(b, testKey[:]...)
	return append(b, maskNaive(testKey, 0, payload)...)
}

// maskNaive returns p masked with key as RFC 6455 section 5.3 states it,
// starting at payload offset off: byte i is XORed with key[(off+i) mod 4].
func maskNaive(key [4]byte, off int, p []byte) []byte {
	out := make([]byte, len(p))
	for i := range p {
		out[i] = p[i] ^ key[(off+i)%4]
	}
	return out
}

// serverFrame returns an unmasked, final frame as the server sends it.
func serverFrame(op opcode, payload []byte) []byte {
	b := []byte{0x80 | byte(op), minimalLenCode(len(payload))}
	switch b[1] {
	case 126:
		b = binary.BigEndian.AppendUint16(b, uint16(len(payload)))
	case 127:
		b = binary.BigEndian.AppendUint64(b, uint64(len(payload)))
	}
	return append(b, payload...)
}

// serverClose returns the close frame the server sends with code.
func serverClose(code int) []byte {
	return serverFrame(opClose, closePayload(code, ""))
}

// closePayload returns a close frame's payload: code and reason.
func closePayload(code int, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}

// Frame first bytes used by the tests.
const (
	fin       = 0x80
	rsv1      = 0x40
	rsv2      = 0x20
	rsv3      = 0x10
	textFin   = fin | byte(opText)
	binFin    = fin | byte(opBinary)
	pingFin   = fin | byte(opPing)
	pongFin   = fin | byte(opPong)
	closeFin  = fin | byte(opClose)
	contFin   = fin | byte(opContinuation)
	textFrag  = byte(opText)
	binFrag   = byte(opBinary)
	contFrag  = byte(opContinuation)
	pingFrag  = byte(opPing)
	closeFrag = byte(opClose)
)

// onCI reports whether the tests run under CI, where a missing peer is a
// failure rather than a skip.
func onCI() bool { return os.Getenv("CI") == "true" }

// requireTool skips the test (fails it under CI=true) when what is
// missing is not installed.
func requireTool(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("%s is not installed (%v); ./scripts/test.sh installs it", what, err)
	if onCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
