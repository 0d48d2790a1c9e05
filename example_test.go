package wss_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/wssgo/wss"
)

// chat is a Handler: one call per complete message, one OnClose per
// connection.
type chat struct{}

func (chat) OnFrame(c *wss.Conn, data []byte, typ wss.MessageType) {
	// data is valid only during the call; Write does not keep it.
	if err := c.Write(data, typ); err != nil {
		log.Print(err)
	}
}

func (chat) OnClose(c *wss.Conn, status wss.StatusCode) {
	// status > 0: the peer's close code (1005 if it sent none);
	// status < 0: the connection dropped (wss.StatusConnLost, ...).
	log.Printf("%v closed: %v", c.RemoteAddr(), status) // "1000 normal closure", "-5 write timeout"
}

func ExampleHTTPHandler() {
	d, err := wss.NewDispatcher(nil)
	if err != nil {
		log.Fatal(err)
	}
	h := wss.HTTPHandler(d, nil, func(r *http.Request) wss.Handler { return chat{} })
	http.Handle("/ws", h)
	// log.Fatal(http.ListenAndServe("127.0.0.1:9001", nil))
}

func ExampleHandlerFuncs() {
	h := wss.HandlerFuncs{
		Frame: func(c *wss.Conn, data []byte, typ wss.MessageType) { _ = c.Write(data, typ) },
		Close: func(c *wss.Conn, status wss.StatusCode) { log.Print("closed: ", status) },
	}
	_ = wss.HTTPHandler(nil, &wss.Config{MaxMessageSize: 1 << 20}, func(*http.Request) wss.Handler { return h })
}

// A server that speaks only WebSocket on its port: the event loops read and
// answer the handshakes, and newHandler routes by the request's target.
func ExampleDispatcher_Serve() {
	d, err := wss.NewDispatcher(nil)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go d.Serve(ln, nil, func(r *wss.Request) wss.Handler {
		if r.Target() != "/echo" {
			return nil // refused with 403
		}
		return chat{}
	})

	in := wss.NewInbox(1)
	c, err := wss.Dial(context.Background(), "ws://"+ln.Addr().String()+"/echo", in, nil)
	if err != nil {
		log.Fatal(err)
	}
	_ = c.Write([]byte("hello"), wss.Text)
	m, err := in.Read(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", m.Data)
	_, err = wss.Dial(context.Background(), "ws://"+ln.Addr().String()+"/other", wss.NewInbox(1), nil)
	fmt.Println(errors.Is(err, wss.ErrHandshake))

	ln.Close()
	_ = d.Shutdown(context.Background())
	// Output:
	// hello
	// true
}

// A refused handshake: the server's status, header fields and the start
// of its body.
func ExampleHandshakeError() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		http.Error(w, "come back later", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	_, err := wss.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), wss.NewInbox(1), nil)
	var he *wss.HandshakeError
	if errors.As(err, &he) {
		fmt.Println(he.StatusCode, he.Header.Get("Retry-After"), strings.TrimSpace(string(he.Body)))
	}
	fmt.Println(errors.Is(err, wss.ErrHandshake))
	// Output:
	// 503 30 come back later
	// true
}

// Dialing through the proxy the environment names (HTTPS_PROXY for wss,
// HTTP_PROXY for ws, ALL_PROXY is not read), or through a SOCKS5 proxy.
func ExampleDialOptions_proxy() {
	opts := &wss.DialOptions{Proxy: http.ProxyFromEnvironment}
	if _, err := wss.Dial(context.Background(), "wss://example.com/ws", wss.NewInbox(8), opts); err != nil {
		log.Print(err)
	}
	socks, _ := url.Parse("socks5h://user:password@127.0.0.1:1080")
	opts = &wss.DialOptions{Proxy: http.ProxyURL(socks)}
	_ = opts
}

// A NetConn carries a stream: here an io.Copy echo on the server, and
// bytes written in two messages read back as one stream.
func ExampleNetConn() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: wss.HTTPHandler(nil, nil, func(*http.Request) wss.Handler {
		n := &wss.NetConn{}
		go func() { _, _ = io.Copy(n, n); n.Close() }() // echo until the client closes
		return n
	})}
	go srv.Serve(ln)
	defer srv.Close()

	client := &wss.NetConn{}
	if _, err := wss.Dial(context.Background(), "ws://"+ln.Addr().String()+"/", client, nil); err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	_ = client.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(client, "hello, ")
	fmt.Fprint(client, "stream")
	buf := make([]byte, len("hello, stream"))
	if _, err := io.ReadFull(client, buf); err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(buf))
	// Output: hello, stream
}
