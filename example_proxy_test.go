package wss_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"

	"github.com/wssgo/wss"
)

// connectProxy is the least HTTP CONNECT proxy: it tells each tunnel's
// target on seen, answers 200 and copies bytes both ways.
func connectProxy(ln net.Listener, seen chan<- string) {
	for {
		client, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer client.Close()
			br := bufio.NewReader(client)
			req, err := http.ReadRequest(br)
			if err != nil || req.Method != http.MethodConnect {
				return
			}
			server, err := net.Dial("tcp", req.Host)
			if err != nil {
				return
			}
			defer server.Close()
			seen <- req.Method + " " + req.Host
			_, _ = io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n")
			go func() { _, _ = io.Copy(server, br); server.Close() }()
			_, _ = io.Copy(client, server)
		}()
	}
}

// Dial through an HTTP CONNECT proxy: DialOptions.Proxy names it, here
// with http.ProxyURL (http.ProxyFromEnvironment reads HTTPS_PROXY,
// HTTP_PROXY and NO_PROXY; socks5:// and socks5h:// URLs work too).
func ExampleDialOptions_connect() {
	srvLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer srvLn.Close()
	go (&http.Server{Handler: wss.HTTPHandler(nil, nil, func(*wss.Request) (wss.Handler, error) {
		return wss.HandlerFuncs{Frame: func(c *wss.Conn, data []byte, typ wss.MessageType) { _ = c.Write(data, typ) }}, nil
	})}).Serve(srvLn)

	proxyLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer proxyLn.Close()
	seen := make(chan string, 1)
	go connectProxy(proxyLn, seen)

	in := wss.NewInbox(1)
	target := srvLn.Addr().String()
	opts := &wss.DialOptions{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: proxyLn.Addr().String()})}
	c, err := wss.Dial(context.Background(), "ws://"+target+"/", in, opts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-seen == "CONNECT "+target)
	_ = c.Write([]byte("through the tunnel"), wss.Text)
	m, err := in.Read(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(m.Data))
	_ = c.Close(wss.StatusNormalClosure, "")
	// Output:
	// true
	// through the tunnel
}
