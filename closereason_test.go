package wss

import (
	"errors"
	"strings"
	"testing"
)

// closeReasonCases are reasons given to Close: up to 123 bytes of UTF-8 go
// out (RFC 6455 section 5.5.1: a control payload is at most 125 bytes, two
// of them the code), anything else is refused.
var closeReasonCases = []struct {
	name   string
	code   StatusCode
	reason string
	err    error
}{
	{"no reason", StatusNormalClosure, "", nil},
	{"reason", 4000, "bye", nil},
	{"multibyte", StatusGoingAway, "ünï ☃", nil},
	{"123 bytes", StatusGoingAway, strings.Repeat("r", 123), nil},
	{"124 bytes", StatusNormalClosure, strings.Repeat("r", 124), ErrControlTooLong},
	{"123 bytes ending in a 2-byte char", StatusNormalClosure, strings.Repeat("r", 122) + "ü", ErrControlTooLong},
	{"invalid UTF-8", StatusNormalClosure, "ok\xff", ErrInvalidUTF8},
	{"truncated character", StatusNormalClosure, "\xc3", ErrInvalidUTF8},
	{"surrogate", StatusNormalClosure, "\xed\xa0\x80", ErrInvalidUTF8},
}

// TestRFC6455_5_5_1_CloseReasonFromServer: Close(code, reason) sends the
// code and the reason, exactly; a refused reason sends nothing and leaves
// the connection open.
func TestRFC6455_5_5_1_CloseReasonFromServer(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		for _, tc := range closeReasonCases {
			t.Run(tc.name, func(t *testing.T) {
				c := dialRaw(t, srv.addr).connect(sampleKey)
				conn, rec := srv.next(t)
				err := conn.Close(tc.code, tc.reason)
				if !errors.Is(err, tc.err) {
					t.Fatalf("Close(%d, %d bytes) = %v, want %v", tc.code, len(tc.reason), err, tc.err)
				}
				code := tc.code
				if tc.err != nil { // nothing went out: a message still does, then a close
					if err := conn.Write([]byte("open"), Text); err != nil {
						t.Fatalf("Write after a refused Close: %v", err)
					}
					c.expect(serverFrame(opText, []byte("open")))
					code, tc.reason = StatusNormalClosure, ""
					if err := conn.Close(code, ""); err != nil {
						t.Fatal(err)
					}
				}
				c.expect(serverFrame(opClose, closePayload(code, tc.reason)))
				c.send(closeFin, closePayload(code, ""))
				rec.wantClose(t, code)
			})
		}
	})
}

// TestRFC6455_5_5_1_CloseReasonFromClient: a client's Close sends the code
// and the reason in one masked close frame; a refused reason sends nothing.
func TestRFC6455_5_5_1_CloseReasonFromClient(t *testing.T) {
	for _, tc := range closeReasonCases {
		t.Run(tc.name, func(t *testing.T) {
			c, sink := sinkClient(&Config{}, false)
			defer func() {
				c.drop(StatusConnLost)
				c.d.remove(c) // stops the close timer
			}()
			err := c.Close(tc.code, tc.reason)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Close(%d, %d bytes) = %v, want %v", tc.code, len(tc.reason), err, tc.err)
			}
			wire := sink.out.Bytes()
			if tc.err != nil {
				if len(wire) != 0 || !c.IsValid() {
					t.Fatalf("refused Close sent % x, IsValid %v; want nothing sent and the connection open", wire, c.IsValid())
				}
				return
			}
			f, rest, err := parseClientFrame(wire)
			want := closePayload(tc.code, tc.reason)
			if err != nil || len(rest) != 0 || !f.fin || !f.masked || f.op != byte(opClose) || string(f.payload) != string(want) {
				t.Fatalf("wire % x (%v, %d bytes after): want one masked close frame with % x", wire, err, len(rest), want)
			}
		})
	}
}

// TestCloseReasonOfPeer: the reason in the peer's close frame reaches
// OnClose through Err, and Write, Ping and Close on the connection then
// return the CloseError, which is ErrClosed too. The server echoes the
// code alone.
func TestCloseReasonOfPeer(t *testing.T) {
	want := CloseError{Code: 4001, Reason: "gone fishing ☃"}
	const wantText = `wss: closed by the peer: 4001 private: "gone fishing ☃"`
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		c := dialRaw(t, srv.addr).connect(sampleKey)
		conn, rec := srv.next(t)
		if err := conn.Err(); err != nil {
			t.Fatalf("Err of an open connection = %v, want nil", err)
		}
		c.send(closeFin, closePayload(want.Code, want.Reason))
		c.expect(serverClose(want.Code))
		rec.wantClose(t, want.Code)
		checkCloseError(t, "OnClose's Err", rec.err, want, wantText)
		checkCloseError(t, "Err", conn.Err(), want, wantText)
		checkCloseError(t, "Write", conn.Write([]byte("late"), Binary), want, wantText)
		checkCloseError(t, "Ping", conn.Ping(nil), want, wantText)
		checkCloseError(t, "Close", conn.Close(StatusNormalClosure, ""), want, wantText)
	})
	t.Run("client", func(t *testing.T) {
		c, sink := sinkClient(&Config{}, false)
		defer func() {
			c.drop(StatusConnLost)
			c.d.remove(c)
		}()
		c.feed(serverFrame(opClose, closePayload(want.Code, want.Reason)))
		f, _, err := parseClientFrame(sink.out.Bytes())
		if err != nil || f.op != byte(opClose) || string(f.payload) != string(closePayload(want.Code, "")) {
			t.Fatalf("client's answer % x: want a close frame with the code alone", sink.out.Bytes())
		}
		checkCloseError(t, "Err", c.Err(), want, wantText)
		checkCloseError(t, "Write", c.Write([]byte("late"), Text), want, wantText)
	})
}

// TestCloseErrorOfLocalCause: a connection that ended without the peer's
// close frame reports its negative status, with no reason.
func TestCloseErrorOfLocalCause(t *testing.T) {
	forEachMode(t, func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		c := dialRaw(t, srv.addr).connect(sampleKey)
		conn, rec := srv.next(t)
		c.nc.Close()
		rec.wantClose(t, StatusConnLost)
		checkCloseError(t, "OnClose's Err", rec.err, CloseError{Code: StatusConnLost}, "wss: connection closed: -1 connection lost")
		checkCloseError(t, "Write", conn.Write(nil, Binary), CloseError{Code: StatusConnLost}, "wss: connection closed: -1 connection lost")
	})
}

func checkCloseError(t *testing.T, what string, err error, want CloseError, text string) {
	t.Helper()
	var ce CloseError
	if !errors.As(err, &ce) || ce != want || !errors.Is(err, ErrClosed) || err.Error() != text {
		t.Errorf("%s: %v (%#v), want %#v with text %q, ErrClosed", what, err, err, want, text)
	}
}
