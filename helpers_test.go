package wss

// Test helpers shared by the test files: dispatcher modes, a recorder
// Handler, handshake requests, masking and frame building, and a
// goroutine leak check. The one test server is in testserver_test.go, the
// one raw client in rawclient_test.go.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
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
	forEachModeOf(t, testModes, f)
}

// forEachModeOf is forEachMode over the given modes.
func forEachModeOf(t *testing.T, modes []testMode, f func(t *testing.T, d *Dispatcher)) {
	t.Helper()
	for _, m := range modes {
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
	onFrame func(c *Conn, data []byte, typ MessageType) // nil: echo

	msgs   chan message
	pings  chan []byte
	pongs  chan pong
	closed chan struct{} // closed at the first OnClose
	status atomic.Int32
	err    error        // Conn.Err during the first OnClose, read once closed is
	ncalls atomic.Int32 // OnClose calls
}

// pong is an OnPong call.
type pong struct {
	data []byte
	rtt  time.Duration
}

type message struct {
	data []byte
	typ  MessageType
}

func newRecorder(onFrame func(c *Conn, data []byte, typ MessageType)) *recorder {
	return &recorder{
		onFrame: onFrame,
		msgs:    make(chan message, 4096),
		pings:   make(chan []byte, 64),
		pongs:   make(chan pong, 64),
		closed:  make(chan struct{}),
	}
}

func (r *recorder) OnFrame(c *Conn, data []byte, typ MessageType) {
	select {
	case r.msgs <- message{bytes.Clone(data), typ}:
	default:
	}
	if r.onFrame != nil {
		r.onFrame(c, data, typ)
		return
	}
	_ = c.Write(data, typ)
}

func (r *recorder) OnPing(c *Conn, data []byte) {
	r.pings <- bytes.Clone(data)
}

func (r *recorder) OnPong(c *Conn, data []byte, rtt time.Duration) {
	select {
	case r.pongs <- pong{bytes.Clone(data), rtt}:
	default: // a test that floods pongs does not read them
	}
}

func (r *recorder) OnClose(c *Conn, status StatusCode) {
	if r.ncalls.Add(1) == 1 {
		r.status.Store(int32(status))
		r.err = c.Err()
		close(r.closed)
	}
}

// waitClose waits for OnClose and returns its status.
func (r *recorder) waitClose(t *testing.T) StatusCode {
	t.Helper()
	select {
	case <-r.closed:
		return StatusCode(r.status.Load())
	case <-time.After(testTimeout):
		t.Fatalf("OnClose not called within %v", testTimeout)
		return 0
	}
}

// wantClose waits for OnClose and checks its status.
func (r *recorder) wantClose(t *testing.T, want StatusCode) {
	t.Helper()
	if got := r.waitClose(t); got != want {
		t.Errorf("OnClose status = %d, want %d", got, want)
	}
}

// nextPong returns the next OnPong call.
func (r *recorder) nextPong(t *testing.T) pong {
	t.Helper()
	select {
	case p := <-r.pongs:
		return p
	case <-time.After(testTimeout):
		t.Fatalf("no OnPong within %v", testTimeout)
		return pong{}
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
func serverClose(code StatusCode) []byte {
	return serverFrame(opClose, closePayload(code, ""))
}

// closePayload returns a close frame's payload: code and reason.
func closePayload(code StatusCode, reason string) []byte {
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
