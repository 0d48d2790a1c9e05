package wss

// What newHandler decides, read by an independent client (gorilla): the
// 101's Set-Cookie, a refusal's status, fields and body, on both accept
// paths.

import (
	"io"
	"net/http"
	"testing"

	"github.com/gorilla/websocket"
)

func TestInterop_GorillaReadsAcceptDecisions(t *testing.T) {
	for _, p := range acceptPaths {
		t.Run(p.name, func(t *testing.T) {
			addr := acceptOn(t, p.http, nil, func(r *Request) (Handler, error) {
				if r.Header("Authorization") == "" {
					return nil, authRefusal
				}
				r.ResponseHeader().Set("Set-Cookie", "session=1; HttpOnly")
				return newEcho(r)
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
