package wss

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// The helpers of the hardening tests: a real server on a loopback port, and
// a raw client that speaks frames byte by byte, so tests control exactly
// what a slow, silent or hostile peer sends.

// closeLog is a Handler that records each connection's OnClose status.
type closeLog struct {
	mu       sync.Mutex
	statuses []int
	closed   chan int // each OnClose status, in order
	onFrame  func(c *Conn, data []byte, text bool)
	onOpen   chan *Conn
}

func newCloseLog() *closeLog {
	return &closeLog{closed: make(chan int, 20000), onOpen: make(chan *Conn, 20000)}
}

func (l *closeLog) OnFrame(c *Conn, data []byte, text bool) {
	if l.onFrame != nil {
		l.onFrame(c, data, text)
	}
}

func (l *closeLog) OnOpen(c *Conn) { l.onOpen <- c }

func (l *closeLog) OnClose(c *Conn, status int) {
	l.mu.Lock()
	l.statuses = append(l.statuses, status)
	l.mu.Unlock()
	l.closed <- status
}

// wait returns the next OnClose status, failing after a generous bound.
func (l *closeLog) wait(t testing.TB) int {
	t.Helper()
	select {
	case s := <-l.closed:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("OnClose was not called")
		return 0
	}
}

// hardServer is a wss server on a loopback port.
type hardServer struct {
	addr string
	d    *Dispatcher
	// stopAccepting closes the listener; connections already accepted
	// stay. Safe to call again.
	stopAccepting func()
	log           *closeLog
	base          map[string]string // the goroutines before the server started
}

// startHardServer serves log's handler with dcfg and cfg on 127.0.0.1:0; the
// server and dispatcher stop when the test ends.
func startHardServer(t testing.TB, dcfg *DispatcherConfig, cfg *Config, log *closeLog) *hardServer {
	t.Helper()
	if tt, ok := t.(*testing.T); ok {
		checkGoroutines(tt)
	}
	return serveHard(t, dcfg, cfg, log, nil)
}

// serveHard is startHardServer, over TLS when tlsCfg is not nil.
func serveHard(t testing.TB, dcfg *DispatcherConfig, cfg *Config, log *closeLog, tlsCfg *tls.Config) *hardServer {
	t.Helper()
	base := goroutines()
	d, err := NewDispatcher(dcfg)
	if err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = New(log, d, cfg).Upgrade(w, r) // log.OnOpen reports it
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer("", h, cfg)
	served := make(chan struct{})
	go func() {
		defer close(served)
		switch {
		case viaServe(t) && tlsCfg != nil:
			_ = d.Serve(tls.NewListener(ln, tlsCfg), cfg, func(*Request) Handler { return log })
		case viaServe(t):
			_ = d.Serve(ln, cfg, func(*Request) Handler { return log })
		case tlsCfg != nil:
			srv.TLSConfig = tlsCfg
			_ = srv.ServeTLS(ln, "", "")
		default:
			_ = srv.Serve(ln)
		}
	}()
	ts := &hardServer{addr: ln.Addr().String(), d: d, log: log, base: base}
	ts.stopAccepting = func() {
		srv.Close()
		ln.Close()
		<-served
	}
	t.Cleanup(func() {
		ts.stopAccepting()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		d.Shutdown(ctx)
	})
	return ts
}

// modeConfig returns a copy of a mode's DispatcherConfig (see dispatcherModes).
func modeConfig(c DispatcherConfig) *DispatcherConfig { return &c }

// rawPeer is a client speaking frames byte by byte over a real socket.
type rawPeer struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

const upgradeRequest = "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"

// dialPeer connects to addr and completes the opening handshake.
func dialPeer(t testing.TB, addr string) *rawPeer {
	t.Helper()
	p, err := tryDialPeer(addr)
	if err != nil {
		t.Fatal(err)
	}
	p.t = t
	t.Cleanup(func() { p.nc.Close() })
	return p
}

func tryDialPeer(addr string) (*rawPeer, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return handshakeRaw(nc, addr)
}

// handshakeRaw completes the opening handshake on nc.
func handshakeRaw(nc net.Conn, addr string) (*rawPeer, error) {
	var key [16]byte
	rand.Read(key[:])
	k := base64.StdEncoding.EncodeToString(key[:])
	if _, err := fmt.Fprintf(nc, upgradeRequest, addr, k); err != nil {
		nc.Close()
		return nil, err
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		nc.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != acceptKey(k) {
		nc.Close()
		return nil, fmt.Errorf("handshake answered %s", resp.Status)
	}
	return &rawPeer{nc: nc, br: br}, nil
}

// frameBytes encodes a masked client frame.
func frameBytes(fin bool, op opcode, payload []byte) []byte {
	var hdr [maxHeaderLen]byte
	key := uint32(0x9e3779b9)
	n := putHeader(hdr[:], fin, 0, op, len(payload), true, key)
	b := append(hdr[:n:n], payload...)
	mask(key, b[n:])
	return b
}

// send writes one masked frame.
func (p *rawPeer) send(fin bool, op opcode, payload []byte) {
	p.t.Helper()
	if _, err := p.nc.Write(frameBytes(fin, op, payload)); err != nil {
		p.t.Fatalf("send: %v", err)
	}
}

// rawFrame is a frame as the client received it.
type rawFrame struct {
	fin     bool
	op      opcode
	payload []byte
}

// readFrame reads one server frame, within a generous bound.
func (p *rawPeer) readFrame() (rawFrame, error) {
	p.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [maxServerHeaderLen]byte
	if _, err := io.ReadFull(p.br, b[:2]); err != nil {
		return rawFrame{}, err
	}
	n := headerLen(b[1])
	if n > maxServerHeaderLen {
		return rawFrame{}, errors.New("server sent a masked frame")
	}
	if _, err := io.ReadFull(p.br, b[2:n]); err != nil {
		return rawFrame{}, err
	}
	h, ok := parseHeader(b[:n])
	if !ok {
		return rawFrame{}, errors.New("malformed header")
	}
	f := rawFrame{fin: h.fin, op: h.op, payload: make([]byte, h.length)}
	_, err := io.ReadFull(p.br, f.payload)
	return f, err
}

// expectClose reads frames until a close frame and returns its code.
func (p *rawPeer) expectClose() int {
	p.t.Helper()
	for {
		f, err := p.readFrame()
		if err != nil {
			p.t.Fatalf("waiting for a close frame: %v", err)
		}
		if f.op == opClose {
			if len(f.payload) < 2 {
				return StatusNoStatus
			}
			return int(binary.BigEndian.Uint16(f.payload))
		}
	}
}

// expectEOF reads until the server closes the connection; data frames
// before that are skipped.
func (p *rawPeer) expectEOF() {
	p.t.Helper()
	p.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, p.br)
	if err != nil && !errors.Is(err, net.ErrClosed) && !isConnReset(err) {
		p.t.Fatalf("waiting for the server to close: %v", err)
	}
}

func isConnReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

func closeBody(code int) []byte {
	return binary.BigEndian.AppendUint16(nil, uint16(code))
}

// wssGoroutines lists the stacks of goroutines running this package's
// non-test code that are not in base (goroutines() taken earlier).
func wssGoroutines(base map[string]string) []string {
	var found []string
	for id, g := range goroutines() {
		if _, old := base[id]; old {
			continue
		}
		if strings.Contains(g, "github.com/wssgo/wss.") && !strings.Contains(g, "_test.go") {
			found = append(found, g)
		}
	}
	return found
}

// openFDs counts this process's open file descriptors.
func openFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors: %v", err)
	}
	return len(ents)
}

// assertNoWSSLeft fails if a goroutine of this package started since the
// server did is still running. A goroutine that has signalled its end may
// still be returning, which nothing can wait for: it gets a bounded moment
// to go.
func (ts *hardServer) assertNoWSSLeft(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		gs := wssGoroutines(ts.base)
		if len(gs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines of wss remain, the first:\n%s", len(gs), gs[0])
		}
		time.Sleep(time.Millisecond) // polling a bounded wait, not synchronisation
	}
}
