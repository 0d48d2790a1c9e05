package interop

// What newHandler decides, read by an independent client (gorilla): the
// 101's Set-Cookie, a refusal's status, fields and body, on both accept
// paths.

import (
	"context"
	"io"
	"net"
	"net/http"
	"runtime"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/wssgo/wss"
)

// acceptPaths are the two ways a wss server accepts: Dispatcher.Serve,
// whose event loops answer handshakes without net/http, and HTTPHandler
// under a Server from NewServer.
var acceptPaths = []struct {
	name string
	http bool
}{{"serve", false}, {"httphandler", true}}

// acceptOn serves newHandler on 127.0.0.1:0 with an event-loop Dispatcher,
// through Serve or HTTPHandler, and returns the address; all of it ends
// with the test.
func acceptOn(t *testing.T, viaHTTP bool, newHandler func(*wss.Request) (wss.Handler, error)) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("event loops need Linux")
	}
	d, err := wss.NewDispatcher(&wss.DispatcherConfig{Mode: wss.ModeEventLoop, Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := wss.NewServer("", wss.HTTPHandler(d, nil, newHandler), nil)
	served := make(chan struct{})
	go func() {
		defer close(served)
		if viaHTTP {
			_ = srv.Serve(ln)
		} else {
			_ = d.Serve(ln, nil, newHandler)
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

// authRefusal is a refusal with a status, a field and a body of its own.
var authRefusal = &wss.HandshakeError{
	StatusCode: http.StatusUnauthorized,
	Header:     http.Header{"Www-Authenticate": {`Basic realm="chat"`}},
	Body:       []byte("log in first\n"),
}

// echoConn echoes every message.
var echoConn = wss.HandlerFuncs{Frame: func(c *wss.Conn, data []byte, text bool) { _ = c.Write(data, text) }}

func TestInterop_GorillaReadsAcceptDecisions(t *testing.T) {
	for _, p := range acceptPaths {
		t.Run(p.name, func(t *testing.T) {
			checkGoroutines(t)
			addr := acceptOn(t, p.http, func(r *wss.Request) (wss.Handler, error) {
				if r.Header("Authorization") == "" {
					return nil, authRefusal
				}
				r.ResponseHeader().Set("Set-Cookie", "session=1; HttpOnly")
				return echoConn, nil
			})
			_, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/", nil)
			if err == nil {
				t.Fatal("gorilla connected without Authorization")
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 401 || resp.Header.Get("Www-Authenticate") != `Basic realm="chat"` ||
				string(body) != "log in first\n" {
				t.Errorf("refusal: got %d %v %q", resp.StatusCode, resp.Header, body)
			}

			ws, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/", http.Header{"Authorization": {"Basic eDp5"}})
			if err != nil {
				t.Fatal(err)
			}
			defer ws.Close()
			if got := resp.Header.Values("Set-Cookie"); len(got) != 1 || got[0] != "session=1; HttpOnly" {
				t.Errorf("Set-Cookie: %q", got)
			}
			if c := resp.Cookies(); len(c) != 1 || c[0].Name != "session" || c[0].Value != "1" || !c[0].HttpOnly {
				t.Errorf("cookies: %v", c)
			}
			if err := ws.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
				t.Fatal(err)
			}
			if _, m, err := ws.ReadMessage(); err != nil || string(m) != "hi" {
				t.Errorf("echo: %q, %v", m, err)
			}
		})
	}
}
