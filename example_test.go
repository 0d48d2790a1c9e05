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

func (chat) OnFrame(c *wss.Conn, data []byte, text bool) {
	// data is valid only during the call; Write does not keep it.
	if err := c.Write(data, text); err != nil {
		log.Print(err)
	}
}

func (chat) OnClose(c *wss.Conn, status int) {
	// status > 0: the peer's close code (1005 if it sent none);
	// status < 0: the connection dropped (wss.StatusConnLost, ...).
	log.Printf("%v closed: %d", c.RemoteAddr(), status)
}

func ExampleHTTPHandler() {
	d, err := wss.NewDispatcher(nil)
	if err != nil {
		log.Fatal(err)
	}
	h := wss.HTTPHandler(d, nil, func(r *wss.Request) (wss.Handler, error) { return chat{}, nil })
	http.Handle("/ws", h)
	// log.Fatal(http.ListenAndServe("127.0.0.1:9001", nil))
}

func ExampleHandlerFuncs() {
	h := wss.HandlerFuncs{
		Frame: func(c *wss.Conn, data []byte, text bool) { _ = c.Write(data, text) },
		Close: func(c *wss.Conn, status int) { log.Print("closed: ", status) },
	}
	_ = wss.HTTPHandler(nil, &wss.Config{MaxMessageSize: 1 << 20}, func(*wss.Request) (wss.Handler, error) { return h, nil })
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
	go d.Serve(ln, nil, func(r *wss.Request) (wss.Handler, error) {
		if r.Target() != "/echo" {
			return nil, nil // refused with 403
		}
		return chat{}, nil
	})

	in := wss.NewInbox(1)
	c, err := wss.Dial(context.Background(), "ws://"+ln.Addr().String()+"/echo", in, nil)
	if err != nil {
		log.Fatal(err)
	}
	_ = c.Write([]byte("hello"), true)
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
	srv := &http.Server{Handler: wss.HTTPHandler(nil, nil, func(*wss.Request) (wss.Handler, error) {
		n := &wss.NetConn{}
		go func() { _, _ = io.Copy(n, n); n.Close() }() // echo until the client closes
		return n, nil
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

// A newHandler that refuses a request without credentials with 401 and a
// WWW-Authenticate challenge, and sets a cookie on the 101 of the others.
// Dial reads the refusal as the server wrote it.
func ExampleHandshakeError_refusal() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := wss.NewServer("", wss.HTTPHandler(nil, nil, func(r *wss.Request) (wss.Handler, error) {
		if r.Header("Authorization") == "" {
			return nil, &wss.HandshakeError{
				StatusCode: http.StatusUnauthorized,
				Header:     http.Header{"Www-Authenticate": {`Basic realm="chat"`}},
				Body:       []byte("log in first\n"),
			}
		}
		r.ResponseHeader().Set("Set-Cookie", "session=1; HttpOnly")
		return chat{}, nil
	}), nil)
	go srv.Serve(ln)
	defer srv.Close()

	_, err = wss.Dial(context.Background(), "ws://"+ln.Addr().String()+"/", wss.NewInbox(1), nil)
	var he *wss.HandshakeError
	if errors.As(err, &he) {
		fmt.Printf("%d %s %q\n", he.StatusCode, he.Header.Get("Www-Authenticate"), he.Body)
	}
	// Output:
	// 401 Basic realm="chat" "log in first\n"
}

// The 101 response carries the fields newHandler set: here a cookie, read
// by a plain net/http client.
func ExampleRequest_ResponseHeader() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := wss.NewServer("", wss.HTTPHandler(nil, nil, func(r *wss.Request) (wss.Handler, error) {
		r.ResponseHeader().Set("Set-Cookie", "session=1; HttpOnly")
		return chat{}, nil
	}), nil)
	go srv.Serve(ln)
	defer srv.Close()

	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Set-Cookie"))
	// Output:
	// 101 session=1; HttpOnly
}

// Limits that depend on who connects: a client without a session gets a
// 16-byte MaxMessageSize, and a longer message closes it with 1009.
func ExampleRequest_SetConfig() {
	d, err := wss.NewDispatcher(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	anonymous := &wss.Config{MaxMessageSize: 16}
	go d.Serve(ln, nil, func(r *wss.Request) (wss.Handler, error) {
		if r.Header("Cookie") == "" {
			r.SetConfig(anonymous)
		}
		return chat{}, nil
	})

	closed := make(chan int, 1)
	c, err := wss.Dial(context.Background(), "ws://"+ln.Addr().String()+"/", wss.HandlerFuncs{
		Frame: func(*wss.Conn, []byte, bool) {},
		Close: func(_ *wss.Conn, status int) { closed <- int(status) },
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	_ = c.Write([]byte("a message over sixteen bytes"), true)
	fmt.Println(<-closed)
	// Output:
	// 1009
}
