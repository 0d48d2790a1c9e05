package wss

// Fuzz targets for the two parsers a peer feeds: the frame parser (a
// Conn's receive state machine) and the opening handshake check. The seed
// corpus is in testdata/fuzz.

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wssgo/wss/internal/wstest"
)

// fuzzConfig keeps limits small so that fuzzing reaches them.
var fuzzConfig = &Config{StartSize: 64, ExpandSize: 64, MaxMessageSize: 4096}

// sinkConn is the socket of a fuzzed Conn: it keeps what the Conn writes.
// The state machine is fed directly, so Read is never called.
type sinkConn struct {
	mu     sync.Mutex
	out    bytes.Buffer
	closed bool
}

func (s *sinkConn) Read([]byte) (int, error) { return 0, io.EOF }
func (s *sinkConn) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, net.ErrClosed
	}
	return s.out.Write(p)
}
func (s *sinkConn) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}
func (s *sinkConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (s *sinkConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (s *sinkConn) SetDeadline(time.Time) error      { return nil }
func (s *sinkConn) SetReadDeadline(time.Time) error  { return nil }
func (s *sinkConn) SetWriteDeadline(time.Time) error { return nil }

// feedResult is everything observable of a Conn fed some bytes.
type feedResult struct {
	msgs   []message
	out    []byte // what the server wrote: pongs and close frames
	status int    // the status OnClose would get
}

// feedPieces feeds in to c in pieces of the given sizes (the rest in one
// piece), calling check (if not nil) after each, until c stops reading.
func feedPieces(c *Conn, in []byte, sizes []int, check func()) {
	for len(in) > 0 {
		n := len(in)
		if len(sizes) > 0 {
			n = min(max(sizes[0], 1), n)
			sizes = sizes[1:]
		}
		p := bytes.Clone(in[:n]) // feed unmasks in place
		in = in[n:]
		more := c.feed(p)
		if check != nil {
			check()
		}
		if !more {
			return
		}
	}
}

// feedSplit feeds in to a fresh server Conn in pieces of the given sizes
// (the rest in one piece), as a dispatcher would, and checks after each
// piece that the message buffer stays within twice what has arrived.
func feedSplit(t *testing.T, in []byte, sizes []int) feedResult {
	var res feedResult
	h := HandlerFuncs{Frame: func(c *Conn, data []byte, text bool) {
		res.msgs = append(res.msgs, message{bytes.Clone(data), text})
	}}
	sink := &sinkConn{}
	c := newConn(h, nil, fuzzConfig)
	c.aside = &connAside{nc: sink}
	c.state.set(flagConnected)
	feedPieces(c, in, sizes, func() {
		if b := c.rd.msg.b; b != nil {
			limit := 2*(len(*b)+max(fuzzConfig.StartSize, fuzzConfig.ExpandSize)) + 512
			if cap(*b) > limit {
				t.Fatalf("message buffer of capacity %d holds %d bytes", cap(*b), len(*b))
			}
		}
		if r := &c.rd; r.part != nil && !r.draining {
			splitHeader := !r.inFrame && r.part.nhdr > 0
			splitControl := r.inFrame && r.h.Op.IsControl() && r.h.Length > 0
			if !splitHeader && !splitControl {
				t.Fatalf("split-frame state held with nothing split (inFrame %v, op %d, remain %d)", r.inFrame, r.h.Op, r.h.Length)
			}
		}
	})
	// The peer is gone: what a dispatcher does at EOF.
	c.drop(StatusConnLost)
	c.d.remove(c) // stops a close timer
	c.rd.release()
	res.status = c.state.status()
	res.out = sink.out.Bytes()
	return res
}

// refParse is an independent, whole-buffer reading of RFC 6455 section 5
// for a server: the result the state machine must produce however the
// bytes are split.
func refParse(in []byte, maxMsg uint64) (res feedResult) {
	var msg []byte
	var msgOp byte
	fail := func(code int) feedResult {
		res.out = append(res.out, serverClose(code)...)
		res.status = failStatus(code)
		return res
	}
	for {
		if len(in) < 2 {
			res.status = StatusConnLost
			return res
		}
		b0, b1 := in[0], in[1]
		hl := 2 + map[byte]int{126: 2, 127: 8}[b1&0x7f]
		masked := b1&0x80 != 0
		if masked {
			hl += 4
		}
		if len(in) < hl {
			res.status = StatusConnLost
			return res
		}
		length := uint64(b1 & 0x7f)
		switch length {
		case 126:
			length = uint64(binary.BigEndian.Uint16(in[2:]))
			if length < 126 {
				return fail(StatusProtocolError)
			}
		case 127:
			length = binary.BigEndian.Uint64(in[2:])
			if length>>63 != 0 || length <= 0xFFFF {
				return fail(StatusProtocolError)
			}
		}
		fin, op := b0&0x80 != 0, b0&0x0f
		switch {
		case !masked, b0&0x70 != 0:
			return fail(StatusProtocolError)
		case op >= 8:
			if op > 0xA || !fin || length > 125 {
				return fail(StatusProtocolError)
			}
		case op == 0:
			if msgOp == 0 {
				return fail(StatusProtocolError)
			}
		case op == 1 || op == 2:
			if msgOp != 0 {
				return fail(StatusProtocolError)
			}
		default:
			return fail(StatusProtocolError)
		}
		if op < 8 && uint64(len(msg))+length > maxMsg {
			return fail(StatusMessageTooBig)
		}
		var key [4]byte
		copy(key[:], in[hl-4:hl])
		in = in[hl:]
		avail := min(length, uint64(len(in)))
		payload := maskNaive(key, 0, in[:avail])
		in = in[avail:]
		if op < 8 {
			if op != 0 {
				msgOp = op
			}
			msg = append(msg, payload...)
			if msgOp == 1 && !wstest.ValidUTF8Prefix(msg) {
				return fail(StatusInvalidData)
			}
			if avail < length {
				res.status = StatusConnLost
				return res
			}
			if fin {
				if msgOp == 1 && !utf8.Valid(msg) {
					return fail(StatusInvalidData)
				}
				res.msgs = append(res.msgs, message{msg, msgOp == 1})
				msg, msgOp = nil, 0
			}
			continue
		}
		if avail < length {
			res.status = StatusConnLost
			return res
		}
		switch op {
		case 0x9:
			res.out = append(res.out, serverFrame(opPong, payload)...)
		case 0x8:
			switch {
			case len(payload) == 0:
				res.out = append(res.out, serverFrame(opClose, nil)...)
				res.status = StatusNoStatus
				return res
			case len(payload) == 1:
				return fail(StatusProtocolError)
			}
			code := int(binary.BigEndian.Uint16(payload))
			sendable := code >= 1000 && code <= 1003 || code >= 1007 && code <= 1014 || code >= 3000 && code <= 4999
			if !sendable {
				return fail(StatusProtocolError)
			}
			if !utf8.Valid(payload[2:]) {
				return fail(StatusInvalidData)
			}
			res.out = append(res.out, serverClose(code)...)
			res.status = code
			return res
		}
	}
}

func sameResult(a, b feedResult) bool {
	if a.status != b.status || !bytes.Equal(a.out, b.out) || len(a.msgs) != len(b.msgs) {
		return false
	}
	for i := range a.msgs {
		if a.msgs[i].text != b.msgs[i].text || !bytes.Equal(a.msgs[i].data, b.msgs[i].data) {
			return false
		}
	}
	return true
}

// FuzzFeed feeds arbitrary bytes, in arbitrary splits, to a Conn's frame
// parser. It must never panic, never hold a buffer beyond twice what has
// arrived, give the same result however the bytes are split, and agree
// with the reference reading of the RFC.
func FuzzFeed(f *testing.F) {
	for _, seed := range feedSeeds() {
		f.Add(seed, uint64(1))
	}
	f.Fuzz(func(t *testing.T, in []byte, seed uint64) {
		want := refParse(in, uint64(fuzzConfig.MaxMessageSize))
		whole := feedSplit(t, in, nil)
		if !sameResult(whole, want) {
			t.Fatalf("in one piece:\n got %+v\nwant %+v", whole, want)
		}
		rng := rand.New(rand.NewPCG(seed, uint64(len(in))))
		var sizes []int
		for n := 0; n < len(in); {
			k := 1 + rng.IntN(1+rng.IntN(64))
			sizes = append(sizes, k)
			n += k
		}
		if got := feedSplit(t, in, sizes); !sameResult(got, want) {
			t.Fatalf("split %v:\n got %+v\nwant %+v", sizes, got, want)
		}
		if len(in) <= 256 {
			ones := make([]int, len(in))
			for i := range ones {
				ones[i] = 1
			}
			if got := feedSplit(t, in, ones); !sameResult(got, want) {
				t.Fatalf("byte by byte:\n got %+v\nwant %+v", got, want)
			}
		}
	})
}

// feedSeeds are frame sequences covering each rule of section 5.
func feedSeeds() [][]byte {
	cat := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	return [][]byte{
		clientFrame(textFin, []byte("Hello")),
		cat(clientFrame(textFrag, []byte("Hel")), clientFrame(pingFin, []byte("p")), clientFrame(contFin, []byte("lo"))),
		cat(clientFrame(binFrag, payloadOf(200, false)), clientFrame(pongFin, nil), clientFrame(contFin, payloadOf(70, false))),
		clientFrame(binFin, payloadOf(70000, false))[:300],
		cat(clientFrame(textFrag, []byte("\xe2\x82")), clientFrame(contFin, []byte("\xac"))),
		clientFrame(textFrag, []byte("ok\xff")),
		cat(clientFrame(binFin, nil), clientFrame(closeFin, closePayload(1000, "bye"))),
		clientFrame(closeFin, nil),
		clientFrame(closeFin, []byte{3}),
		clientFrame(closeFin, closePayload(1005, "")),
		clientFrame(closeFin, closePayload(4000, "\xc3")),
		unmaskedFrame(textFin, []byte("x")),
		clientFrame(textFin|rsv1, []byte("x")),
		clientFrame(fin|0x3, nil),
		clientFrame(pingFrag, nil),
		clientFrame(pingFin, make([]byte, 126)),
		clientFrame(contFin, []byte("x")),
		cat(clientFrame(textFrag, []byte("a")), clientFrame(textFin, []byte("b"))),
		frameWithLength(binFin, nil, 1<<63, 127, true),
		frameWithLength(binFin, []byte("abc"), 3, 126, true),
		frameWithLength(binFin, nil, 5000, 126, true),
		cat(clientFrame(binFrag, make([]byte, 4000)), clientFrame(contFin, make([]byte, 200))),
	}
}

// FuzzHandshake runs arbitrary header values through the request parser
// of net/http, then checkRequest and Handshake. Nothing may panic; an
// accepted request must satisfy every rule of section 4.2.1; a rejected
// one gets an HTTP error, never 101.
func FuzzHandshake(f *testing.F) {
	f.Add("GET", "HTTP/1.1", "example.com", "websocket", "Upgrade", "13", sampleKey, "", "chat")
	f.Add("GET", "HTTP/1.1", "example.com", "WebSocket, h2c", "keep-alive, upgrade", "13", sampleKey, "http://example.com", "superchat, chat")
	f.Add("GET", "HTTP/1.1", "a.example.com", "websocket", "Upgrade", "13", sampleKey, "https://b.example.com", "")
	f.Add("POST", "HTTP/1.0", "", "h2c", "close", "8", "short", "null", "Chat")
	f.Add("GET", "HTTP/1.1", "x", "websocket", "upgrade", " 13 ", "AAAAAAAAAAAAAAAAAAAAAA==", "http://X", "chat,,superchat")
	cfg := &Config{Subprotocols: []string{"superchat", "chat"}, OriginPatterns: []string{"*.example.com"}, MaxHeaderBytes: 512}
	f.Fuzz(func(t *testing.T, method, proto, host, upgrade, connection, version, key, origin, protocol string) {
		var b strings.Builder
		b.WriteString(method + " /ws " + proto + "\r\n")
		for _, h := range [][2]string{{"Host", host}, {"Upgrade", upgrade}, {"Connection", connection},
			{"Sec-WebSocket-Version", version}, {"Sec-WebSocket-Key", key}, {"Origin", origin}, {"Sec-WebSocket-Protocol", protocol}} {
			if h[1] != "" {
				b.WriteString(h[0] + ": " + h[1] + "\r\n")
			}
		}
		b.WriteString("\r\n")
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(b.String())))
		if err != nil {
			return
		}
		got, err := checkRequest(r, cfg)
		rec := httptest.NewRecorder()
		_, herr := upgradeFor(rec, r, HandlerFuncs{}, nil, cfg) // a recorder cannot be hijacked
		if err != nil {
			var he *handshakeError
			if !errors.As(err, &he) || !errors.Is(err, ErrHandshake) {
				t.Fatalf("checkRequest error %v is not a handshake error", err)
			}
			if rec.Code != he.status || rec.Code < 400 || rec.Body.Len() == 0 || rec.Header().Get("Sec-WebSocket-Accept") != "" {
				t.Fatalf("rejection answered %d %q, want %d with a reason", rec.Code, rec.Body, he.status)
			}
			if !errors.Is(herr, ErrHandshake) {
				t.Fatalf("Handshake returned %v", herr)
			}
			return
		}
		// Accepted: check every rule independently.
		raw, derr := base64.StdEncoding.DecodeString(got)
		switch {
		case r.Method != "GET", !r.ProtoAtLeast(1, 1), r.Host == "":
			t.Fatalf("accepted %s %s with Host %q", r.Method, r.Proto, r.Host)
		case derr != nil || len(raw) != 16 || got != strings.TrimSpace(r.Header.Get("Sec-WebSocket-Key")):
			t.Fatalf("accepted key %q", got)
		case len(r.Header.Values("Sec-WebSocket-Version")) != 1 || strings.TrimSpace(r.Header.Get("Sec-WebSocket-Version")) != "13":
			t.Fatalf("accepted version %q", r.Header.Values("Sec-WebSocket-Version"))
		case !hasToken(r.Header.Values("Upgrade"), "websocket", strings.EqualFold),
			!hasToken(r.Header.Values("Connection"), "upgrade", strings.EqualFold):
			t.Fatalf("accepted Upgrade %q Connection %q", r.Header.Values("Upgrade"), r.Header.Values("Connection"))
		case upgradeFromHTTP(r, cfg).size > cfg.MaxHeaderBytes:
			t.Fatalf("accepted a header of %d bytes", upgradeFromHTTP(r, cfg).size)
		}
		if o := r.Header.Get("Origin"); o != "" {
			lo := strings.ToLower(o)
			if !strings.Contains(lo, "//"+strings.ToLower(r.Host)) && !strings.Contains(lo, ".example.com") {
				t.Fatalf("accepted origin %q for host %q", o, r.Host)
			}
		}
		if p := chooseSubprotocol(r.Header, cfg.Subprotocols); p != "" && !hasToken(r.Header.Values("Sec-WebSocket-Protocol"), p, func(a, b string) bool { return a == b }) {
			t.Fatalf("chose %q, not offered in %q", p, r.Header.Values("Sec-WebSocket-Protocol"))
		}
		if rec.Code == http.StatusSwitchingProtocols {
			t.Fatalf("a recorder cannot be hijacked, yet 101 was written")
		}
	})
}

// hasToken reports whether a comma-separated list in values holds token.
func hasToken(values []string, token string, eq func(a, b string) bool) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if eq(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// checkRequest applies RFC 6455 section 4.2.1 and the origin rule to a
// request net/http parsed, and returns the client's key.
func checkRequest(r *http.Request, cfg *Config) (string, error) {
	return checkUpgrade(upgradeFromHTTP(r, cfg), cfg, func() (*http.Request, error) { return r, nil })
}

// chooseSubprotocol returns the first of the server's subprotocols that the
// client offered in h, or "".
func chooseSubprotocol(h http.Header, server []string) string {
	var u handshakeFields
	for _, v := range h.Values("Sec-WebSocket-Protocol") {
		u.offerSubprotocols(v, server)
	}
	return u.subprotocol(server)
}
