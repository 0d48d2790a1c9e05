//go:build unix

package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/wssgo/wss"
)

// TestInteropChromium drives headless Chromium with a page that echoes
// messages over one connection per combination: the server answers
// Chromium's offer ("permessage-deflate; client_max_window_bits") with
// every window size 8-15 on both sides and context takeover on and off in
// each direction. The page reports back over HTTP. The last combinations
// (the four takeover settings) go to listeners served by Dispatcher.Serve,
// so that the event loops parse a browser's own handshake, Origin from
// another port included.
func TestInteropChromium(t *testing.T) {
	const chromium = "/usr/bin/chromium"
	needPeer(t, chromium)
	cs := combos(8)
	results := make(chan []peerResult, 1)
	d, err := wss.NewDispatcher(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	echo := echoHandler
	for _, nt := range [][2]bool{{false, false}, {true, true}, {true, false}, {false, true}} {
		c := combo{ID: len(cs), SNT: nt[0], CNT: nt[1]}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		cfg := &wss.Config{MaxMessageSize: 1 << 24, Compression: c.config(), OriginPatterns: []string{"127.0.0.1:*"}}
		// The page's query, as URLSearchParams writes it.
		target := fmt.Sprintf("/ws?sb=0&cb=0&snt=%t&cnt=%t", c.SNT, c.CNT)
		go d.Serve(ln, cfg, func(r *wss.Request) (wss.Handler, error) {
			if r.Target() != target {
				return nil, nil // refused: the combination's page would report it
			}
			return echo, nil
		})
		c.Host = ln.Addr().String()
		cs = append(cs, c)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, "testdata/chromium.html")
	})
	mux.HandleFunc("/combos", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(cs)
	})
	mux.Handle("/ws", wss.HTTPHandler(d, nil, func(r *wss.Request) (wss.Handler, error) {
		hr, _ := r.HTTP()
		q := hr.URL.Query()
		sb, _ := strconv.Atoi(q.Get("sb"))
		cb, _ := strconv.Atoi(q.Get("cb"))
		c := combo{SNT: q.Get("snt") == "true", CNT: q.Get("cnt") == "true", SB: sb, CB: cb}
		r.SetConfig(&wss.Config{MaxMessageSize: 1 << 24, Compression: c.config()})
		return echo, nil
	}))
	mux.HandleFunc("/result", func(w http.ResponseWriter, r *http.Request) {
		var rs []peerResult
		if err := json.NewDecoder(r.Body).Decode(&rs); err != nil {
			t.Errorf("result: %v", err)
		}
		results <- rs
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir="+t.TempDir(), srv.URL+"/")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the browser's own process group
		_ = cmd.Wait()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var rs []peerResult
	select {
	case rs = <-results:
	case <-ctx.Done():
		t.Fatal("Chromium did not report")
	}
	if len(rs) != len(cs) {
		t.Fatalf("Chromium reported %d of %d combinations", len(rs), len(cs))
	}
	chromiumOffer := offer{cbAsked: true} // "permessage-deflate; client_max_window_bits"
	for _, r := range rs {
		c := cs[r.ID]
		want := wantResponse(c.config(), chromiumOffer)
		switch {
		case !r.OK:
			t.Errorf("%+v: %s", c, r.Err)
		case r.Ext != want:
			t.Errorf("%+v: negotiated %q, want %q", c, r.Ext, want)
		}
	}
}
