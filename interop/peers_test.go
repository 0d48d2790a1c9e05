package interop

// Interoperability with independent WebSocket implementations over real
// sockets: the gorilla/websocket client in process, Node's ws and
// python3-websockets as child processes. Each drives the same cases: text
// and binary messages from 0 B to 16 MiB, fragmented messages, pings both
// ways, and close codes both ways.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/wssgo/wss"
)

// interopSizes are the message sizes each peer sends, in both types: every
// length encoding and its edges, up to the default MaxMessageSize (16 MiB).
var interopSizes = []int{0, 1, 125, 126, 0xFFFF, 0x10000, 1 << 20, 16 << 20}

// interopCases are the names the peer scripts print after each passed case.
func interopCases() []string {
	var names []string
	for _, n := range interopSizes {
		names = append(names, "text "+strconv.Itoa(n), "binary "+strconv.Itoa(n))
	}
	return append(names, "text unicode", "fragmented text", "fragmented binary",
		"client ping", "server ping", "client close", "server close")
}

// interopFrame is the server side of the interop cases: echo, except for
// commands that make the server ping or close.
func interopFrame(c *wss.Conn, data []byte, typ wss.MessageType) {
	if typ == wss.Text && bytes.HasPrefix(data, []byte("cmd:")) {
		switch cmd := string(data[4:]); {
		case strings.HasPrefix(cmd, "ping:"):
			_ = c.Ping([]byte(cmd[5:]))
			_ = c.Write([]byte("pinged"), wss.Text)
		case strings.HasPrefix(cmd, "close:"):
			code, _ := strconv.Atoi(cmd[6:])
			_ = c.Close(wss.StatusCode(code), "")
		}
		return
	}
	_ = c.Write(data, typ)
}

// checkInteropCloses checks the server side of the two connections every
// peer opens: the first closed by the client with 4000, the second by the
// server with 4001, each answered by the other side.
func checkInteropCloses(t *testing.T, srv *testServer) {
	t.Helper()
	first := srv.next(t)
	second := srv.next(t)
	first.wantClose(t, 4000)
	second.wantClose(t, 4001)
}

func TestInterop_Gorilla(t *testing.T) {
	forEachMode(t, serverModes, func(t *testing.T, m serverMode, d *wss.Dispatcher) {
		srv := startServer(t, m, d, interopFrame)
		url := "ws://" + srv.addr + "/"
		// A write buffer of 64 KiB sends larger messages as fragments of
		// that size; smaller ones go as single frames.
		dialer := websocket.Dialer{WriteBufferSize: 64 << 10, HandshakeTimeout: testTimeout}
		ws, resp, err := dialer.Dial(url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		defer ws.Close()

		echo := func(name string, typ int, p []byte) {
			t.Helper()
			// 16 MiB under -race on a loaded machine takes a while.
			_ = ws.SetReadDeadline(time.Now().Add(6 * testTimeout))
			if err := ws.WriteMessage(typ, p); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			gt, got, err := ws.ReadMessage()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if gt != typ || !bytes.Equal(got, p) {
				t.Fatalf("%s: got type %d, %d bytes; sent type %d, %d bytes", name, gt, len(got), typ, len(p))
			}
		}
		for _, n := range interopSizes {
			echo("text "+strconv.Itoa(n), websocket.TextMessage, payloadOf(n, wss.Text))
			echo("binary "+strconv.Itoa(n), websocket.BinaryMessage, payloadOf(n, wss.Binary))
		}
		echo("text unicode", websocket.TextMessage, []byte("héllo wörld € 𝄞"))

		// Fragments: gorilla flushes a frame each time its buffer fills.
		small := websocket.Dialer{WriteBufferSize: 1024, HandshakeTimeout: testTimeout}
		ws2, resp, err := small.Dial(url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		text := bytes.Repeat([]byte("fragmented € message "), 300)
		for _, m := range []struct {
			typ int
			p   []byte
		}{{websocket.TextMessage, text}, {websocket.BinaryMessage, payloadOf(100_000, wss.Binary)}} {
			if err := ws2.WriteMessage(m.typ, m.p); err != nil {
				t.Fatal(err)
			}
			typ, got, err := ws2.ReadMessage()
			if err != nil || typ != m.typ || !bytes.Equal(got, m.p) {
				t.Fatalf("fragmented message: type %d, %d bytes, %v", typ, len(got), err)
			}
		}
		ws2.Close()

		pongs := make(chan string, 1)
		ws.SetPongHandler(func(data string) error { pongs <- data; return nil })
		pings := make(chan string, 1)
		ws.SetPingHandler(func(data string) error {
			pings <- data
			return ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(testTimeout))
		})
		if err := ws.WriteControl(websocket.PingMessage, []byte("hello-ping"), time.Now().Add(testTimeout)); err != nil {
			t.Fatal(err)
		}
		echo("after client ping", websocket.TextMessage, []byte("after"))
		select {
		case p := <-pongs:
			if p != "hello-ping" {
				t.Errorf("pong payload %q", p)
			}
		default:
			t.Errorf("no pong before the next message")
		}
		if err := ws.WriteMessage(websocket.TextMessage, []byte("cmd:ping:srv")); err != nil {
			t.Fatal(err)
		}
		if _, got, err := ws.ReadMessage(); err != nil || string(got) != "pinged" {
			t.Fatalf("after server ping: %q, %v", got, err)
		}
		select {
		case p := <-pings:
			if p != "srv" {
				t.Errorf("ping payload %q", p)
			}
		default:
			t.Errorf("no ping before the reply")
		}

		// Client closes with 4000; the server answers with 4000.
		if err := ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4000, "bye"), time.Now().Add(testTimeout)); err != nil {
			t.Fatal(err)
		}
		_, _, err = ws.ReadMessage()
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4000 {
			t.Errorf("client close answered with %v", err)
		}

		// The server closes with 4001.
		ws3, resp, err := dialer.Dial(url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		defer ws3.Close()
		_ = ws3.SetReadDeadline(time.Now().Add(testTimeout))
		if err := ws3.WriteMessage(websocket.TextMessage, []byte("cmd:close:4001")); err != nil {
			t.Fatal(err)
		}
		_, _, err = ws3.ReadMessage()
		if !errors.As(err, &ce) || ce.Code != 4001 {
			t.Errorf("server close read as %v", err)
		}

		// Connections: big echo, fragments (closed by TCP), client close,
		// server close.
		first := srv.next(t)
		frag := srv.next(t)
		third := srv.next(t)
		frag.wantClose(t, wss.StatusConnLost)
		first.wantClose(t, 4000)
		third.wantClose(t, 4001)
	})
}

func TestInterop_NodeWS(t *testing.T) {
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat("/usr/share/nodejs/ws/package.json")
	}
	requireTool(t, "Node's ws (Debian packages nodejs, node-ws)", err)
	forEachMode(t, serverModes, func(t *testing.T, m serverMode, d *wss.Dispatcher) {
		srv := startServer(t, m, d, interopFrame)
		runPeer(t, []string{"NODE_PATH=/usr/share/nodejs"}, node, "testdata/client.js", "ws://"+srv.addr+"/")
		checkInteropCloses(t, srv)
	})
}

func TestInterop_PythonWebsockets(t *testing.T) {
	const python = "/usr/bin/python3"
	err := exec.Command(python, "-c", "import websockets").Run()
	requireTool(t, "python3-websockets", err)
	forEachMode(t, serverModes, func(t *testing.T, m serverMode, d *wss.Dispatcher) {
		srv := startServer(t, m, d, interopFrame)
		runPeer(t, nil, python, "testdata/client.py", "ws://"+srv.addr+"/")
		checkInteropCloses(t, srv)
	})
}

// runPeer runs a peer script against url with the interop sizes and
// checks it passed every case.
func runPeer(t *testing.T, env []string, prog, script, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := []string{filepath.FromSlash(script), url}
	for _, n := range interopSizes {
		args = append(args, strconv.Itoa(n))
	}
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v after %v\n%s", script, err, time.Since(start).Round(time.Millisecond), out)
	}
	got := make(map[string]bool)
	for _, line := range strings.Split(string(out), "\n") {
		if name, ok := strings.CutPrefix(line, "ok "); ok {
			got[name] = true
		}
	}
	for _, name := range interopCases() {
		if !got[name] {
			t.Errorf("%s did not pass %q", script, name)
		}
	}
	if !strings.Contains(string(out), "\ndone\n") {
		t.Errorf("%s did not finish:\n%s", script, out)
	}
}
