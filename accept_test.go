package wss

// What newHandler decides, on both accept paths: the 101's extra fields, a
// refusal written as the answer, a Config per request.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// acceptPaths are the two ways a server accepts: Dispatcher.Serve, whose
// event loops read and answer handshakes without net/http, and
// HTTPHandler under a Server from NewServer.
var acceptPaths = []struct {
	name string
	http bool
}{{"serve", false}, {"httphandler", true}}

// acceptOn serves newHandler with cfg on 127.0.0.1:0 on an event-loop
// Dispatcher, through Serve or HTTPHandler, and returns the address; all of
// it ends with the test.
func acceptOn(t *testing.T, viaHTTP bool, cfg *Config, newHandler func(*Request) (Handler, error)) string {
	t.Helper()
	if !eventLoopSupported {
		t.Skip("no event loops on this system")
	}
	checkGoroutines(t)
	d, err := NewDispatcher(&DispatcherConfig{Mode: ModeEventLoop, Loops: 2})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	srv := NewServer("", HTTPHandler(d, cfg, newHandler), cfg)
	go func() {
		defer close(served)
		if viaHTTP {
			_ = srv.Serve(ln)
		} else {
			_ = d.Serve(ln, cfg, newHandler)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		srv.Close()
		<-served
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return ln.Addr().String()
}

// readRefusal reads an HTTP response from c, with its body.
func readRefusal(t *testing.T, c *rawClient) (*http.Response, []byte) {
	t.Helper()
	c.deadline()
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp, body
}

// RFC 6455 section 4.2.2 item 5 lets the 101 carry other fields (Set-Cookie,
// RFC 6265): ResponseHeader's go out after the handshake's own, in the order
// of their names, the handshake's own fields cannot be forged, a name that
// is not a token is left out, and a CR or LF cannot end a field.
func TestAccept_101CarriesResponseHeader(t *testing.T) {
	for _, p := range acceptPaths {
		t.Run(p.name, func(t *testing.T) {
			addr := acceptOn(t, p.http, nil, func(r *Request) (Handler, error) {
				h := r.ResponseHeader()
				h.Add("Set-Cookie", "session=1; HttpOnly")
				h.Add("Set-Cookie", "theme=dark")
				h.Set("Sec-WebSocket-Protocol", "forged")
				h.Set("Connection", "close")
				h.Set("X-Note", "a\r\nX-Injected: 1")
				h["bad name"] = []string{"x"}
				return newEcho(r)
			})
			c := dialRaw(t, addr)
			c.write(validRequest(addr).bytes())
			c.expect([]byte(strings.TrimSuffix(acceptResponse, "\r\n") +
				"Set-Cookie: session=1; HttpOnly\r\nSet-Cookie: theme=dark\r\nX-Note: a  X-Injected: 1\r\n\r\n"))
			c.send(textFin, []byte("open"))
			c.expect(serverFrame(opText, []byte("open")))
		})
	}
}

// authRefusal is a refusal with a status, a field and a body of its own.
var authRefusal = &HandshakeError{
	StatusCode: http.StatusUnauthorized,
	Header:     http.Header{"Www-Authenticate": {`Basic realm="chat"`}},
	Body:       []byte("log in first\n"),
}

// A newHandler refuses with any status, fields and body (RFC 6455 section
// 4.2.2: "the server MAY ... send back an appropriate HTTP status code"):
// on Serve's loops exactly these bytes, in one answer, and the connection
// closed; through net/http the same status, fields and body (and Date).
func TestAccept_RefusalIsTheAnswer(t *testing.T) {
	const want = "HTTP/1.1 401 Unauthorized\r\n" +
		"Www-Authenticate: Basic realm=\"chat\"\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Connection: close\r\n" +
		"Content-Length: 13\r\n" +
		"\r\n" +
		"log in first\n"
	for _, p := range acceptPaths {
		t.Run(p.name, func(t *testing.T) {
			addr := acceptOn(t, p.http, nil, func(r *Request) (Handler, error) {
				if r.Header("Authorization") == "" {
					return nil, authRefusal
				}
				return newEcho(r)
			})
			c := dialRaw(t, addr)
			c.write(validRequest(addr).bytes())
			if !p.http {
				c.expect([]byte(want))
				c.expectEOF()
				return
			}
			resp, body := readRefusal(t, c)
			if resp.StatusCode != 401 || string(body) != "log in first\n" {
				t.Fatalf("got %d %q, want 401 %q", resp.StatusCode, body, "log in first\n")
			}
			if !resp.Close {
				t.Error("no Connection: close")
			}
			wantFields := map[string]string{"Www-Authenticate": `Basic realm="chat"`,
				"Content-Type": "text/plain; charset=utf-8", "Content-Length": "13"}
			for name := range resp.Header {
				if w, ok := wantFields[name]; (!ok && name != "Date") || ok && resp.Header.Get(name) != w {
					t.Errorf("field %s: %q, want %q", name, resp.Header[name], w)
				}
			}
			if len(resp.Header) != len(wantFields)+1 {
				t.Errorf("fields %v, want %v and Date", resp.Header, wantFields)
			}
			c.expectEOF()
		})
	}
}

// Dial reads a refusal as the server wrote it: its status, fields and body.
func TestAccept_RefusalReadByDial(t *testing.T) {
	for _, p := range acceptPaths {
		t.Run(p.name, func(t *testing.T) {
			addr := acceptOn(t, p.http, nil, func(*Request) (Handler, error) {
				return nil, fmt.Errorf("no session: %w", authRefusal)
			})
			_, err := Dial(context.Background(), "ws://"+addr+"/", newRecorder(nil), nil)
			var he *HandshakeError
			if !errors.As(err, &he) || !errors.Is(err, ErrHandshake) {
				t.Fatalf("Dial: %v, want a *HandshakeError", err)
			}
			if he.StatusCode != 401 || he.Header.Get("Www-Authenticate") != `Basic realm="chat"` ||
				string(he.Body) != "log in first\n" {
				t.Errorf("got %d %v %q", he.StatusCode, he.Header, he.Body)
			}
		})
	}
}

// What else a newHandler may return: an error that is not a refusal
// answers 500 without its text; a refusal with a status no refusal may
// have (1xx, 2xx, 304) answers 500 too; a body is cut at the KiB a Dial
// client keeps; a refusal without a body has no Content-Type; a nil
// Handler is 403.
func TestAccept_RefusalStatuses(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 2000)
	cases := []struct {
		name   string
		err    error
		status int
		body   string
	}{
		{"plain error", errors.New("database down"), 500, "wss: internal server error\n"},
		{"status 101", &HandshakeError{StatusCode: 101}, 500, "wss: internal server error\n"},
		{"status 200", &HandshakeError{StatusCode: 200, Body: []byte("ok")}, 500, "wss: internal server error\n"},
		{"status 304", &HandshakeError{StatusCode: 304}, 500, "wss: internal server error\n"},
		{"long body", &HandshakeError{StatusCode: 503, Body: long}, 503, string(long[:1024])},
		{"no body", &HandshakeError{StatusCode: 403}, 403, ""},
		{"redirect", &HandshakeError{StatusCode: 302, Header: http.Header{"Location": {"/login"}}}, 302, ""},
		{"unknown status", &HandshakeError{StatusCode: 499}, 499, ""},
		{"nil handler", nil, 403, "wss: forbidden\n"},
	}
	errs := make(map[string]error)
	for _, tc := range cases {
		errs[tc.name] = tc.err
	}
	for _, p := range acceptPaths {
		t.Run(p.name, func(t *testing.T) {
			addr := acceptOn(t, p.http, nil, func(r *Request) (Handler, error) {
				return nil, errs[r.Header("X-Case")]
			})
			for _, tc := range cases {
				c := dialRaw(t, addr)
				c.write(validRequest(addr).set("X-Case", tc.name).bytes())
				resp, body := readRefusal(t, c)
				if resp.StatusCode != tc.status || string(body) != tc.body {
					t.Errorf("%s: got %d %q, want %d %q", tc.name, resp.StatusCode, trim(body), tc.status, trim([]byte(tc.body)))
				}
				if strings.Contains(string(body), "database") {
					t.Errorf("%s: the body shows the error: %q", tc.name, body)
				}
				if tc.body == "" && resp.Header.Get("Content-Type") != "" {
					t.Errorf("%s: Content-Type %q without a body", tc.name, resp.Header.Get("Content-Type"))
				}
				if tc.name == "redirect" && resp.Header.Get("Location") != "/login" {
					t.Errorf("redirect: Location %q", resp.Header.Get("Location"))
				}
				c.nc.Close()
			}
		})
	}
}

// A Config per request (Request.SetConfig): one client gets a 64-byte
// MaxMessageSize and is closed with 1009 (RFC 6455 section 7.4.1) by a
// 65-byte message; another, with the listener's Config, is not.
func TestAccept_RequestConfig(t *testing.T) {
	small := &Config{MaxMessageSize: 64}
	for _, p := range acceptPaths {
		t.Run(p.name, func(t *testing.T) {
			addr := acceptOn(t, p.http, nil, func(r *Request) (Handler, error) {
				if r.Header("X-Tier") == "small" {
					r.SetConfig(small)
				}
				return newEcho(r)
			})
			cd, err := NewDispatcher(&DispatcherConfig{Mode: ModeEventLoop, Loops: 1})
			if err != nil {
				t.Fatal(err)
			}
			closeDispatcher(t, cd)
			dial := func(tier string) (*Conn, *recorder) {
				rec := newRecorder(func(*Conn, []byte, bool) {})
				c, err := Dial(context.Background(), "ws://"+addr+"/", rec,
					&DialOptions{Dispatcher: cd, Header: http.Header{"X-Tier": {tier}}})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close(StatusNormalClosure); rec.waitClose(t) })
				return c, rec
			}
			smallC, smallRec := dial("small")
			bigC, bigRec := dial("default")
			at, past := bytes.Repeat([]byte("a"), 64), bytes.Repeat([]byte("b"), 65)
			for _, w := range []struct {
				c   *Conn
				rec *recorder
				msg []byte
			}{{smallC, smallRec, at}, {bigC, bigRec, past}} {
				if err := w.c.Write(w.msg, true); err != nil {
					t.Fatal(err)
				}
				if m := w.rec.nextMessage(t); !bytes.Equal(m.data, w.msg) {
					t.Errorf("echo of %d bytes: got %d", len(w.msg), len(m.data))
				}
			}
			if err := smallC.Write(past, true); err != nil {
				t.Fatal(err)
			}
			smallRec.wantClose(t, StatusMessageTooBig)
		})
	}
}
