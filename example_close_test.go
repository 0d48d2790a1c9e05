package wss_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/wssgo/wss"
)

// Statuses name themselves; Local tells a drop from a code the peer sent.
func ExampleStatusCode() {
	for _, s := range []wss.StatusCode{wss.StatusNormalClosure, wss.StatusGoingAway, 4000, wss.StatusWriteTimeout} {
		fmt.Println(s, s.Local())
	}
	// Output:
	// 1000 normal closure false
	// 1001 going away false
	// 4000 private false
	// -5 write timeout true
}

// Close reasons both ways: the client says why it leaves, the server's
// OnClose reads it in Err; the server says why it closes, the client's
// Inbox returns it as a CloseError.
func ExampleConn_Close() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	d, err := wss.NewDispatcher(nil)
	if err != nil {
		log.Fatal(err)
	}
	ended := make(chan error, 1)
	go d.Serve(ln, nil, func(r *wss.Request) (wss.Handler, error) {
		return wss.HandlerFuncs{
			Frame: func(c *wss.Conn, data []byte, typ wss.MessageType) {
				if string(data) == "close me" {
					_ = c.Close(wss.StatusTryAgainLater, "server full")
				}
			},
			Close: func(c *wss.Conn, status wss.StatusCode) { ended <- c.Err() },
		}, nil
	})
	url := "ws://" + ln.Addr().String() + "/"

	c, err := wss.Dial(context.Background(), url, wss.NewInbox(1), nil)
	if err != nil {
		log.Fatal(err)
	}
	_ = c.Close(wss.StatusGoingAway, "moving on")
	fmt.Println(<-ended)

	in := wss.NewInbox(1)
	c, err = wss.Dial(context.Background(), url, in, nil)
	if err != nil {
		log.Fatal(err)
	}
	_ = c.Write([]byte("close me"), wss.Text)
	_, err = in.Read(context.Background())
	var ce wss.CloseError
	fmt.Println(errors.As(err, &ce), ce.Code, ce.Reason, errors.Is(err, wss.ErrClosed))
	<-ended

	ln.Close()
	_ = d.Shutdown(context.Background())
	// Output:
	// wss: closed by the peer: 1001 going away: "moving on"
	// true 1013 try again later server full true
}

// OnPong learns the round trip of each ping, the application's or
// keepalive's.
func ExamplePongHandler() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	d, err := wss.NewDispatcher(nil)
	if err != nil {
		log.Fatal(err)
	}
	rtts := make(chan time.Duration, 1)
	go d.Serve(ln, nil, func(r *wss.Request) (wss.Handler, error) {
		return wss.HandlerFuncs{
			Frame: func(c *wss.Conn, data []byte, typ wss.MessageType) {},
			Open:  func(c *wss.Conn) { _ = c.Ping([]byte("are you there")) },
			Pong: func(c *wss.Conn, data []byte, rtt time.Duration) {
				fmt.Printf("pong %q\n", data)
				rtts <- rtt
			},
		}, nil
	})
	c, err := wss.Dial(context.Background(), "ws://"+ln.Addr().String()+"/", wss.NewInbox(1), nil)
	if err != nil {
		log.Fatal(err)
	}
	rtt := <-rtts
	fmt.Println(rtt > 0 && rtt < time.Minute)

	_ = c.Close(wss.StatusNormalClosure, "")
	ln.Close()
	_ = d.Shutdown(context.Background())
	// Output:
	// pong "are you there"
	// true
}
