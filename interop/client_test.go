package interop

// Our client against independent servers, without compression: empty
// messages (and the other length edges) both ways, and an empty ping,
// from a client in each dispatcher mode.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	coder "github.com/coder/websocket"
	"github.com/gorilla/websocket"
	"github.com/wssgo/wss"
)

// gorillaEchoServer is an echo server built on gorilla/websocket.
func gorillaEchoServer(t *testing.T) string {
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		ws.SetReadLimit(1 << 24)
		for {
			typ, p, err := ws.ReadMessage()
			if err != nil || ws.WriteMessage(typ, p) != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return wsURL(srv)
}

// coderEchoServer is an echo server built on coder/websocket.
func coderEchoServer(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := coder.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(1 << 24)
		ctx := r.Context()
		for {
			typ, p, err := c.Read(ctx)
			if err != nil || c.Write(ctx, typ, p) != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return wsURL(srv)
}

// TestInteropOurClientEmptyMessages sends empty text and binary messages,
// an empty ping, and messages at each length edge from our client to
// independent echo servers (gorilla/websocket, coder/websocket, Node's ws,
// python3-websockets) and expects each back unchanged.
func TestInteropOurClientEmptyMessages(t *testing.T) {
	servers := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"gorilla", gorillaEchoServer},
		{"coder", coderEchoServer},
		{"node-ws", func(t *testing.T) string {
			needPeer(t, "/usr/share/nodejs/ws")
			return startPeerServer(t, "node", "testdata/ws_server.js")
		}},
		{"python-websockets", func(t *testing.T) string {
			needPeer(t, "/usr/bin/python3")
			return startPeerServer(t, "/usr/bin/python3", "testdata/websockets_server.py")
		}},
	}
	var msgs []wss.Message
	for _, n := range []int{0, 1, 125, 126, 0xFFFF, 0x10000, 0} { // empty again after the large ones
		msgs = append(msgs, wss.Message{Data: payloadOf(n, true), Text: true}, wss.Message{Data: payloadOf(n, false)})
	}
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			url := s.url(t)
			forEachMode(t, clientModes, func(t *testing.T, _ serverMode, d *wss.Dispatcher) {
				ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
				defer cancel()
				in := wss.NewInbox(len(msgs))
				c, err := wss.Dial(ctx, url, in, &wss.DialOptions{Dispatcher: d, Config: &wss.Config{MaxMessageSize: 1 << 24}})
				if err != nil {
					t.Fatal(err)
				}
				if err := c.Ping(nil); err != nil {
					t.Fatal(err)
				}
				for _, m := range msgs {
					if err := c.Write(m.Data, m.Text); err != nil {
						t.Fatal(err)
					}
				}
				for _, m := range msgs {
					wantMessage(t, in, m)
				}
				if err := c.Close(wss.StatusNormalClosure); err != nil {
					t.Fatal(err)
				}
				if _, err := in.Read(ctx); err == nil {
					t.Fatal("a message after the echoes")
				}
				if st, _ := in.Status(); st != wss.StatusNormalClosure {
					t.Fatalf("OnClose status %d, want %d", st, wss.StatusNormalClosure)
				}
			})
		})
	}
}
