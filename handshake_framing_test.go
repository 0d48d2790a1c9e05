package wss

// The framing of an opening handshake request (RFC 9112): it has no content
// that the server could read as frames, and its lines end in CRLF. Each case
// runs on both accept paths (Dispatcher.Serve and net/http).

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// emptyTextFrame is a masked empty text frame: the 6 bytes of content that,
// read as frames after a 101, come back as an empty message.
var emptyTextFrame = string(clientFrame(textFin, nil))

// chunked is emptyTextFrame as a chunked body.
var chunked = "6\r\n" + emptyTextFrame + "\r\n0\r\n\r\n"

// framingCase is a request sent as raw bytes and the answer it gets.
type framingCase struct {
	name string
	raw  func(q *request) string // the bytes sent, from a valid request
	// status is the exact status line of the answer (status101: the
	// request is upgraded); netHTTP, if set, is the one on the net/http
	// path.
	status, netHTTP string
	reason          string // part of the body of wss's refusal
	// byNetHTTP: on its path net/http answers before any handler, with
	// its own body.
	byNetHTTP bool
	header    [2]string // a field the refusal carries
}

const (
	status101 = "HTTP/1.1 101 Switching Protocols"
	status400 = "HTTP/1.1 400 Bad Request"
	status405 = "HTTP/1.1 405 Method Not Allowed"
	status501 = "HTTP/1.1 501 Not Implemented"
)

// withBody returns a raw that sends the request with fields added, then body.
func withBody(body string, fields ...string) func(q *request) string {
	return func(q *request) string {
		for i := 0; i < len(fields); i += 2 {
			q.add(fields[i], fields[i+1])
		}
		return string(q.bytes()) + body
	}
}

// TestRFC9112_6_3_HandshakeBody: a handshake request with content (a
// Content-Length other than 0, or any Transfer-Encoding) is refused with 400
// before any upgrade, and its content is never read as frames; an invalid
// Content-Length is refused with 400 whatever the method (RFC 9112 section
// 6.3); one of 0, however written, is no content. A request with content
// that is not a GET gets the 405 of RFC 6455 section 4.1 like any other.
func TestRFC9112_6_3_HandshakeBody(t *testing.T) {
	const bodyReason, lengthReason = "must not have a body", "invalid Content-Length"
	cases := []framingCase{
		{name: "Content-Length 6, a frame", raw: withBody(emptyTextFrame, "Content-Length", "6"), status: status400, reason: bodyReason},
		{name: "Content-Length 1", raw: withBody("x", "Content-Length", "1"), status: status400, reason: bodyReason},
		{name: "Content-Length 06", raw: withBody(emptyTextFrame, "Content-Length", "06"), status: status400, reason: bodyReason},
		{name: "chunked", raw: withBody(chunked, "Transfer-Encoding", "chunked"), status: status400, reason: bodyReason},
		{name: "chunked, empty", raw: withBody("0\r\n\r\n", "Transfer-Encoding", "chunked"), status: status400, reason: bodyReason},
		{name: "chunked and Content-Length", raw: withBody(chunked, "Transfer-Encoding", "chunked", "Content-Length", "6"), status: status400, reason: bodyReason},
		{name: "chunked and Content-Length 0", raw: withBody(chunked, "Content-Length", "0", "Transfer-Encoding", "chunked"), status: status400, reason: bodyReason},
		{name: "Transfer-Encoding gzip", raw: withBody(emptyTextFrame, "Transfer-Encoding", "gzip"),
			status: status400, reason: bodyReason, netHTTP: status501, byNetHTTP: true},
		{name: "Transfer-Encoding twice", raw: withBody(chunked, "Transfer-Encoding", "chunked", "Transfer-Encoding", "chunked"),
			status: status400, reason: bodyReason, netHTTP: status501, byNetHTTP: true},
		{name: "HTTP/1.0, chunked", raw: func(q *request) string {
			q.line = "GET /chat HTTP/1.0"
			return withBody(chunked, "Transfer-Encoding", "chunked")(q)
		}, status: status400, netHTTP: "HTTP/1.0 400 Bad Request"}, // net/http ignores Transfer-Encoding in HTTP/1.0: refused for the version
		{name: "Content-Length over 2^63", raw: withBody(emptyTextFrame, "Content-Length", "99999999999999999999"),
			status: status400, reason: bodyReason, byNetHTTP: true},
		{name: "Content-Length 0 then 6", raw: withBody(emptyTextFrame, "Content-Length", "0", "Content-Length", "6"),
			status: status400, reason: lengthReason, byNetHTTP: true},
		{name: "Content-Length 0 then 00", raw: withBody("", "Content-Length", "0", "Content-Length", "00"),
			status: status400, reason: lengthReason, byNetHTTP: true},
		{name: "Content-Length list", raw: withBody("", "Content-Length", "0, 0"), status: status400, reason: lengthReason, byNetHTTP: true},
		{name: "Content-Length empty", raw: withBody("", "Content-Length", ""), status: status400, reason: lengthReason, byNetHTTP: true},
		{name: "Content-Length +0", raw: withBody("", "Content-Length", "+0"), status: status400, reason: lengthReason, byNetHTTP: true},
		{name: "Content-Length -1", raw: withBody("", "Content-Length", "-1"), status: status400, reason: lengthReason, byNetHTTP: true},
		{name: "Content-Length 0x6", raw: withBody(emptyTextFrame, "Content-Length", "0x6"), status: status400, reason: lengthReason, byNetHTTP: true},
		{name: "POST, invalid Content-Length", raw: func(q *request) string {
			q.line = "POST /chat HTTP/1.1"
			return withBody(emptyTextFrame, "Content-Length", "six")(q)
		}, status: status400, reason: lengthReason, byNetHTTP: true},
		{name: "POST with a body", raw: func(q *request) string {
			q.line = "POST /chat HTTP/1.1"
			return withBody(emptyTextFrame, "Content-Length", "6")(q)
		}, status: status405, reason: "GET", header: [2]string{"Allow", "GET"}},
		{name: "Content-Length 0", raw: withBody("", "Content-Length", "0"), status: status101},
		{name: "Content-Length 00", raw: withBody("", "Content-Length", "00"), status: status101},
		{name: "Content-Length 0 twice", raw: withBody("", "Content-Length", "0", "Content-Length", "0"), status: status101},
	}
	runFraming(t, nil, cases)
}

// TestRFC9112_2_2_HandshakeLineEnds: on Serve a request line or field that
// ends in a bare LF is refused with 400 at once, not left waiting for
// HandshakeTimeout; net/http takes a bare LF as a line end, as RFC 9112
// section 2.2 allows (see bareLF for why Serve does not). A bare CR is
// refused on both paths.
func TestRFC9112_2_2_HandshakeLineEnds(t *testing.T) {
	lf := func(from, to string) func(q *request) string {
		return func(q *request) string { return strings.Replace(string(q.bytes()), from, to, -1) }
	}
	cases := []framingCase{
		{name: "every line ends in LF", raw: lf("\r\n", "\n"), status: status400, netHTTP: status101, reason: "malformed"},
		{name: "the request line ends in LF", raw: lf("HTTP/1.1\r\n", "HTTP/1.1\n"), status: status400, netHTTP: status101, reason: "malformed"},
		{name: "a field ends in LF", raw: lf("websocket\r\n", "websocket\n"), status: status400, netHTTP: status101, reason: "malformed"},
		{name: "the empty line is LF", raw: lf("\r\n\r\n", "\r\n\n"), status: status400, netHTTP: status101, reason: "malformed"},
		{name: "bare CR in a field", raw: withBody("", "X-Note", "a\rb"), status: status400, reason: "malformed", byNetHTTP: true},
		{name: "CR CR LF", raw: lf("websocket\r\n", "websocket\r\r\n"), status: status400, reason: "malformed", byNetHTTP: true},
	}
	// A HandshakeTimeout past the test's wait: an answer comes from the
	// request itself, not from the timeout.
	runFraming(t, &Config{HandshakeTimeout: time.Minute}, cases)
}

// runFraming runs each case in every dispatcher mode, and so on both paths.
func runFraming(t *testing.T, cfg *Config, cases []framingCase) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, cfg, nil)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				status := tc.status
				if !srv.viaServe && tc.netHTTP != "" {
					status = tc.netHTTP
				}
				raw := tc.raw(validRequest(srv.addr))
				if status == status101 {
					expectAcceptedRaw(t, srv, raw)
					return
				}
				ownAnswer := srv.viaServe || !tc.byNetHTTP
				expectRefusedRaw(t, srv, raw, status, tc, ownAnswer)
			})
		}
	})
}

// expectRefusedRaw sends raw and checks the answer: the exact status line,
// no Sec-WebSocket-Accept, (when wss answered) the reason and header, and
// then the end of the connection, with no frame or second answer before it.
func expectRefusedRaw(t *testing.T, srv *testServer, raw, status string, tc framingCase, ownAnswer bool) {
	t.Helper()
	c := dialRaw(t, srv.addr)
	c.write([]byte(raw))
	resp, body := readAnswer(t, c, status)
	if v := resp.Header.Get("Sec-WebSocket-Accept"); v != "" {
		t.Errorf("refusal carries Sec-WebSocket-Accept %q", v)
	}
	if ownAnswer {
		if !strings.Contains(string(body), tc.reason) {
			t.Errorf("body %q does not say %q", body, tc.reason)
		}
		if tc.header[0] != "" && resp.Header.Get(tc.header[0]) != tc.header[1] {
			t.Errorf("%s = %q, want %q", tc.header[0], resp.Header.Get(tc.header[0]), tc.header[1])
		}
	}
	c.expectEOF()
	if ownAnswer && !srv.viaServe {
		select {
		case err := <-srv.rejected:
			if !errors.Is(err, ErrHandshake) {
				t.Errorf("Upgrade error %v does not wrap ErrHandshake", err)
			}
		case <-time.After(testTimeout):
			t.Error("Upgrade returned no error")
		}
	}
}

// readAnswer reads an HTTP response whose status line is exactly status,
// and its body.
func readAnswer(t *testing.T, c *rawClient, status string) (*http.Response, []byte) {
	t.Helper()
	c.deadline()
	line, err := c.br.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the status line: got %q: %v", line, err)
	}
	if line != status+"\r\n" {
		t.Fatalf("status line %q, want %q", line, status+"\r\n")
	}
	resp, err := http.ReadResponse(bufio.NewReader(io.MultiReader(strings.NewReader(line), c.br)), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return resp, body
}

// expectAcceptedRaw sends raw, checks the exact 101, that a frame is echoed,
// then hangs up and checks that OnClose reports the lost connection.
func expectAcceptedRaw(t *testing.T, srv *testServer, raw string) {
	t.Helper()
	c := dialRaw(t, srv.addr)
	c.write([]byte(raw))
	c.expect([]byte(acceptResponse))
	c.send(binFin, []byte{1, 2, 3})
	c.expect(serverFrame(opBinary, []byte{1, 2, 3}))
	c.nc.Close()
	_, rec := srv.next(t)
	rec.wantClose(t, StatusConnLost)
}

// TestRFC9112_2_2_ServeBareLFBeforeTheHeadEnds: Serve's event loops refuse
// a bare LF as soon as it arrives, in whichever piece, although the head has
// not ended. (net/http, and so goroutine mode, waits for the head's end.)
func TestRFC9112_2_2_ServeBareLFBeforeTheHeadEnds(t *testing.T) {
	cases := []struct {
		name   string
		pieces []string
	}{
		{"request line", []string{"GET /chat HTTP/1.1\n"}},
		{"a field", []string{"GET /chat HTTP/1.1\r\nHost: h\n"}},
		{"CR and LF in two pieces, then a bare LF", []string{"GET /chat HTTP/1.1\r", "\nHost: h\n"}},
		{"LF at the start of a piece", []string{"GET /chat HTTP/1.1\r\nHost: h", "\nUpgrade: websocket\r\n"}},
	}
	for _, m := range serveModes[:2] {
		t.Run(m.name, func(t *testing.T) {
			addr, _ := serveOn(t, m, &Config{HandshakeTimeout: time.Minute}, newEcho)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					c := dialRaw(t, addr)
					for _, p := range tc.pieces {
						c.write([]byte(p))
					}
					readAnswer(t, c, status400)
					c.expectEOF()
				})
			}
		})
	}
}

// bareLF finds an LF that ends no CRLF from where it is asked to look,
// looking back one byte; a CR at the end may yet be followed by its LF.
func TestRFC9112_2_2_ServeBareLF(t *testing.T) {
	cases := []struct {
		p    string
		from int
		want bool
	}{
		{"GET / HTTP/1.1\r\nHost: h\r\n", 0, false},
		{"GET / HTTP/1.1\n", 0, true},
		{"\n", 0, true},
		{"\r\n", 0, false},
		{"\r\n", 1, false},
		{"GET / HTTP/1.1\r", 0, false},
		{"a\r\nb\n", 0, true},
		{"a\r\nb\n", 3, true},
		{"a\nb\r\n", 2, false}, // before from: looked at already
		{"a\r\r\n", 0, false},  // the CR CR is parseHead's to refuse
		{"", 0, false},
	}
	for _, tc := range cases {
		if got := bareLF([]byte(tc.p), tc.from); got != tc.want {
			t.Errorf("bareLF(%q, %d) = %v, want %v", tc.p, tc.from, got, tc.want)
		}
	}
}
