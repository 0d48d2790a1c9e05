package prometheus

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wssgo/wss"
)

// A server's Metrics, scraped over HTTP, count exactly what happened: two
// connections opened and closed with 1000, one refused at MaxConnections,
// three messages of 5 bytes each way, nothing left queued.
func TestScrapeCountsConnectionsAndMessages(t *testing.T) {
	for _, mode := range []wss.Mode{wss.ModeGoroutine, wss.ModeEventLoop} {
		t.Run(map[wss.Mode]string{wss.ModeGoroutine: "goroutine", wss.ModeEventLoop: "eventloop"}[mode], func(t *testing.T) {
			m := New("")
			reg := prom.NewRegistry()
			reg.MustRegister(m)
			d, err := wss.NewDispatcher(&wss.DispatcherConfig{Mode: mode, MaxConnections: 2, Observer: m.Observer()})
			if errors.Is(err, wss.ErrNoEventLoop) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			closed := make(chan wss.StatusCode, 2)
			served := make(chan struct{})
			go func() {
				defer close(served)
				_ = d.Serve(ln, nil, func(*wss.Request) (wss.Handler, error) {
					return wss.HandlerFuncs{
						Frame: func(c *wss.Conn, data []byte, typ wss.MessageType) { _ = c.Write(data, typ) },
						Close: func(_ *wss.Conn, status wss.StatusCode) { closed <- status },
					}, nil
				})
			}()
			defer func() { ln.Close(); <-served }()

			url := "ws://" + ln.Addr().String() + "/"
			echoes := make(chan string, 3)
			h := wss.HandlerFuncs{Frame: func(_ *wss.Conn, data []byte, _ wss.MessageType) { echoes <- string(data) }}
			var conns []*wss.Conn
			for range 2 {
				c, err := wss.Dial(context.Background(), url, h, nil)
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c)
			}
			var he *wss.HandshakeError
			if _, err := wss.Dial(context.Background(), url, h, nil); !errors.As(err, &he) || he.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("third Dial: %v, want 503", err)
			}
			for _, msg := range []string{"one..", "two..", "three"} {
				if err := conns[0].Write([]byte(msg), wss.Text); err != nil {
					t.Fatal(err)
				}
				if got := waitFor(t, echoes); got != msg {
					t.Fatalf("echo %q, want %q", got, msg)
				}
			}
			for _, c := range conns {
				_ = c.Close(wss.StatusNormalClosure, "")
				waitFor(t, closed)
			}

			scrape := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
			defer scrape.Close()
			resp, err := http.Get(scrape.URL)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{
				"wss_connections_opened_total 2",
				"wss_connections_open 0",
				`wss_connections_refused_total{reason="limit"} 1`,
				`wss_connections_closed_total{status="1000"} 2`,
				"wss_messages_received_total 3",
				"wss_received_bytes_total 15",
				"wss_messages_sent_total 3",
				"wss_sent_bytes_total 15",
				"wss_queued_bytes 0",
			} {
				if !hasLine(string(body), want) {
					t.Errorf("scrape lacks %q:\n%s", want, body)
				}
			}
			if strings.Contains(string(body), "wss_timeouts_total{") {
				t.Errorf("scrape counts timeouts, there were none:\n%s", body)
			}
		})
	}
}

func hasLine(text, line string) bool {
	for l := range strings.SplitSeq(text, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

func waitFor[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("nothing within 10 s")
		panic("unreachable")
	}
}

// Each negative status has a name as its label, and timeouts a kind.
func TestStatusLabels(t *testing.T) {
	for _, c := range []struct {
		status      wss.StatusCode
		label, kind string
	}{
		{wss.StatusNormalClosure, "1000", ""},
		{4000, "4000", ""},
		{wss.StatusConnLost, "conn_lost", ""},
		{wss.StatusPongTimeout, "pong_timeout", "pong"},
		{wss.StatusWriteTimeout, "write_timeout", "write"},
		{wss.StatusCloseTimeout, "close_timeout", "close"},
		{wss.StatusIdleTimeout, "idle_timeout", "idle"},
		{wss.StatusShutdown, "shutdown", ""},
	} {
		if got := statusLabel(c.status); got != c.label {
			t.Errorf("statusLabel(%d) = %q, want %q", c.status, got, c.label)
		}
		if got := timeoutKind(c.status); got != c.kind {
			t.Errorf("timeoutKind(%d) = %q, want %q", c.status, got, c.kind)
		}
	}
}
