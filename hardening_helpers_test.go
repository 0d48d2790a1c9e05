package wss

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// The helpers of the hardening tests, which run testServer with one
// closeLog for rawClient to play a slow, silent or hostile peer.

// closeLog is a Handler that records each connection's OnClose status.
type closeLog struct {
	mu       sync.Mutex
	statuses []StatusCode
	closed   chan StatusCode // each OnClose status, in order
	onFrame  func(c *Conn, data []byte, typ MessageType)
	onOpen   chan *Conn
}

func newCloseLog() *closeLog {
	return &closeLog{closed: make(chan StatusCode, 20000), onOpen: make(chan *Conn, 20000)}
}

func (l *closeLog) OnFrame(c *Conn, data []byte, typ MessageType) {
	if l.onFrame != nil {
		l.onFrame(c, data, typ)
	}
}

func (l *closeLog) OnOpen(c *Conn) { l.onOpen <- c }

func (l *closeLog) OnClose(c *Conn, status StatusCode) {
	l.mu.Lock()
	l.statuses = append(l.statuses, status)
	l.mu.Unlock()
	l.closed <- status
}

// wait returns the next OnClose status, failing after a generous bound.
func (l *closeLog) wait(t testing.TB) StatusCode {
	t.Helper()
	select {
	case s := <-l.closed:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("OnClose was not called")
		return 0
	}
}

// modeConfig returns a copy of a mode's DispatcherConfig (see dispatcherModes).
func modeConfig(c DispatcherConfig) *DispatcherConfig { return &c }

// wssGoroutines lists the stacks of goroutines running this package's
// non-test code that are not in base (goroutines() taken earlier).
func wssGoroutines(base map[string]string) []string {
	var found []string
	for id, g := range goroutines() {
		if _, old := base[id]; old {
			continue
		}
		if strings.Contains(g, "github.com/wssgo/wss.") && !strings.Contains(g, "_test.go") {
			found = append(found, g)
		}
	}
	return found
}

// openFDs counts this process's open file descriptors.
func openFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors: %v", err)
	}
	return len(ents)
}

// assertNoWSSLeft fails if a goroutine of this package started since the
// server did is still running. A goroutine that has signalled its end may
// still be returning, which nothing can wait for: it gets a bounded moment
// to go.
func (ts *testServer) assertNoWSSLeft(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		gs := wssGoroutines(ts.base)
		if len(gs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines of wss remain, the first:\n%s", len(gs), gs[0])
		}
		time.Sleep(time.Millisecond) // polling a bounded wait, not synchronisation
	}
}
