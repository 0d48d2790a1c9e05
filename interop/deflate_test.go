package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wssgo/wss"
)

// combo is one set of permessage-deflate parameters, offered by a peer
// client or by ours. A window of 0 means "not given".
type combo struct {
	ID  int  `json:"id"`
	SNT bool `json:"snt"`
	CNT bool `json:"cnt"`
	SB  int  `json:"sb"`
	CB  int  `json:"cb"`
	// Host, when set, is a listener of its own served by Dispatcher.Serve
	// with this combination's settings; else the page's own server.
	Host string `json:"host,omitempty"`
}

// combos returns context takeover on and off in each direction with every
// window size from minBits to 15 (the same size both ways), and the
// defaults.
func combos(minBits int) []combo {
	var cs []combo
	for _, nt := range [][2]bool{{false, false}, {true, true}, {true, false}, {false, true}} {
		cs = append(cs, combo{SNT: nt[0], CNT: nt[1]})
		for b := minBits; b <= 15; b++ {
			cs = append(cs, combo{SNT: nt[0], CNT: nt[1], SB: b, CB: b})
		}
	}
	for i := range cs {
		cs[i].ID = i
	}
	return cs
}

// responseTo is what our server configured with cc answers to the combo's
// offer from a peer that always offers client_max_window_bits (bare when
// CB is 0), as Node's ws and Python's websockets do.
func (c combo) responseTo(cc *wss.CompressionConfig) string {
	return wantResponse(cc, offer{snt: c.SNT, cnt: c.CNT, sb: c.SB, cb: c.CB, cbAsked: true})
}

// keepClientWindow is a server configuration that leaves the client's
// window as offered, so that peers compress with every window size.
var keepClientWindow = &wss.CompressionConfig{Threshold: -1, ClientMaxWindowBits: 15}

func (c combo) config() *wss.CompressionConfig {
	return &wss.CompressionConfig{Threshold: -1, ServerNoContextTakeover: c.SNT, ClientNoContextTakeover: c.CNT,
		ServerMaxWindowBits: c.SB, ClientMaxWindowBits: c.CB}
}

type peerResult struct {
	ID  int    `json:"id"`
	Ext string `json:"ext"`
	OK  bool   `json:"ok"`
	Err string `json:"err"`
}

// runPeerClient runs a peer client over cs against our compressing echo
// server and checks that every combination negotiated what our server
// answers and echoed every message.
func runPeerClient(t *testing.T, cs []combo, cc *wss.CompressionConfig, name string, args ...string) {
	srv := echoServer(t, &wss.Config{MaxMessageSize: 1 << 24, Compression: cc})
	js, _ := json.Marshal(cs)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, append(args, wsURL(srv), string(js))...)
	cmd.Env = append(os.Environ(), "NODE_PATH=/usr/share/nodejs")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	seen := 0
	for line := range strings.Lines(string(out)) {
		var r peerResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("peer output %q: %v", line, err)
		}
		c := cs[r.ID]
		switch {
		case !r.OK:
			t.Errorf("%+v: %s", c, r.Err)
		case r.Ext != c.responseTo(cc):
			t.Errorf("%+v: negotiated %q, want %q", c, r.Ext, c.responseTo(cc))
		}
		seen++
	}
	if seen != len(cs) {
		t.Fatalf("peer reported %d of %d combinations", seen, len(cs))
	}
}

// startPeerServer runs a peer echo server that prints its port, and
// returns its ws:// URL; the server ends with the test.
func startPeerServer(t *testing.T, name string, args ...string) string {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "NODE_PATH=/usr/share/nodejs")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	})
	port, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("%s did not start: %v", name, err)
	}
	return "ws://127.0.0.1:" + strings.TrimSpace(port) + "/"
}

// runOurClient dials a peer server with every combination and checks the
// server's answer to our offer and the echoes.
func runOurClient(t *testing.T, url string, cs []combo) {
	msgs := testMessages()
	for _, c := range cs {
		echoRoundTrips(t, fmt.Sprintf("%+v", c), url, c.config(), msgs)
	}
}

// Python's zlib cannot compress with a 256-byte window, so the Python
// peer's own window starts at 9 bits; our side is tested at 8 through the
// other peers and through Python's decompressor below.

func TestInteropPythonClient(t *testing.T) {
	needPeer(t, "/usr/bin/python3")
	cs := combos(9)
	for b := 9; b <= 15; b++ { // window 8 on our side only
		cs = append(cs, combo{ID: len(cs), SB: 8, CB: b}, combo{ID: len(cs) + 1, SNT: true, CNT: true, SB: 8, CB: b})
	}
	runPeerClient(t, cs, keepClientWindow, "/usr/bin/python3", "testdata/websockets_client.py")
	runPeerClient(t, combos(15), &wss.CompressionConfig{Threshold: -1}, "/usr/bin/python3", "testdata/websockets_client.py")
}

func TestInteropPythonServer(t *testing.T) {
	needPeer(t, "/usr/bin/python3")
	url := startPeerServer(t, "/usr/bin/python3", "testdata/websockets_server.py")
	cs := combos(9)
	for b := 9; b <= 15; b++ {
		cs = append(cs, combo{SB: b, CB: 0}) // our client window left to the server
	}
	runOurClient(t, url, cs)
}

func TestInteropNodeClient(t *testing.T) {
	needPeer(t, "/usr/share/nodejs/ws")
	runPeerClient(t, combos(8), keepClientWindow, "node", "testdata/ws_client.js")
	runPeerClient(t, combos(8), &wss.CompressionConfig{Threshold: -1}, "node", "testdata/ws_client.js")
}

// TestInteropNodeClientSendContext varies how much of its own past
// messages the server refers back to, down to none, under context
// takeover: RFC 7692 lets a sender refer to less than its window, and the
// peer must not notice.
func TestInteropNodeClientSendContext(t *testing.T) {
	needPeer(t, "/usr/share/nodejs/ws")
	for _, n := range []int{-1, 1, 300, 8 << 10} { // 8 KiB: the most SendContext keeps
		runPeerClient(t, combos(15), &wss.CompressionConfig{Threshold: -1, SendContext: n}, "node", "testdata/ws_client.js")
	}
}

func TestInteropNodeServer(t *testing.T) {
	needPeer(t, "/usr/share/nodejs/ws")
	url := startPeerServer(t, "node", "testdata/ws_server.js")
	runOurClient(t, url, combos(8))
}
