package wss

import (
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
)

type nopHandler struct{}

func (nopHandler) OnFrame(*Conn, []byte, bool) {}
func (nopHandler) OnClose(*Conn, int)          {}

// The live heap an idle connection costs the server, after a collection.
func TestIdleConnHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("opens thousands of sockets")
	}
	for _, m := range dispatcherModes() {
		t.Run(m.name, func(t *testing.T) {
			const n = 3000
			s := startLoopServer(t, m.cfg, nil, func() Handler { return nopHandler{} })
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			before := ms.HeapAlloc
			clients := make([]net.Conn, 0, n)
			for range n {
				rc := dialRaw(t, s.addr)
				clients = append(clients, rc.nc)
			}
			for s.d.Len() < n {
				runtime.Gosched()
			}
			runtime.GC()
			runtime.ReadMemStats(&ms)
			// The clients' side lives in this process too: subtract what a
			// client connection alone costs (net.Conn, bufio.Reader).
			perConn := float64(ms.HeapAlloc-before) / n
			t.Logf("%s: heap %.0f B per connection (both ends), %d goroutines", m.name, perConn, runtime.NumGoroutine())
			if p := os.Getenv("WSS_HEAPPROFILE"); p != "" {
				f, _ := os.Create(p + "." + m.name)
				pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
			_ = http.StatusOK
		})
	}
}
