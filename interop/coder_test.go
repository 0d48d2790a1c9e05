package interop

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wssgo/wss"
)

// TestInteropCoderClient runs the coder/websocket client, in both its
// compression modes, against our server with every server window size
// 8-15 and context takeover on and off in each direction.
func TestInteropCoderClient(t *testing.T) {
	msgs := testMessages()
	modes := map[string]websocket.CompressionMode{
		"context takeover":    websocket.CompressionContextTakeover,
		"no context takeover": websocket.CompressionNoContextTakeover,
	}
	for bits := 8; bits <= 15; bits++ {
		for _, nt := range [][2]bool{{false, false}, {true, true}, {true, false}, {false, true}} {
			cc := &wss.CompressionConfig{Threshold: -1, ServerMaxWindowBits: bits, ServerNoContextTakeover: nt[0], ClientNoContextTakeover: nt[1]}
			srv := echoServer(t, &wss.Config{Compression: cc})
			for mname, mode := range modes {
				name := fmt.Sprintf("bits=%d snt=%v cnt=%v coder %s", bits, nt[0], nt[1], mname)
				coderEcho(t, name, wsURL(srv), mode, msgs)
			}
		}
	}
}

func coderEcho(t *testing.T, name, url string, mode websocket.CompressionMode, msgs []wss.Message) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{CompressionMode: mode, CompressionThreshold: 1})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 24)
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext == "" {
		t.Fatalf("%s: compression not negotiated", name)
	}
	for i, m := range msgs {
		typ := websocket.MessageBinary
		if m.Text {
			typ = websocket.MessageText
		}
		if err := c.Write(ctx, typ, m.Data); err != nil {
			t.Fatalf("%s: write %d: %v", name, i, err)
		}
		gt, got, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("%s: read %d: %v", name, i, err)
		}
		if gt != typ || !bytes.Equal(got, m.Data) {
			t.Fatalf("%s: echo %d differs", name, i)
		}
	}
	if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatalf("%s: close: %v", name, err)
	}
}
